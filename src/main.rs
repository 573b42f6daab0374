//! The `optsde` command line: run an experiment, list the built-in examples, list GPU adapters.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

mod args;

use args::{BenchArgs, Cli, Command, CompareArgs, RiskArgs, RunArgs, ScaleArgs, dir_name};
use optsde::Result;
use optsde::compare::{self, CompareOptions};
use optsde::env::checkpoint_every;
use optsde::experiment::{BackendChoice, Experiment};
use optsde::regression::risk_cmd::{self, RiskOptions};
use optsde::scale::{self, ScaleOptions};
use optsde::spec::{self, Overrides, Study};
use optsde::{backend, bench, guard, interrupt, output, plan, plot};

fn main() -> ExitCode {
    // SAFETY: the first statement of main; no thread exists yet.
    unsafe { backend::ensure_runtime_dir() };
    let cli = Cli::parse();
    // The environment first, as the experiment file is validated before anything runs.
    if matches!(cli.command, Command::Run(_) | Command::Compare(_) | Command::Scale(_) | Command::Bench(_))
        && let Err(e) = optsde::env::load()
    {
        eprintln!("{}", error_report(&e));
        return ExitCode::FAILURE;
    }
    optsde::provenance::start();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Examples(args) => examples(args.name.as_deref()),
        Command::Devices => {
            devices();
            Ok(())
        }
        Command::Compare(args) => compare_cmd(args),
        Command::Scale(args) => scale_cmd(args),
        Command::Plot(args) => plot::replot(&args.dir).map(|files| print_files(&files)),
        Command::Bench(args) => bench_cmd(args),
        Command::Risk(args) => risk(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_report(&e));
            ExitCode::from(exit_status(&e))
        }
    }
}

/// A run stopped without a signal number on record (SIGINT's status).
const EXIT_INTERRUPTED: u8 = 130;

/// Every path of the run (or of a sweep point) diverged; the outputs are written.
const EXIT_ALL_DIVERGED: u8 = 3;

/// The exit status of a failed command (README's "Exit status"): 1 for errors, 3 when every
/// path diverged, 128 + the signal's number for a run stopped by SIGINT or SIGTERM (2 is
/// clap's, for usage errors).
fn exit_status(e: &optsde::Error) -> u8 {
    match e {
        optsde::Error::AllDiverged(_) => EXIT_ALL_DIVERGED,
        optsde::Error::Interrupted { .. } | optsde::Error::Stopped { .. } => {
            interrupt::exit_status().unwrap_or(EXIT_INTERRUPTED)
        }
        _ => 1,
    }
}

