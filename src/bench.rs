//! `optsde bench`: a fixed suite timed on every available backend, side by side with NumPy,
//! JAX and PyTorch loops of the same SDEs (issue 5).
//!
//! **Suite** ([`SUITE`]): `signsgd-sde` d = 1 and d = 16, `sgd-sde` d = 1, `adam-sde` d = 1,
//! `dcsgd` (rand-k, k = 4) d = 16 with N = 4 agents, `dsignsgd` d = 16 with N = 4. Every entry
//! is the quadratic with h = 1, σ = 1, η = 1e-3, x0 = 0 (the parameters of
//! `benches/throughput.rs`), stationary sampling every 10 steps from half the steps, one record
//! at the end, histograms on the fixed range [−0.2, 0.2] (no pilot run).
//!
//! **What is timed.** Per entry and backend, a warm-up run of the same experiment with the full
//! ensemble and 1/16 of the steps (it compiles the pipelines and allocates the buffers of the
//! timed run's chunk size), then the timed run: the wall time of [`plan::run`]. Figures:
//! path-steps/s = paths × d × steps / s (coordinate updates; the agents of the distributed
//! models are not counted) and optimizer path-steps/s = paths × steps / s.
//!
//! **Baselines** (`benches/baselines/`, embedded here and written next to `bench.json` before
//! they run): the same loops in float32 with NumPy, with JAX (`jax.jit` + `lax.fori_loop`) and
//! with PyTorch (a Python loop over `torch.compile`d steps, on the GPU when it sees one; asked
//! for with `--baselines`, not run by default), run with Python when `import numpy` /
//! `import jax` / `import torch` succeed; each prints its time (after a
//! warm-up, or with compilation excluded) and the statistics optsde reports (stationary loss
//! over the same sample steps with a batch-of-256 standard error, final loss), so every figure
//! comes with its ratio and the stationary losses with a z-score
//! (ℓ_baseline − ℓ_optsde)/√(SE_b² + SE_o²). A missing Python or package is a note, never a
//! failure. The baselines' throughput stops growing with the ensemble once their arrays hold
//! about 2^20 numbers (NumPy flat from 2^16; JAX on the CPU gains ~30% from 2^16 to 2^18 at d = 1
//! and is flat after), so by default they run min(paths, [`BASELINE_NUMBERS`] / d) paths and
//! the same steps: all 2^20 paths at d = 1, 2^16 at d = 16.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cpu::{Arith, CpuEngine};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::plan::{self, BackendInfo, Engine};
use crate::spec::Overrides;

/// One suite entry: a model at a dimension, with N agents (1: single-agent) and rand-k's k for
/// `dcsgd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub model: &'static str,
    pub dim: usize,
    pub agents: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub randk: Option<u32>,
}

impl Entry {
    /// The name `--only` selects it by: "signsgd-sde-d1", "dcsgd-d16".
    pub fn key(&self) -> String {
        format!("{}-d{}", self.model, self.dim)
    }

    /// "signsgd-sde d=1", "dcsgd rand-4 d=16 N=4".
    pub fn label(&self) -> String {
        let mut s = self.model.to_string();
        if let Some(k) = self.randk {
            s.push_str(&format!(" rand-{k}"));
        }
        s.push_str(&format!(" d={}", self.dim));
        if self.agents > 1 {
            s.push_str(&format!(" N={}", self.agents));
        }
        s
    }
}

/// The benchmark suite (issue 5).
pub const SUITE: [Entry; 6] = [
    Entry { model: "signsgd-sde", dim: 1, agents: 1, randk: None },
    Entry { model: "signsgd-sde", dim: 16, agents: 1, randk: None },
    Entry { model: "sgd-sde", dim: 1, agents: 1, randk: None },
    Entry { model: "adam-sde", dim: 1, agents: 1, randk: None },
    Entry { model: "dcsgd", dim: 16, agents: 4, randk: Some(4) },
    Entry { model: "dsignsgd", dim: 16, agents: 4, randk: None },
];

/// Entries outside the fixed suite, timed only when `--only` names them: `adam-sde` at d = 16
/// (issue 3's second adaptive size; `benches/throughput.rs` has it too).
pub const EXTRA: [Entry; 1] = [Entry { model: "adam-sde", dim: 16, agents: 1, randk: None }];

