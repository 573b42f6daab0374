//! The suite: its entries (a model at a dimension), their sizes and experiments, which
//! backends to time, and the options of one `optsde bench`.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::Experiment;
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
    /// Paths of the baselines (same steps); `None`: [`baseline_paths`](super::baseline_paths) with `baseline_numbers`.
    pub baseline_paths: Option<u64>,
    /// Numbers per array (paths × d) of the baselines when `baseline_paths` is not given.
    pub baseline_numbers: u64,
    /// The baseline tools to run (a subset of [`BASELINE_TOOLS`](super::BASELINE_TOOLS)); empty: none.
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
