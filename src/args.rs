//! The command line's subcommands and flags (clap derive), with the parsers of their values;
//! `main.rs` runs them.

use std::path::{Path, PathBuf};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use optsde::bench;
use optsde::compare;
use optsde::experiment::{BackendChoice, Experiment};
use optsde::regression::risk_cmd;
use optsde::scale::{self, Rule};
use optsde::spec::Overrides;

/// Ensemble simulator for stochastic optimizers and their SDEs (SGD, SignSGD) on the GPU
/// (wgpu compute shaders) or the CPU.
#[derive(Parser, Debug)]
#[command(name = "optsde", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an experiment file (TOML, or JSON by extension) or a built-in example.
    Run(RunArgs),
    /// List the built-in examples, or print one's TOML (`optsde examples sgd > my.toml`).
    Examples(ExamplesArgs),
    /// List the GPU adapters wgpu can see.
    Devices,
    /// Run an optimizer and its SDEs on the same problem; report their weak error (and its
    /// order in eta with --etas).
    Compare(CompareArgs),
    /// Check a scaling rule: run an experiment and its scaled copy; compare with the prediction.
    Scale(ScaleArgs),
    /// Redraw a run's figures (loss, moments, hist; SVG and PNG) from its saved outputs, or a
    /// sweep's (every point's and sweep.svg/.png).
    Plot(PlotArgs),
    /// Time a fixed suite on every backend against NumPy/JAX (and PyTorch) baselines; write bench.json.
    Bench(BenchArgs),
    /// Integrate the deterministic risk ODEs of one-pass least squares (signSGD's and SGD's) for a
    /// linear-regression experiment; write risk.csv and print the fixed points P_inf.
    ///
    /// The file's model.eta is each step's size, eta_ode/d in the ODEs' terms (one fresh sample
    /// per step, time t = k/d, docs/regression.md), so the ODEs run with eta_ode = model.eta × d:
    /// model.eta = 0.5/d is the paper's signSGD with eta = 0.5. K is the objective's diagonal,
    /// the target and x0 are the file's, the label noise is [noise]'s; objective.batch must be 1.
    Risk(RiskArgs),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Experiment file (TOML; `.json` is read as JSON). Give this or --example.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Run a built-in example instead of a file (see `optsde examples`).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// Output directory [default: optsde-out/<experiment name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to run (overrides run.backend).
    #[arg(long, value_name = "BACKEND", value_parser = backend_parser())]
    pub backend: Option<BackendChoice>,
    /// Number of paths (overrides run.paths).
    #[arg(long, value_name = "N")]
    pub paths: Option<u64>,
    /// Optimizer steps (overrides run.steps).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Random seed (overrides run.seed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// First step of the stationary window (overrides stationary.start; must be < the steps).
    #[arg(long, value_name = "N")]
    pub start: Option<u64>,
    /// Record the moments every N steps (overrides record.every).
    #[arg(long, value_name = "N")]
    pub record_every: Option<u64>,
    /// Euler–Maruyama substeps per optimizer step, SDE models only (overrides run.refine).
    #[arg(long, value_name = "R")]
    pub refine: Option<u64>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not draw the figures (loss, moments, hist .svg/.png) at the end.
    #[arg(long)]
    pub no_plots: bool,
    /// Run even if the resource estimate exceeds this machine's memory, disk or a year of
    /// compute; also write into --out when it holds another experiment's outputs (deleting what
    /// optsde wrote there, and nothing else).
    #[arg(long)]
    pub force: bool,
}

#[derive(clap::Args, Debug)]
pub struct RiskArgs {
    /// Experiment file with objective linear-regression (TOML; `.json` is read as JSON). Give
    /// this or --example.
    #[arg(value_name = "FILE", required_unless_present = "example", conflicts_with = "example")]
    pub file: Option<PathBuf>,
    /// Use a built-in example instead of a file (signsgd-risk; see `optsde examples`).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// Output directory of risk.csv [default: optsde-out/<experiment name>-risk].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// End of the curves in t = k/d [default: run.steps / d, the file's run].
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    pub t_end: Option<f64>,
    /// Output times, evenly spaced from t = 0 to the end, both included.
    #[arg(long, value_name = "N", default_value_t = risk_cmd::DEFAULT_POINTS)]
    pub points: usize,
}

impl RiskArgs {
    pub fn out_dir(&self, exp: &Experiment) -> PathBuf {
        self.out.clone().unwrap_or_else(|| Path::new("optsde-out").join(dir_name(&format!("{}-risk", exp.name))))
    }
}