/// Default ensemble and steps: 2^20 paths × 1000 steps, enough to fill a GPU.
pub const DEFAULT_SIZES: Sizes = Sizes { paths: 1 << 20, steps: 1000 };
/// With the `CI` environment variable set: 2^14 paths × 200 steps.
pub const CI_SIZES: Sizes = Sizes { paths: 1 << 14, steps: 200 };
/// The baselines run at most this many numbers per array (paths × d) by default (see the
/// module docs); `--baseline-numbers` changes it (a GPU baseline needs more to fill the device).
pub const BASELINE_NUMBERS: u64 = 1 << 20;
/// The baseline tools, in the order they run.
pub const BASELINE_TOOLS: [&str; 3] = ["numpy", "jax", "torch"];
/// The seed of every run (optsde's and the baselines').
pub const SEED: u64 = 1;

/// Paths and optimizer steps of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Sizes {
    pub paths: u64,
    pub steps: u64,
}

/// Which backends to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendSet {
    /// The CPU and, when an adapter exists, the GPU (a software adapter included).
    All,
    Cpu,
    /// The GPU only; no adapter is an error.
    Gpu,
}

impl BackendSet {
    pub const ALL: [BackendSet; 3] = [BackendSet::All, BackendSet::Cpu, BackendSet::Gpu];
    pub fn name(self) -> &'static str {
        match self {
            BackendSet::All => "all",
            BackendSet::Cpu => "cpu",
            BackendSet::Gpu => "gpu",
        }
    }
}

impl std::str::FromStr for BackendSet {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        BackendSet::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| Error::UnknownName {
            field: "--backend".into(),
            value: s.into(),
            valid: "all, cpu, gpu".into(),
        })
    }
}

/// What `optsde bench` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub backends: BackendSet,
    pub sizes: Sizes,
    /// The suite entries to time (a subset of [`SUITE`], in its order).
    pub entries: Vec<Entry>,
    /// Timed runs per entry and backend (the median counts).
    pub repeat: u32,
    /// Paths of the baselines (same steps); `None`: [`baseline_paths`] with `baseline_numbers`.
    pub baseline_paths: Option<u64>,
    /// Numbers per array (paths × d) of the baselines when `baseline_paths` is not given.
    pub baseline_numbers: u64,
    /// The baseline tools to run (a subset of [`BASELINE_TOOLS`]); empty: none.
    pub baselines: Vec<String>,
    /// The Python interpreter that runs the baselines.
    pub python: PathBuf,
    /// Where `bench.json` (and the baseline scripts that ran) go.
    pub out_dir: PathBuf,
    /// Whether `CI` was set (recorded in bench.json).
    pub ci: bool,
}

/// The sizes `optsde bench` uses when none are given: [`CI_SIZES`] when `CI` is set (to any
/// value but "" or "0" / "false"), else [`DEFAULT_SIZES`].
pub fn default_sizes() -> (Sizes, bool) {
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    (if ci { CI_SIZES } else { DEFAULT_SIZES }, ci)
}

/// The experiment of an entry, built from TOML text and validated like a file.
pub fn experiment(e: &Entry, sizes: Sizes) -> Result<Experiment> {
    let agents = if e.agents > 1 { format!("agents = {}", e.agents) } else { String::new() };
    let compressor = e.randk.map(|k| format!("[compressor]\nname = \"rand-k\"\nk = {k}")).unwrap_or_default();
    let toml = format!(
        r#"
name = "bench-{model}-d{dim}"
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
[init]
x0 = 0.0
[run]
paths = {paths}
steps = {steps}
seed = {SEED}
[record]
every = {steps}
[stationary]
start = {start}
every = 10
bins = 128
range = [-0.2, 0.2]
"#,
        model = e.model,
        dim = e.dim,
        paths = sizes.paths,
        steps = sizes.steps,
        start = sizes.steps / 2,
    );
    Experiment::from_str(&toml, "toml", "bench", "bench", &Overrides::default())
}

/// The baselines' default paths for an entry: min(paths, numbers / d), at least 1.
pub fn baseline_paths(paths: u64, dim: usize, numbers: u64) -> u64 {
    paths.min((numbers / dim as u64).max(1))
}

