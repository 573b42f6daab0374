//! Path-steps per second of the fused advance kernel on each backend (criterion reports
//! "elements/s" = path-steps/s, paths × steps / s; for d = 16 multiply by 16 for
//! path-coordinate-steps/s).
//! `signsgd-sde` and `sgd-sde` at d = 1, `adam-sde` at d = 1 and d = 16, `dsignsgd` and
//! `dcsgd` (rand-k, k = 4) with N = 4 agents at d = 16; 2^20 paths × 1000 steps (d = 16: 2^16
//! paths), stationary sampling every 10 steps after step 500.
//!
//! `cargo bench --bench throughput` (set `OPTSDE_BENCH_PATHS` to shrink the ensemble).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use optsde::bench::{Entry, Sizes, experiment};
use optsde::cpu::CpuEngine;
use optsde::plan::{Engine, run};

fn bench(c: &mut Criterion) {
    let paths: u64 = std::env::var("OPTSDE_BENCH_PATHS").ok().and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
    let steps = 1000;
    let mut engines: Vec<(&str, Box<dyn Engine>)> = vec![("cpu", Box::new(CpuEngine::new()))];
    match optsde::gpu::GpuEngine::new() {
        Ok(g) => engines.push(("gpu", Box::new(g))),
        Err(e) => eprintln!("GPU bench skipped: {e}"),
    }
    let mut group = c.benchmark_group("advance");
    group.sample_size(10);
    for (name, mut engine) in engines {
        eprintln!("{name}: {}", engine.info().adapter);
        let entry = Entry::quadratic;
        for e in [
            entry("signsgd-sde", 1usize, 1, None),
            entry("sgd-sde", 1, 1, None),
            entry("adam-sde", 1, 1, None),
            entry("adam-sde", 16, 1, None),
            entry("dsignsgd", 16, 4, None),
            entry("dcsgd", 16, 4, Some(4)),
        ] {
            let (model, dim) = (e.model, e.dim);
            // d = 16 runs 1/16 of the paths: the same coordinate-steps per iteration.
            let n = (paths / dim as u64).max(256);
            group.throughput(Throughput::Elements(n * steps));
            // The same experiment `optsde bench` times (src/bench/suite.rs).
            let exp = experiment(&e, Sizes { paths: n, steps }).expect("bench experiment");
            group.bench_function(format!("{name}/{model}/d{dim}"), |b| {
                b.iter(|| run(&exp, engine.as_mut(), &mut |_| {}).expect("bench run"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
