//! Running the suite: every experiment validated before any work, the engines opened, the
//! baselines probed, then per entry its baselines and its timed runs on every engine, and
//! `bench.json` written.

use std::time::Instant;

use super::baselines::{baseline_paths, prepare_tools, run_baselines};
use super::measure::{measure, open_engines, warmup_sizes};
use super::report::{EntryReport, Machine, NotTimed, Report, backend_label, load_average};
use super::suite::{BackendSet, Options, SEED, Sizes, experiment};
use crate::backend::{SOFTWARE_COMPILE_DIM, software_compile_note};
use crate::cpu::{Arith, CpuEngine};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::output::files::{create_dir, json_bytes, write_atomic};
use crate::plan::Engine as _;

/// Run the suite and write `bench.json`. `log` receives a line per timed run and per note (for
/// stderr).
pub fn run(opts: &Options, log: &mut dyn FnMut(&str)) -> Result<Report> {
    let t_all = Instant::now();
    // Validate every experiment before any work.
    let warmup = warmup_sizes(opts.sizes);
    if opts.entries.is_empty() {
        return Err(Error::invalid("--only", "(nothing)", "one or more suite entries"));
    }
    if opts.repeat == 0 {
        return Err(Error::invalid("--repeat", 0, "an integer >= 1"));
    }
    if opts.baseline_numbers == 0 {
        return Err(Error::invalid("--baseline-numbers", 0, "an integer >= 1"));
    }
    let exps: Vec<(Experiment, Experiment)> =
        opts.entries.iter().map(|e| Ok((experiment(e, opts.sizes)?, experiment(e, warmup)?))).collect::<Result<_>>()?;
    if opts.baseline_paths == Some(0) {
        return Err(Error::invalid("--baseline-paths", 0, "an integer >= 1"));
    }

    // OPTSDE_CPU_ARITH is checked whatever the backend set, like OPTSDE_GPU_VARIANT.
    let arith = Arith::from_env()?;
    let (mut engines, gpu_note) = open_engines(opts.backends, arith)?;
    let cpu_info = CpuEngine::with_arith(arith).info();
    let gpu = engines.iter().find(|(e, _)| e.info().kind == "gpu").map(|(e, s)| (e.info(), *s));
    let load_before = load_average();

    let tools = prepare_tools(opts, log)?;

    let mut entries = Vec::new();
    for (e, (exp, warm)) in opts.entries.iter().zip(&exps) {
        let mut rep = EntryReport {
            entry: e.label(),
            spec: *e,
            optsde: Vec::new(),
            baselines: Vec::new(),
            not_timed: Vec::new(),
        };
        // The baselines first, then optsde: on the H100 an optsde entry timed right after the
        // baselines' probes ran slow and every entry timed right after a baseline's run did not
        // (`benches/NOTES.md`, "The bench's order and warm-up").
        let base_sizes = Sizes {
            paths: opts.baseline_paths.unwrap_or(baseline_paths(opts.sizes.paths, e.dim, opts.baseline_numbers)),
            steps: opts.sizes.steps,
        };
        rep.baselines = run_baselines(opts, &tools, e, exp, base_sizes, log);
        for (engine, soft) in engines.iter_mut() {
            // A software adapter at large d (lavapipe: minutes of compiling, then an O(d) loop
            // that runs like d², `backend::SOFTWARE_COMPILE_DIM`) is left out under `all`, and
            // said so; `--backend gpu` asked for it and times it after the note.
            if let Some(note) = software_compile_note(*soft, e.dim) {
                let label = backend_label(&engine.info().kind, true);
                if opts.backends == BackendSet::All {
                    let reason = format!(
                        "d = {} > {SOFTWARE_COMPILE_DIM} on a software adapter ({}), whose kernels take minutes \
                         to compile and then run far slower than the CPU backend; --backend gpu times it",
                        e.dim,
                        engine.info().adapter
                    );
                    log(&format!("{:<24} {label:<9} not timed: {reason}", e.label()));
                    rep.not_timed.push(NotTimed { backend: label, reason });
                    continue;
                }
                log(&format!("{:<24} {label:<9} {note}", e.label()));
            }
            let m = measure(exp, warm, engine.as_mut(), *soft, opts.repeat)?;
            log(&format!(
                "{:<24} {:<9} {:.3e} path-steps/s ({:.2} s)",
                e.label(),
                backend_label(&m.backend.kind, m.software),
                m.path_steps_per_second,
                m.seconds
            ));
            rep.optsde.push(m);
        }
        for m in rep.optsde.iter_mut() {
            m.compare_with(&rep.baselines);
        }
        entries.push(rep);
    }

    let machine = Machine {
        cpu: cpu_info.adapter,
        cpu_threads: rayon::current_num_threads(),
        cpu_arith: arith.name().into(),
        cpu_vector: crate::cpu::VectorUnit::detect().name().into(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        load_before,
        load_after: load_average(),
        gpu_software: gpu.as_ref().is_some_and(|g| g.1),
        gpu: gpu.map(|g| g.0),
        gpu_note,
        python: opts.python.display().to_string(),
    };
    let report = Report {
        optsde_version: env!("CARGO_PKG_VERSION").into(),
        ci: opts.ci,
        sizes: opts.sizes,
        warmup,
        baseline_paths: opts.baseline_paths,
        baseline_numbers: opts.baseline_numbers,
        repeat: opts.repeat,
        seed: SEED,
        machine,
        tools,
        entries,
        total_seconds: t_all.elapsed().as_secs_f64(),
    };
    create_dir(&opts.out_dir)?;
    write_atomic(&opts.out_dir, "bench.json", &json_bytes(&report))?;
    Ok(report)
}