/// The entries named by a comma-separated list of keys ([`Entry::key`]; the suite's, then
/// [`EXTRA`]'s, in that order); `None` or "all": the whole suite.
pub fn select_entries(only: Option<&str>) -> Result<Vec<Entry>> {
    let Some(list) = only.filter(|l| l.trim() != "all") else { return Ok(SUITE.to_vec()) };
    let known = || SUITE.iter().chain(&EXTRA);
    let valid = || known().map(Entry::key).collect::<Vec<_>>().join(", ");
    let keys: Vec<&str> = list.split(',').map(str::trim).collect();
    for k in &keys {
        if !known().any(|e| e.key() == *k) {
            return Err(Error::UnknownName { field: "--only".into(), value: (*k).into(), valid: valid() });
        }
    }
    Ok(known().filter(|e| keys.contains(&e.key().as_str())).copied().collect())
}

/// The baseline tools named by a comma-separated list ("none": no baseline).
pub fn select_baselines(list: &str) -> Result<Vec<String>> {
    if list.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for t in list.split(',').map(str::trim) {
        if !BASELINE_TOOLS.contains(&t) {
            return Err(Error::UnknownName {
                field: "--baselines".into(),
                value: t.into(),
                valid: format!("{}, none", BASELINE_TOOLS.join(", ")),
            });
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.into());
        }
    }
    Ok(out)
}

/// The warm-up of a timed run: the same ensemble, 1/16 of the steps.
pub fn warmup_sizes(s: Sizes) -> Sizes {
    Sizes { paths: s.paths, steps: (s.steps / 16).max(1) }
}

/// One timed optsde run.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub backend: BackendInfo,
    /// A software GPU adapter (llvmpipe, WARP): the GPU kernels run on the CPU.
    pub software: bool,
    pub paths: u64,
    pub steps: u64,
    /// The warm-up's wall time: `warmup_runs` runs of the warm-up sizes, repeated until
    /// [`WARMUP_MIN_SECONDS`] had passed.
    pub warmup_seconds: f64,
    pub warmup_runs: u32,
    /// The median of the timed runs' wall times (one run unless `--repeat`).
    pub seconds: f64,
    /// Every timed run's wall time, in order.
    pub run_seconds: Vec<f64>,
    /// paths × d × steps / seconds.
    pub path_steps_per_second: f64,
    /// paths × steps / seconds.
    pub optimizer_path_steps_per_second: f64,
    pub stationary_loss: f64,
    pub stationary_loss_se: f64,
    pub stationary_samples: u64,
    pub final_loss_mean: f64,
    pub diverged: u64,
    /// This run against each baseline that ran.
    pub vs: Vec<Versus>,
}

/// optsde against one baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Versus {
    pub baseline: String,
    /// optsde's path-steps/s over the baseline's.
    pub ratio: f64,
    /// (baseline − optsde) stationary loss over the combined standard error.
    pub stationary_z: f64,
}

/// What a baseline script prints (one JSON line); other keys are kept in `extra`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineResult {
    pub tool: String,
    pub version: String,
    pub paths: u64,
    pub steps: u64,
    pub seconds: f64,
    pub path_steps_per_second: f64,
    pub final_loss_mean: f64,
    pub stationary_loss: f64,
    pub stationary_loss_se: f64,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One baseline on one entry: its result, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineOutcome {
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<BaselineResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything measured for one suite entry.
#[derive(Clone, Debug, Serialize)]
pub struct EntryReport {
    pub entry: String,
    #[serde(flatten)]
    pub spec: Entry,
    pub optsde: Vec<Measurement>,
    pub baselines: Vec<BaselineOutcome>,
}

/// A baseline tool's availability, probed once.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    pub name: String,
    pub script: String,
    /// The package's version when `import` succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why it is not available (or [`NOT_ASKED`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// The machine the figures come from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cpu_threads: usize,
    /// The CPU backend's arithmetic ([`crate::cpu::Arith`]: `fused` or `split` multiply-adds).
    pub cpu_arith: String,
    /// The vector instructions of the CPU kernels ([`crate::cpu::VectorUnit`]):
    /// `AVX-512`, `AVX2` or `baseline`.
    pub cpu_vector: String,
    pub os: String,
    /// 1, 5 and 15-minute load averages (/proc/loadavg) before and after the suite.
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<BackendInfo>,
    pub gpu_software: bool,
    /// Why no GPU was benchmarked, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    pub python: String,
}