#[derive(clap::Args, Debug)]
pub struct ExamplesArgs {
    /// Print this example's TOML instead of the list.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Backends to time: all (the CPU, and the GPU when an adapter exists, software ones
    /// included), cpu, or gpu.
    #[arg(long, value_name = "BACKEND", default_value = "all", value_parser = bench_backend_parser())]
    pub backend: bench::BackendSet,
    /// Paths of every run [default: 1048576; 16384 with CI set].
    #[arg(long, value_name = "N", value_parser = positive)]
    pub paths: Option<u64>,
    /// Optimizer steps of every run [default: 1000; 200 with CI set].
    #[arg(long, value_name = "N", value_parser = positive)]
    pub steps: Option<u64>,
    /// Suite entries to time, comma-separated: signsgd-sde-d1, signsgd-sde-d16, sgd-sde-d1,
    /// adam-sde-d1, dcsgd-d16, dsignsgd-d16, or all; also adam-sde-d16 (not in the suite).
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub only: String,
    /// Paths of the baselines (same steps) [default: min(paths, baseline-numbers / d)].
    #[arg(long, value_name = "N", value_parser = positive)]
    pub baseline_paths: Option<u64>,
    /// Numbers per array (paths × d) of the baselines when --baseline-paths is not given; raise it
    /// to fill a GPU that JAX or PyTorch runs on.
    #[arg(long, value_name = "N", value_parser = positive, default_value = "1048576")]
    pub baseline_numbers: u64,
    /// Timed runs per entry and backend after the warm-up; the table shows the median.
    #[arg(long, value_name = "N", value_parser = positive, default_value = "1")]
    pub repeat: u64,
    /// Baselines to run, comma-separated: numpy, jax, torch (a PyTorch loop; not in the default), or none.
    #[arg(long, value_name = "LIST", default_value = "numpy,jax")]
    pub baselines: String,
    /// Output directory of bench.json [default: optsde-out/bench].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not run any baseline (= --baselines none).
    #[arg(long)]
    pub no_baselines: bool,
    /// Python interpreter that runs the baselines.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// A run's output directory (summary.json, moments.csv, histograms.json), or a sweep's
    /// (sweep.csv, point-NNN/).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The input and run flags of `compare` and `scale`.
#[derive(clap::Args, Debug)]
pub struct SideArgs {
    /// Experiment file (TOML; `.json` is read as JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output directory [default: optsde-out/<experiment name>-compare or -scale].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to run (overrides run.backend).
    #[arg(long, value_name = "BACKEND", value_parser = backend_parser())]
    pub backend: Option<BackendChoice>,
    /// Number of paths of every run (overrides run.paths).
    #[arg(long, value_name = "N")]
    pub paths: Option<u64>,
    /// Random seed of every run (overrides run.seed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl SideArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides { paths: self.paths, seed: self.seed, backend: self.backend, ..Overrides::default() }
    }
    pub fn out_dir(&self, exp: &Experiment, what: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| Path::new("optsde-out").join(dir_name(&format!("{}-{what}", exp.name))))
    }
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub side: SideArgs,
    /// Learning rates, comma-separated; steps scale as 1/eta to keep the SDE time
    /// [default: the file's eta].
    #[arg(long, value_name = "A,B,...", allow_hyphen_values = true)]
    pub etas: Option<String>,
    /// Euler–Maruyama substeps per optimizer step for the SDE runs (replaces run.refine).
    #[arg(long, value_name = "R", default_value_t = compare::DEFAULT_COMPARE_REFINE)]
    pub refine: u32,
    /// Do not draw the figures (compare.svg/.png; compare-order.svg/.png with several etas).
    #[arg(long)]
    pub no_plots: bool,
}

#[derive(clap::Args, Debug)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub side: SideArgs,
    /// The scaling rule.
    #[arg(long, value_name = "NAME", value_parser = rule_parser())]
    pub rule: Rule,
    /// The factor kappa (for dcsgd fixed to 1 + omega by the compressor; may be left out).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub kappa: Option<f64>,
    /// Time the first crossing of this multiple of the stationary loss.
    #[arg(long, value_name = "X", default_value_t = scale::DEFAULT_THRESHOLD, allow_negative_numbers = true)]
    pub threshold: f64,
}

/// `auto | gpu | cpu`, listed in --help and in clap's message for other values.
fn backend_parser() -> impl TypedValueParser<Value = BackendChoice> {
    PossibleValuesParser::new(BackendChoice::ALL.map(BackendChoice::name)).try_map(|s| s.parse::<BackendChoice>())
}

/// The scaling rules of `optsde scale`, listed in --help and in clap's message for other values.
fn rule_parser() -> impl TypedValueParser<Value = Rule> {
    PossibleValuesParser::new(Rule::ALL.map(Rule::name)).try_map(|s| s.parse::<Rule>())
}

/// `all | cpu | gpu` for `optsde bench`.
fn bench_backend_parser() -> impl TypedValueParser<Value = bench::BackendSet> {
    PossibleValuesParser::new(bench::BackendSet::ALL.map(bench::BackendSet::name))
        .try_map(|s| s.parse::<bench::BackendSet>())
}

/// An integer >= 1.
fn positive(s: &str) -> std::result::Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be an integer >= 1".into()),
    }
}

/// The experiment name as one safe path component.
pub fn dir_name(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') { "experiment".to_string() } else { s }
}
