//! The suite: its entries (a model at a dimension), their sizes and experiments, which
//! backends to time, and the options of one `optsde bench`.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::spec::Overrides;

/// One suite entry: a model at a dimension on a landscape, with N agents (1: single-agent) and
/// rand-k's k for `dcsgd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub model: &'static str,
    pub dim: usize,
    pub agents: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub randk: Option<u32>,
    pub landscape: Landscape,
}

/// The curvature h of [`Landscape::QuadraticFormula`]'s `sum(i, ½h*x[i]^2)`.
pub const QUADRATIC_FORMULA_H: f64 = 1.0;
/// (a, b) of [`Landscape::DoubleWell`]'s a(x² − 1)² + b x.
pub const DOUBLE_WELL: (f64, f64) = (0.25, 0.1);
/// (a, b) of [`Landscape::Rosenbrock`]'s Σ_{i<d−1} b(x_{i+1} − x_i²)² + (a − x_i)².
pub const ROSENBROCK: (f64, f64) = (1.0, 100.0);
/// [`Landscape::Regression`]'s data covariance: K = diag(linspace(lo, hi, d)).
pub const REGRESSION_SPECTRUM: (f64, f64) = (0.2, 2.0);
/// The seed of [`Landscape::Regression`]'s target x* ~ N(0, I/d) (`target = { seed = 0 }`).
pub const REGRESSION_TARGET_SEED: u64 = 0;

/// The objective of a suite entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Landscape {
    /// The diagonal quadratic ½ Σ x², the built-in fast path (and the Python baselines' loop).
    Quadratic,
    /// The same quadratic written as a formula, `sum(i, 0.5*x[i]^2)`: the formula stage's cost
    /// against the built-in one.
    QuadraticFormula,
    /// A dense quadratic: eigenvalues 1..2 (linearly spaced) in a random basis.
    Dense,
    /// The tilted double well 0.25(x² − 1)² + 0.1x (d = 1), a formula.
    DoubleWell,
    /// Rosenbrock's function, a formula with a neighbour sum.
    Rosenbrock,
    /// One-pass least squares (`linear-regression`, docs/regression.md): data a ~ N(0, K) with
    /// K = diag(linspace(0.2, 2, d)) ([`REGRESSION_SPECTRUM`]), labels y = aᵀx* + ε with x* drawn
    /// from seed 0 ([`REGRESSION_TARGET_SEED`]) and ε ~ N(0, σ²), σ = 1 (the suite's noise),
    /// one data point per step (batch 1). The loss is the excess risk ½ rᵀKr, r = x − x*.
    Regression,
}

impl Landscape {
    /// The suffix of [`Entry::key`] and [`Entry::label`] ("" for the quadratic).
    pub fn suffix(self) -> &'static str {
        match self {
            Landscape::Quadratic => "",
            Landscape::QuadraticFormula => "formula",
            Landscape::Dense => "dense",
            Landscape::DoubleWell => "double-well",
            Landscape::Rosenbrock => "rosenbrock",
            Landscape::Regression => "regression",
        }
    }

    /// The loss of a formula landscape, written from its parameters ([`QUADRATIC_FORMULA_H`],
    /// [`DOUBLE_WELL`], [`ROSENBROCK`]), which the baseline scripts get too; `None` for the
    /// quadratics given by their Hessians and for the regression.
    pub fn formula(self) -> Option<String> {
        match self {
            Landscape::Quadratic | Landscape::Dense | Landscape::Regression => None,
            Landscape::QuadraticFormula => Some(format!("sum(i, {}*x[i]^2)", 0.5 * QUADRATIC_FORMULA_H)),
            Landscape::DoubleWell => {
                let (a, b) = DOUBLE_WELL;
                Some(format!("{a}*(x0^2 - 1)^2 + {b}*x0"))
            }
            Landscape::Rosenbrock => {
                let (a, b) = ROSENBROCK;
                Some(format!("sum(i, {b}*(x[i+1] - x[i]^2)^2 + ({a} - x[i])^2)"))
            }
        }
    }

    /// The `[objective]` table in dimension `dim`, and the fixed histogram range (of x, or of
    /// r = x − x* on the regression).
    fn objective(self, dim: usize) -> (String, &'static str) {
        let formula = || self.formula().expect("a formula landscape");
        match self {
            Landscape::Quadratic => (format!("name = \"quadratic\"\nh = 1.0\ndim = {dim}"), "[-0.2, 0.2]"),
            Landscape::QuadraticFormula => {
                (format!("name = \"expression\"\nloss = \"{}\"\ndim = {dim}", formula()), "[-0.2, 0.2]")
            }
            Landscape::Dense => {
                let eig: Vec<String> =
                    (0..dim).map(|i| format!("{}", 1.0 + i as f64 / (dim.max(2) - 1) as f64)).collect();
                (
                    format!(
                        "name = \"quadratic\"\neigenvalues = [{}]\nbasis = \"random\"\nbasis_seed = 1",
                        eig.join(", ")
                    ),
                    "[-0.2, 0.2]",
                )
            }
            Landscape::DoubleWell => (format!("name = \"expression\"\nloss = \"{}\"", formula()), "[-2.0, 2.0]"),
            Landscape::Rosenbrock => {
                (format!("name = \"expression\"\nloss = \"{}\"\ndim = {dim}", formula()), "[-2.0, 2.0]")
            }
            Landscape::Regression => {
                let (lo, hi) = REGRESSION_SPECTRUM;
                (
                    format!(
                        "name = \"linear-regression\"\nspectrum = {{ linear = [{lo:?}, {hi:?}] }}\ndim = {dim}\n\
                         target = {{ seed = {REGRESSION_TARGET_SEED} }}\nbatch = 1"
                    ),
                    "[-0.5, 0.5]",
                )
            }
        }
    }
}