/// `bench.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub optsde_version: String,
    pub ci: bool,
    pub sizes: Sizes,
    pub warmup: Sizes,
    /// `--baseline-paths` when given (else each entry's baseline runs [`baseline_paths`]; its
    /// result records its paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_paths: Option<u64>,
    /// Numbers per array (paths × d) of the baselines without `--baseline-paths`.
    pub baseline_numbers: u64,
    /// Timed runs per entry and backend; the figures use the median.
    pub repeat: u32,
    pub seed: u64,
    pub machine: Machine,
    pub tools: Vec<Tool>,
    pub entries: Vec<EntryReport>,
    pub total_seconds: f64,
}

/// A tool's `unavailable` when `--baselines` (or `--no-baselines`) left it out.
pub const NOT_ASKED: &str = "not asked for (--baselines)";

/// The baseline scripts, embedded so the bench runs from any directory.
pub const BASELINE_SCRIPTS: [(&str, &str, &str); 3] = [
    ("numpy", "numpy_loop.py", include_str!("../benches/baselines/numpy_loop.py")),
    ("jax", "jax_loop.py", include_str!("../benches/baselines/jax_loop.py")),
    ("torch", "torch_loop.py", include_str!("../benches/baselines/torch_loop.py")),
];

/// How to get a missing baseline package.
fn install_hint(tool: &str) -> &'static str {
    match tool {
        "jax" => "pip install jax[cpu]",
        "torch" => "pip install torch",
        _ => "pip install numpy",
    }
}

/// Whether `python -c "import <tool>"` succeeds, and the package version.
fn probe(python: &Path, tool: &str) -> std::result::Result<String, String> {
    let out = Command::new(python)
        .args(["-c", &format!("import {tool}; print({tool}.__version__)")])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("import failed").trim().to_string())
    }
}

/// Run one baseline script on an entry.
fn run_baseline(python: &Path, script: &Path, e: &Entry, sizes: Sizes) -> std::result::Result<BaselineResult, String> {
    let out = Command::new(python)
        .arg(script)
        .args(["--model", e.model, "--dim", &e.dim.to_string()])
        .args(["--paths", &sizes.paths.to_string(), "--steps", &sizes.steps.to_string()])
        .args(["--seed", &SEED.to_string()])
        .output()
        .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
        return Err(format!("{} exited with {}: {tail}", script.display(), out.status));
    }
    let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
    serde_json::from_str(line)
        .map_err(|err| format!("{}: cannot read its output line {line:?}: {err}", script.display()))
}

/// /proc/loadavg's three averages.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = s.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// The engines to time, with their software flag, and a note on a GPU that is not there.
type Engines = Vec<(Box<dyn Engine>, bool)>;

fn open_engines(set: BackendSet, arith: Arith) -> Result<(Engines, Option<String>)> {
    let mut engines: Engines = Vec::new();
    let mut note = None;
    if set != BackendSet::Gpu {
        engines.push((Box::new(CpuEngine::with_arith(arith)), false));
    }
    if set != BackendSet::Cpu {
        match crate::backend::open_gpu() {
            Ok(g) => engines.push(g),
            // With `all`, a missing or failing GPU is a note; bad input (OPTSDE_GPU_VARIANT) fails.
            Err(e @ (Error::NoAdapter { .. } | Error::Gpu(_))) if set == BackendSet::All => {
                note = Some(format!("gpu: not benchmarked ({e})"))
            }
            Err(e) => return Err(e),
        }
    }
    Ok((engines, note))
}

/// How long the warm-up of an entry lasts at least: the warm-up run is repeated until its runs
/// have taken this long together, so that a GPU's clock and a CPU's frequency have ramped up and
/// the caches are filled before the first timed run. Half a second costs the bench at most 0.5 s
/// per entry and backend. It did not cure what prompted it: on the H100 (2026-11-27) the suite's
/// first entry, timed right after the Python baselines were probed, ran 2–5× slower than the
/// same kernel in a process that probed nothing, with one warm-up of 62 steps (runs of 0.103,
/// 0.097, 0.084, 0.020, 0.020 s) and again with this one (0.063, then 0.040 s four times).
/// `benches/device/h100.sh` logs the SM clock during the suite to find out why.
pub const WARMUP_MIN_SECONDS: f64 = 0.5;

