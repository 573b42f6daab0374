//! Path-steps per second of the fused advance kernel on each backend (criterion reports
//! "elements/s" = optimizer path-steps/s; for d = 16 multiply by 16 for coordinate-steps).
//! `signsgd-sde` and `sgd-sde` at d = 1, `adam-sde` at d = 1 and d = 16, `dsignsgd` and
//! `dcsgd` (rand-k, k = 4) with N = 4 agents at d = 16; 2^20 paths × 1000 steps (d = 16: 2^16
//! paths), stationary sampling every 10 steps after step 500.
//!
//! `cargo bench --bench throughput` (set `OPTSDE_BENCH_PATHS` to shrink the ensemble).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use optsde::cpu::CpuEngine;
use optsde::plan::{Engine, run};
use optsde::spec::{Experiment, Overrides};

fn experiment(model: &str, dim: usize, paths: u64, steps: u64) -> Experiment {
    let agents = if model.starts_with('d') { "agents = 4" } else { "" };
    let compressor = if model.starts_with("dcsgd") { "[compressor]\nname = \"rand-k\"\nk = 4" } else { "" };
    let toml = format!(
        r#"
[model]
name = "{model}"
eta = 1e-3
{agents}
{compressor}
[objective]
name = "quadratic"
h = 1.0
dim = {dim}
[noise]
name = "gaussian"
sigma = 1.0
[run]
paths = {paths}
steps = {steps}
[record]
every = {steps}
[stationary]
start = {start}
every = 10
bins = 128
range = [-0.2, 0.2]
"#,
        start = steps / 2
    );
    Experiment::from_str(&toml, "toml", "bench", "bench", &Overrides::default()).expect("bench experiment")
}

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
        for (model, dim) in [
            ("signsgd-sde", 1usize),
            ("sgd-sde", 1),
            ("adam-sde", 1),
            ("adam-sde", 16),
            ("dsignsgd", 16),
            ("dcsgd", 16),
        ] {
            // d = 16 runs 1/16 of the paths: the same coordinate-steps per iteration.
            let n = (paths / dim as u64).max(256);
            group.throughput(Throughput::Elements(n * steps));
            let exp = experiment(model, dim, n, steps);
            group.bench_function(format!("{name}/{model}/d{dim}"), |b| {
                b.iter(|| run(&exp, engine.as_mut(), &mut |_| {}).expect("bench run"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