impl Entry {
    /// The name `--only` selects it by: "signsgd-sde-d1", "dcsgd-d16".
    pub fn key(&self) -> String {
        match self.landscape.suffix() {
            "" => format!("{}-d{}", self.model, self.dim),
            l => format!("{}-d{}-{l}", self.model, self.dim),
        }
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
        if self.landscape != Landscape::Quadratic {
            s.push_str(&format!(" {}", self.landscape.suffix()));
        }
        s
    }

    /// An entry on the diagonal quadratic.
    pub const fn quadratic(model: &'static str, dim: usize, agents: u32, randk: Option<u32>) -> Entry {
        Entry { model, dim, agents, randk, landscape: Landscape::Quadratic }
    }

    /// A single-agent entry on `landscape`.
    pub const fn on(model: &'static str, dim: usize, landscape: Landscape) -> Entry {
        Entry { model, dim, agents: 1, randk: None, landscape }
    }
}

/// The benchmark suite (issue 5; the landscapes of issue 24 after the quadratic's).
pub const SUITE: [Entry; 10] = [
    Entry::quadratic("signsgd-sde", 1, 1, None),
    Entry::quadratic("signsgd-sde", 16, 1, None),
    Entry::quadratic("sgd-sde", 1, 1, None),
    Entry::quadratic("adam-sde", 1, 1, None),
    Entry::quadratic("dcsgd", 16, 4, Some(4)),
    Entry::quadratic("dsignsgd", 16, 4, None),
    Entry::on("sgd-sde", 16, Landscape::Dense),
    Entry::on("signsgd-sde", 1, Landscape::DoubleWell),
    Entry::on("adam", 32, Landscape::Rosenbrock),
    Entry::on("sgd-sde", 4, Landscape::QuadraticFormula),
];

/// Entries outside the fixed suite, timed only when `--only` names them: `adam-sde` at d = 16
/// (issue 3's second adaptive size; `benches/throughput.rs` has it too), the built-in
/// quadratic at d = 4, the reference of the formula entry `sgd-sde-d4-formula`, and issue 25's
/// regression entries at d = 256: `signsgd` on sampled data and `sgd-sde` with the
/// state-dependent diffusion, d + 1 normals per path-step each.
pub const EXTRA: [Entry; 4] = [
    Entry::quadratic("adam-sde", 16, 1, None),
    Entry::quadratic("sgd-sde", 4, 1, None),
    Entry::on("signsgd", 256, Landscape::Regression),
    Entry::on("sgd-sde", 256, Landscape::Regression),
];

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

/// The experiment of an entry, built from TOML text and validated like a file. Without the
/// covariance's pair sums (`cov = false`), so that the coupled landscapes time the same loop as
/// their Python baselines, which keep no covariance.
pub fn experiment(e: &Entry, sizes: Sizes) -> Result<Experiment> {
    let agents = if e.agents > 1 { format!("agents = {}", e.agents) } else { String::new() };
    let compressor = e.randk.map(|k| format!("[compressor]\nname = \"rand-k\"\nk = {k}")).unwrap_or_default();
    let (objective, range) = e.landscape.objective(e.dim);
    let toml = format!(
        r#"
name = "bench-{key}"
[model]
name = "{model}"
eta = 1e-3
{agents}
{compressor}
[objective]
{objective}
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
range = {range}
cov = false
"#,
        model = e.model,
        key = e.key(),
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