/// The most warm-up runs of one entry, whatever their time (a backend whose runs take
/// microseconds, at tiny sizes, stops here).
pub const WARMUP_MAX_RUNS: u32 = 1000;

/// A warm-up of at least [`WARMUP_MIN_SECONDS`] (whole runs of `warm`) and `repeat` timed runs of
/// `exp` on `engine`; the figures use the median time (every run computes the same statistics:
/// same seeds).
fn measure(
    exp: &Experiment,
    warm: &Experiment,
    engine: &mut dyn Engine,
    software: bool,
    repeat: u32,
) -> Result<Measurement> {
    let t = Instant::now();
    let mut warmup_runs = 0;
    while warmup_runs == 0 || (t.elapsed().as_secs_f64() < WARMUP_MIN_SECONDS && warmup_runs < WARMUP_MAX_RUNS) {
        plan::run(warm, engine, &mut |_| {})?;
        warmup_runs += 1;
    }
    let warmup_seconds = t.elapsed().as_secs_f64();
    let mut run_seconds = Vec::new();
    let mut result = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let r = plan::run(exp, engine, &mut |_| {})?;
        run_seconds.push(t.elapsed().as_secs_f64());
        result = Some(r);
    }
    let r = result.expect("at least one timed run");
    let seconds = median(&run_seconds);
    let (paths, steps) = (exp.run.paths, exp.run.steps);
    let opt = paths as f64 * steps as f64 / seconds;
    Ok(Measurement {
        backend: r.backend.clone(),
        software,
        paths,
        steps,
        warmup_seconds,
        warmup_runs,
        seconds,
        run_seconds,
        path_steps_per_second: opt * exp.dim as f64,
        optimizer_path_steps_per_second: opt,
        stationary_loss: r.stationary.loss_mean,
        stationary_loss_se: r.stationary.loss_se,
        stationary_samples: r.stationary.samples,
        final_loss_mean: r.records.last().map_or(f64::NAN, |rec| rec.q[exp.dim].mean),
        diverged: r.diverged,
        vs: Vec::new(),
    })
}

/// The median of a non-empty list (the mean of the middle two for an even length).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