/// `error: {e}` and, anyhow-style, the causes not already part of the message.
fn error_report(e: &(dyn std::error::Error + 'static)) -> String {
    let top = e.to_string();
    let mut out = format!("error: {top}");
    let causes: Vec<String> = std::iter::successors(e.source(), |c| c.source())
        .map(|c| c.to_string())
        .filter(|c| !top.contains(c.as_str()))
        .collect();
    if !causes.is_empty() {
        out.push_str("\n\nCaused by:");
        for (i, c) in causes.iter().enumerate() {
            out.push_str(&format!("\n    {i}: {c}"));
        }
    }
    out
}

/// The engine the experiment asks for; a fallback (no adapter under `auto`) or a slow kernel
/// compile ahead (a software adapter at large `dim`) is said on stderr.
fn open_backend(choice: BackendChoice, dim: usize) -> Result<Box<dyn plan::Engine>> {
    let (engine, note) = backend::open(choice, dim)?;
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    Ok(engine)
}

fn run(args: RunArgs) -> Result<()> {
    let overrides = Overrides {
        paths: args.paths,
        steps: args.steps,
        seed: args.seed,
        backend: args.backend,
        refine: args.refine,
        start: args.start,
        record_every: args.record_every,
    };
    // 1. Validate (nothing touches the disk or the GPU before this succeeds).
    let study = match (&args.file, &args.example) {
        (Some(file), None) => Study::load(file, &overrides)?,
        (None, Some(name)) => Study::single(example_noted(name, &overrides)?),
        (Some(_), Some(_)) => {
            usage_error(ErrorKind::ArgumentConflict, "give either an experiment FILE or --example NAME, not both")
        }
        (None, None) => usage_error(
            ErrorKind::MissingRequiredArgument,
            "give an experiment FILE or --example NAME (`optsde examples` lists the examples)",
        ),
    };
    let exp = study.points[0].exp.clone();
    let out_dir = args.out.clone().unwrap_or_else(|| Path::new("optsde-out").join(dir_name(&exp.name)));

    // 2. Open the backend; make the output folder ready (nothing is deleted before this point).
    // From here a stop signal is graceful: the run polls it after its first segment.
    let stop = interrupt::StopSignal::install()?;
    let mut engine = open_backend(exp.run.backend, exp.dim)?;
    // Estimate memory, output and time; refuse what this machine cannot hold (src/guard.rs).
    let points: Vec<Experiment> = study.points.iter().map(|p| p.exp.clone()).collect();
    let guard = guard::Options { plots: !args.no_plots, force: args.force, quiet: args.quiet };
    guard::guard(&points, engine.as_mut(), &out_dir, &guard)?;
    let kind = if study.points.len() > 1 { "sweep" } else { "run" };
    output::folder::prepare(&out_dir, output::Owner { kind, name: &exp.name }, args.force, &plot::figure_files())?;
    if study.points.len() > 1 {
        return run_sweep(&study, &args, &out_dir, engine.as_mut(), &stop);
    }

    // 3. Run.
    let bar = progress_bar(exp.path_steps(), args.quiet);
    let result = {
        let total = exp.path_steps();
        let scale = scale_for(total);
        let t0 = Instant::now();
        let mut report = |done: u128| {
            if let Some(bar) = &bar {
                bar.set_position((done / scale) as u64);
                let secs = t0.elapsed().as_secs_f64();
                let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
                bar.set_message(format!("{:.2e}/{:.2e} path-steps, {:.2e}/s", done as f64, total as f64, rate));
            }
        };
        // Snapshots while running (plan::Checkpoint), so an interrupted or killed run keeps
        // what it computed; the final write replaces them.
        let mut write = |r: &[plan::RunResult]| output::write_outputs(&out_dir, &exp, &r[0]);
        let checkpoint = plan::Checkpoint { every: checkpoint_every(), write: &mut write, stop: Some(stop.flag()) };
        plan::run_with_checkpoints(&exp, engine.as_mut(), &mut report, Some(checkpoint))
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let result = result.map_err(|e| interrupted(e, &out_dir))?;

    // 4. Write, 5. report.
    output::write_outputs(&out_dir, &exp, &result)?;
    if !args.no_plots {
        plot::write_run_figures(&out_dir, &exp, &result)?;
    }
    print!("{}", output::human_summary(&exp, &result));
    println!("output      {}", out_dir.display());
    if output::all_diverged(&result) {
        return Err(optsde::Error::AllDiverged(format!(
            "every path diverged: no moment or stationary estimate exists (they are NaN in {}, null in {}); \
             exit status {EXIT_ALL_DIVERGED}",
            output::MOMENTS,
            output::SUMMARY
        )));
    }
    Ok(())
}

/// A stopped run's error names the folder that holds its snapshot; other errors pass through.
fn interrupted(e: optsde::Error, out_dir: &Path) -> optsde::Error {
    match e {
        optsde::Error::Interrupted { step, paths } => {
            optsde::Error::Stopped { step, paths, dir: out_dir.to_path_buf() }
        }
        e => e,
    }
}

/// A sweep: every grid point in the same launches; per-point outputs in `point-NNN/` and the
/// table `sweep.csv`.
fn run_sweep(
    study: &Study,
    args: &RunArgs,
    out_dir: &Path,
    engine: &mut dyn plan::Engine,
    stop: &interrupt::StopSignal,
) -> Result<()> {
    let points: Vec<Experiment> = study.points.iter().map(|p| p.exp.clone()).collect();
    let exp = &points[0];
    let total = exp.path_steps() * points.len() as u128;
    let bar = progress_bar(total, args.quiet);
    let result = {
        let scale = scale_for(total);
        let mut report = |done: u128| {
            if let Some(bar) = &bar {
                bar.set_position((done / scale) as u64);
            }
        };
        let mut write = |r: &[plan::RunResult]| output::write_sweep(out_dir, study, r);
        let checkpoint = plan::Checkpoint { every: checkpoint_every(), write: &mut write, stop: Some(stop.flag()) };
        plan::run_study(&points, engine, &mut report, Some(checkpoint))
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let results = result.map_err(|e| interrupted(e, out_dir))?;
    output::write_sweep(out_dir, study, &results)?;
    if !args.no_plots {
        for (i, (p, r)) in points.iter().zip(&results).enumerate() {
            plot::write_run_figures(&out_dir.join(output::point_dir(i)), p, r)?;
        }
        plot::write_sweep_figures(out_dir, study, &results)?;
    }
    print!("{}", output::sweep_summary(study, &results));
    println!("output      {} (sweep.csv, point-NNN/)", out_dir.display());
    let diverged: Vec<String> =
        results.iter().enumerate().filter(|(_, r)| output::all_diverged(r)).map(|(i, _)| i.to_string()).collect();
    if !diverged.is_empty() {
        return Err(optsde::Error::AllDiverged(format!(
            "every path diverged at sweep point{} {}: those points have no estimate (NaN in {}); exit status \
             {EXIT_ALL_DIVERGED}",
            if diverged.len() == 1 { "" } else { "s" },
            diverged.join(", "),
            output::SWEEP_CSV
        )));
    }
    Ok(())
}

/// The figures written, one per line.
fn print_files(files: &[PathBuf]) {
    for f in files {
        println!("wrote {}", f.display());
    }
}

/// `optsde compare`: validate everything, then run the optimizer and its SDEs at each eta.
fn compare_cmd(args: CompareArgs) -> Result<()> {
    let side = &args.side;
    let exp = Experiment::load(&side.file, &side.overrides())?;
    let etas = args.etas.as_deref().map(compare::parse_etas).transpose()?.unwrap_or_default();
    let plan = compare::plan_compare(&exp, &CompareOptions { etas, refine: args.refine })?;
    let out_dir = side.out_dir(&exp, "compare");
    let mut engine = open_backend(exp.run.backend, exp.dim)?;
    let report = compare::compare(&plan, engine.as_mut(), &mut |line| {
        if !side.quiet {
            eprintln!("{line}");
        }
    })?;
    report.write(&out_dir)?;
    let figures = if args.no_plots { Vec::new() } else { plot::write_compare_figures(&out_dir, &report)? };
    print!("{}", report.table());
    let figs: String =
        figures.iter().filter_map(|f| f.file_name()).map(|n| format!(", {}", n.to_string_lossy())).collect();
    println!("output      {} (compare.csv, compare.json{figs})", out_dir.display());
    Ok(())
}

/// `optsde scale`: validate everything, then run the base and the scaled experiment.
fn scale_cmd(args: ScaleArgs) -> Result<()> {
    let side = &args.side;
    let exp = Experiment::load(&side.file, &side.overrides())?;
    let opts = ScaleOptions { rule: args.rule, kappa: args.kappa, threshold: args.threshold };
    let plan = scale::plan_scale(&exp, &opts)?;
    let out_dir = side.out_dir(&exp, "scale");
    let mut engine = open_backend(exp.run.backend, exp.dim)?;
    let report = scale::scale(&plan, engine.as_mut(), &mut |line| {
        if !side.quiet {
            eprintln!("{line}");
        }
    })?;
    report.write(&out_dir)?;
    print!("{}", report.table());
    println!("output      {} (scale.json)", out_dir.display());
    Ok(())
}

/// `optsde risk`: validate the file and the options, integrate both risk ODEs, then write
/// risk.csv and print the report.
fn risk(args: RiskArgs) -> Result<()> {
    let exp = match (&args.file, &args.example) {
        (Some(file), _) => Experiment::load(file, &Overrides::default())?,
        (None, Some(name)) => spec::example(name, &Overrides::default())?,
        (None, None) => unreachable!("clap requires FILE or --example"),
    };
    let opts = RiskOptions { t_end: args.t_end, points: args.points, ..RiskOptions::default() };
    let table = risk_cmd::risk_table(&exp, &opts)?;
    let csv = table.write(&args.out_dir(&exp))?;
    print!("{}", table.summary(&csv));
    Ok(())
}

/// Exit with a clap usage error (code 2), showing `optsde run`'s usage.
fn usage_error(kind: ErrorKind, message: &str) -> ! {
    let mut cmd = Cli::command();
    cmd.build();
    match cmd.find_subcommand_mut("run") {
        Some(run) => run.error(kind, message).exit(),
        None => cmd.error(kind, message).exit(),
    }
}

/// Divisor that keeps path-step counts (up to 2^72) inside the bar's u64.
fn scale_for(total: u128) -> u128 {
    (total >> 62) + 1
}

/// A bar on stderr, only when stderr is a terminal and not --quiet.
fn progress_bar(total: u128, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some((total / scale_for(total)) as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {percent:>3}% {msg} ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(format!("0/{:.2e} path-steps", total as f64));
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// A built-in example with the overrides; what they made it rescale is a note on stderr.
fn example_noted(name: &str, overrides: &Overrides) -> Result<Experiment> {
    let (exp, notes) = spec::example_noted(name, overrides)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(exp)
}

/// The paths and steps of the quick run `optsde examples` suggests: 1/16 of the examples'
/// paths, 1/10 of their steps (the step settings rescale with them).
const QUICK_PATHS: u64 = 4096;
const QUICK_STEPS: u64 = 3000;

/// `optsde examples`: the list and how to use it, every hint a command that works as printed
/// (`tests/it/first_contact.rs` runs them); `optsde examples NAME`: the example's TOML.
fn examples(name: Option<&str>) -> Result<()> {
    if let Some(name) = name {
        print!("{}", spec::example_text(name)?);
        return Ok(());
    }
    println!("Built-in examples:");
    let width = spec::EXAMPLES.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    for (name, description, _) in spec::EXAMPLES {
        println!("  {name:<width$} — {description}");
    }
    let first = spec::EXAMPLES[0].0;
    println!();
    println!("Run one:          optsde run --example {first}");
    println!("A quick look:     optsde run --example {first} --paths {QUICK_PATHS} --steps {QUICK_STEPS}");
    println!("Print its TOML:   optsde examples {first} > {first}.toml");
    println!("Run your copy:    optsde run {first}.toml");
    println!();
    println!("Run options (optsde run --help): --backend auto|gpu|cpu, --out DIR, --paths N, --steps N,");
    println!("--seed N, --start N, --record-every N, --refine R. A quick look runs 1/16 of the paths for");
    println!("1/10 of the steps; the example's stationary.start and record.every scale with the steps.");
    Ok(())
}

fn devices() {
    let adapters = backend::adapters();
    if adapters.is_empty() {
        println!("No GPU adapter was found.");
        println!();
        println!("The CPU backend works without one: optsde run --backend cpu ...");
        println!("(backend = \"auto\", the default, falls back to it and says so.)");
        println!();
        println!("To use a GPU, install a Vulkan, Metal or DX12 driver for it. On Linux");
        println!("without a GPU, a software Vulkan driver (lavapipe) also works:");
        println!("    apt-get install mesa-vulkan-drivers");
    } else {
        println!("GPU adapters:");
        for a in &adapters {
            println!("  {a}");
        }
    }
}

/// `optsde bench`: the suite on every backend, the baselines, the table and bench.json.
fn bench_cmd(args: BenchArgs) -> Result<()> {
    let (default, ci) = bench::default_sizes();
    let sizes = bench::Sizes { paths: args.paths.unwrap_or(default.paths), steps: args.steps.unwrap_or(default.steps) };
    let opts = bench::Options {
        backends: args.backend,
        sizes,
        entries: bench::select_entries(Some(&args.only))?,
        repeat: u32::try_from(args.repeat)
            .map_err(|_| optsde::Error::invalid("--repeat", args.repeat, "an integer from 1 to 4294967295"))?,
        baseline_paths: args.baseline_paths,
        baseline_numbers: args.baseline_numbers,
        baselines: if args.no_baselines { Vec::new() } else { bench::select_baselines(&args.baselines)? },
        python: args.python,
        out_dir: args.out.unwrap_or_else(|| Path::new("optsde-out").join("bench")),
        ci,
    };
    let report = bench::run(&opts, &mut |line| eprintln!("bench: {line}"))?;
    print!("{}", bench::table(&report));
    println!("output      {}", opts.out_dir.join("bench.json").display());
    Ok(())
}