/// (b − a)/√(SE_a² + SE_b²).
pub fn z_score(a: f64, se_a: f64, b: f64, se_b: f64) -> f64 {
    (b - a) / (se_a * se_a + se_b * se_b).sqrt()
}

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

    // Baseline tools: probe, and write the scripts that will run.
    let mut tools = Vec::new();
    for (name, file, text) in BASELINE_SCRIPTS {
        let script = opts.out_dir.join("baselines").join(file);
        let (version, unavailable) = if !opts.baselines.iter().any(|b| b == name) {
            (None, Some(NOT_ASKED.to_string()))
        } else {
            match probe(&opts.python, name) {
                Ok(v) => {
                    write_file(&script, text)?;
                    (Some(v), None)
                }
                Err(why) => {
                    log(&format!("baseline {name}: not available ({}): {why}", install_hint(name)));
                    (None, Some(why))
                }
            }
        };
        tools.push(Tool { name: name.into(), script: script.display().to_string(), version, unavailable });
    }

    let mut entries = Vec::new();
    for (e, (exp, warm)) in opts.entries.iter().zip(&exps) {
        let mut rep = EntryReport { entry: e.label(), spec: *e, optsde: Vec::new(), baselines: Vec::new() };
        // The baselines first, then optsde: on the H100 (2026-11-27) an optsde entry timed right
        // after the baseline probes ran 2-5x slower than in a process that probed nothing (3 of 3
        // times), while every entry timed right after a baseline's run was not (10 of 10). So
        // every entry is now timed after its own baselines, the order that was measured right.
        let base_sizes = Sizes {
            paths: opts.baseline_paths.unwrap_or(baseline_paths(opts.sizes.paths, e.dim, opts.baseline_numbers)),
            steps: opts.sizes.steps,
        };
        for tool in tools.iter().filter(|t| t.version.is_some()) {
            let r = run_baseline(&opts.python, Path::new(&tool.script), e, base_sizes);
            match &r {
                Ok(b) => log(&format!(
                    "{:<24} {:<9} {:.3e} path-steps/s ({:.2} s)",
                    e.label(),
                    tool.name,
                    b.path_steps_per_second,
                    b.seconds
                )),
                Err(why) => log(&format!("baseline {} failed on {}: {why}", tool.name, e.label())),
            }
            let (result, error) = match r {
                Ok(b) => (Some(b), None),
                Err(why) => (None, Some(why)),
            };
            rep.baselines.push(BaselineOutcome { tool: tool.name.clone(), result, error });
        }
        for (engine, soft) in engines.iter_mut() {
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
            for b in rep.baselines.iter().filter_map(|b| b.result.as_ref()) {
                m.vs.push(Versus {
                    baseline: b.tool.clone(),
                    ratio: m.path_steps_per_second / b.path_steps_per_second,
                    stationary_z: z_score(
                        m.stationary_loss,
                        m.stationary_loss_se,
                        b.stationary_loss,
                        b.stationary_loss_se,
                    ),
                });
            }
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
    // Plain structs with string keys always serialize (non-finite numbers become null).
    let mut json = serde_json::to_vec_pretty(&report).unwrap_or_else(|_| b"null".to_vec());
    json.push(b'\n');
    std::fs::create_dir_all(&opts.out_dir).map_err(|source| Error::Io {
        action: "cannot create output directory",
        path: opts.out_dir.clone(),
        source,
    })?;
    crate::output::files::write_atomic(&opts.out_dir, "bench.json", &json)?;
    Ok(report)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "cannot create output directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Io { action: "cannot write", path: path.to_path_buf(), source })
}

/// "cpu", "gpu", or "gpu (sw)" for a software adapter.
fn backend_label(kind: &str, software: bool) -> String {
    if software { format!("{kind} (sw)") } else { kind.to_string() }
}

fn sci(x: f64) -> String {
    if x.is_finite() { format!("{x:.3e}") } else { "-".into() }
}

/// The report as text: machine header, throughput table, stationary-loss agreement.
pub fn table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "optsde bench {}: {} paths × {} steps per run (warm-up: runs of {} steps for {} s or more{}), seed {}{}",
        r.optsde_version,
        r.sizes.paths,
        r.sizes.steps,
        r.warmup.steps,
        WARMUP_MIN_SECONDS,
        if r.repeat > 1 { format!("; median of {} timed runs", r.repeat) } else { String::new() },
        r.seed,
        if r.ci { " [CI sizes]" } else { "" }
    );
    let _ = writeln!(
        s,
        "cpu       {} ({} threads, {}, {} kernels, {} multiply-add)",
        m.cpu, m.cpu_threads, m.os, m.cpu_vector, m.cpu_arith
    );
    match (&m.gpu, &m.gpu_note) {
        (Some(g), _) => {
            let soft = if m.gpu_software { " [software rasteriser: runs on the CPU]" } else { "" };
            let _ = writeln!(s, "gpu       {} — {}, driver {}{soft}", g.adapter, g.api, g.driver);
        }
        (None, Some(note)) => {
            let _ = writeln!(s, "{note}");
        }
        (None, None) => {}
    }
    for t in &r.tools {
        match (&t.version, &t.unavailable) {
            (Some(v), _) => {
                let paths = match r.baseline_paths {
                    Some(p) => format!("{p} paths"),
                    None => format!("min(paths, {}/d) paths", r.baseline_numbers),
                };
                // Where the baseline ran (JAX reports its device: a GPU when one is visible).
                let device = r
                    .entries
                    .iter()
                    .flat_map(|e| &e.baselines)
                    .filter(|b| b.tool == t.name)
                    .find_map(|b| b.result.as_ref()?.extra.get("device")?.as_str().map(str::to_string))
                    .map(|d| format!(", on {d}"))
                    .unwrap_or_default();
                let _ = writeln!(s, "{:<9} {} {v} ({}, {paths}{device})", t.name, t.name, m.python);
            }
            (None, Some(why)) if why == NOT_ASKED => {
                let _ = writeln!(s, "baseline {}: skipped ({NOT_ASKED})", t.name);
            }
            (None, why) => {
                let _ = writeln!(
                    s,
                    "baseline {}: not available ({}){}",
                    t.name,
                    install_hint(&t.name),
                    why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
                );
            }
        }
    }
    if let Some(l) = m.load_before {
        let after = m.load_after.map(|a| format!(", after {:.2}", a[0])).unwrap_or_default();
        let _ = writeln!(s, "load      {:.2} (1-min average) before{after}, {} threads", l[0], m.cpu_threads);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "path-steps/s = paths × d × steps / s (optimizer path-steps/s = paths × steps / s)");
    // A column per baseline: numpy and jax always (a dash where they did not run), torch when
    // it was asked for.
    let cols: Vec<&str> = r
        .tools
        .iter()
        .filter(|t| t.name != "torch" || t.unavailable.as_deref() != Some(NOT_ASKED))
        .map(|t| t.name.as_str())
        .collect();
    let mut head = format!("{:<24} {:<9} {:>12} {:>12}", "entry", "backend", "path-st/s", "opt p-st/s");
    for c in &cols {
        head.push_str(&format!(" {c:>12}"));
    }
    for c in &cols {
        head.push_str(&format!(" {:>9}", format!("×{c}")));
    }
    let _ = writeln!(s, "{head}");
    let base = |e: &EntryReport, tool: &str| {
        e.baselines.iter().find(|b| b.tool == tool).and_then(|b| b.result.as_ref()).map(|b| b.path_steps_per_second)
    };
    let ratio = |x: f64, b: Option<f64>| b.map_or("-".to_string(), |b| format!("{:.1}", x / b));
    for e in &r.entries {
        let bases: Vec<Option<f64>> = cols.iter().map(|c| base(e, c)).collect();
        for mm in &e.optsde {
            let mut line = format!(
                "{:<24} {:<9} {:>12} {:>12}",
                e.entry,
                backend_label(&mm.backend.kind, mm.software),
                sci(mm.path_steps_per_second),
                sci(mm.optimizer_path_steps_per_second),
            );
            for b in &bases {
                line.push_str(&format!(" {:>12}", b.map_or("-".into(), sci)));
            }
            for b in &bases {
                line.push_str(&format!(" {:>9}", ratio(mm.path_steps_per_second, *b)));
            }
            let _ = writeln!(s, "{line}");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "stationary loss (mean over paths and steps {}, {} + 10, ... ± SE); z = (baseline − optsde {}) / combined SE",
        r.sizes.steps / 2,
        r.sizes.steps / 2,
        r.entries.first().and_then(|e| e.optsde.first()).map_or("-".into(), |m| m.backend.kind.clone()),
    );
    let cell = |x: f64, se: f64| format!("{} ± {:.1e}", sci(x), se);
    let mut head = format!("{:<24}", "entry");
    if let Some(e) = r.entries.first() {
        for mm in &e.optsde {
            head.push_str(&format!(" {:>21}", backend_label(&mm.backend.kind, mm.software)));
        }
        for b in &e.baselines {
            head.push_str(&format!(" {:>21} {:>6}", b.tool, "z"));
        }
    }
    let _ = writeln!(s, "{}", head.trim_end());
    for e in &r.entries {
        let mut line = format!("{:<24}", e.entry);
        for mm in &e.optsde {
            line.push_str(&format!(" {:>21}", cell(mm.stationary_loss, mm.stationary_loss_se)));
        }
        let first = e.optsde.first();
        for b in &e.baselines {
            match (&b.result, first) {
                (Some(br), Some(o)) => {
                    let z = z_score(o.stationary_loss, o.stationary_loss_se, br.stationary_loss, br.stationary_loss_se);
                    line.push_str(&format!(" {:>21} {:>6.2}", cell(br.stationary_loss, br.stationary_loss_se), z));
                }
                (Some(br), None) => {
                    line.push_str(&format!(" {:>21} {:>6}", cell(br.stationary_loss, br.stationary_loss_se), "-"))
                }
                (None, _) => line.push_str(&format!(" {:>21} {:>6}", "failed", "-")),
            }
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}
