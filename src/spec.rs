//! The experiment file: TOML (or the same structure in JSON) -> validated [`Experiment`].
//!
//! Every check lives here (STYLE habit 9): once an [`Experiment`] exists its fields are known
//! good, and downstream code never re-checks them.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::Error;

/// Paths per statistics batch and per GPU workgroup. Batches are keyed by global path index
/// (`path / BATCH`), so standard errors do not depend on chunking or backend.
pub const BATCH: u64 = 256;
/// Largest supported dimension (per-path state lives in registers / private arrays).
pub const MAX_DIM: usize = 256;
/// Largest number of histogram bins.
pub const MAX_BINS: u32 = 1 << 16;

/// Which optimizer or SDE a run simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// SGD SDE, spec §2 (b) with N = 1.
    SgdSde,
    /// Discrete SGD with sampled noisy gradients, spec §2 (a).
    Sgd,
    /// SignSGD SDE, Gaussian diagonal noise, spec §3.2 (P1 Cor 3.3).
    SignsgdSde,
    /// Discrete SignSGD, spec §3.1.
    Signsgd,
    /// Discrete RMSprop(W), spec §4.1.
    Rmsprop,
    /// Discrete Adam(W), spec §4.1.
    Adam,
    /// RMSprop(W) SDE of P1, spec §4.2 (t = kη).
    RmspropSde,
    /// Adam(W) SDE of P1, spec §4.2 (t = kη).
    AdamSde,
    /// RMSprop SDE of Malladi et al. (P7), spec §5 (t = kη²).
    RmspropMalladiSde,
    /// Adam SDE of Malladi et al. (P7), spec §5 (t = kη²).
    AdamMalladiSde,
    /// Distributed SGD with N agents, spec §2 (a).
    Dsgd,
    /// Its SDE, spec §2 (b).
    DsgdSde,
    /// Distributed SignSGD (server averages the agents' signs), spec §6.1.
    Dsignsgd,
    /// Its SDE, spec §6.2.
    DsignsgdSde,
    /// Distributed compressed SGD (unbiased compressor per agent), spec §6.1.
    Dcsgd,
    /// Its SDE with the exact compressor covariance, spec §6.2–6.3.
    DcsgdSde,
}

impl ModelKind {
    /// All models.
    pub const ALL: [ModelKind; 16] = [
        Self::SgdSde,
        Self::Sgd,
        Self::SignsgdSde,
        Self::Signsgd,
        Self::Rmsprop,
        Self::Adam,
        Self::RmspropSde,
        Self::AdamSde,
        Self::RmspropMalladiSde,
        Self::AdamMalladiSde,
        Self::Dsgd,
        Self::DsgdSde,
        Self::Dsignsgd,
        Self::DsignsgdSde,
        Self::Dcsgd,
        Self::DcsgdSde,
    ];

    /// The name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::SgdSde => "sgd-sde",
            Self::Sgd => "sgd",
            Self::SignsgdSde => "signsgd-sde",
            Self::Signsgd => "signsgd",
            Self::Rmsprop => "rmsprop",
            Self::Adam => "adam",
            Self::RmspropSde => "rmsprop-sde",
            Self::AdamSde => "adam-sde",
            Self::RmspropMalladiSde => "rmsprop-malladi-sde",
            Self::AdamMalladiSde => "adam-malladi-sde",
            Self::Dsgd => "dsgd",
            Self::DsgdSde => "dsgd-sde",
            Self::Dsignsgd => "dsignsgd",
            Self::DsignsgdSde => "dsignsgd-sde",
            Self::Dcsgd => "dcsgd",
            Self::DcsgdSde => "dcsgd-sde",
        }
    }

    /// Whether the model is an SDE (integrated by Euler–Maruyama with `refine` substeps).
    pub fn is_sde(self) -> bool {
        matches!(
            self,
            Self::SgdSde
                | Self::SignsgdSde
                | Self::RmspropSde
                | Self::AdamSde
                | Self::DsgdSde
                | Self::DsignsgdSde
                | Self::DcsgdSde
        ) || self.is_malladi()
    }

    /// The SDEs of Malladi et al. (P7): time t = kη² per optimizer step.
    pub fn is_malladi(self) -> bool {
        matches!(self, Self::RmspropMalladiSde | Self::AdamMalladiSde)
    }

    /// Distributed (key `agents`).
    pub fn is_distributed(self) -> bool {
        matches!(self, Self::Dsgd | Self::DsgdSde | Self::Dsignsgd | Self::DsignsgdSde | Self::Dcsgd | Self::DcsgdSde)
    }

    /// Distributed compressed SGD (table `[compressor]`).
    pub fn is_compressed(self) -> bool {
        matches!(self, Self::Dcsgd | Self::DcsgdSde)
    }

    /// The sign methods (their SDEs use the noise's CDF, not its variance).
    pub fn is_sign(self) -> bool {
        matches!(self, Self::SignsgdSde | Self::Signsgd | Self::DsignsgdSde | Self::Dsignsgd)
    }

    /// SDEs driven by the gradient-noise covariance (SGD-type and adaptive): they need a
    /// finite noise variance.
    pub fn needs_variance(self) -> bool {
        self.is_sde() && !self.is_sign()
    }

    /// RMSprop-type (one EMA, key `beta`).
    pub fn is_rmsprop(self) -> bool {
        matches!(self, Self::Rmsprop | Self::RmspropSde | Self::RmspropMalladiSde)
    }

    /// Adam-type (two EMAs, keys `beta1`, `beta2`).
    pub fn is_adam(self) -> bool {
        matches!(self, Self::Adam | Self::AdamSde | Self::AdamMalladiSde)
    }

    /// The kernel that runs the model, injected into the shader as `MODEL`: the P7 SDEs run
    /// on the P1 kernels with their own coefficients (see `crate::model::adaptive`). The
    /// compressed models' kernel also depends on the compressor: see
    /// [`crate::kernel::Kernel::of`], which callers should use.
    pub fn id(self) -> u32 {
        match self {
            Self::SgdSde => 0,
            Self::Sgd => 1,
            Self::SignsgdSde => 2,
            Self::Signsgd => 3,
            Self::Rmsprop => 4,
            Self::Adam => 5,
            Self::RmspropSde | Self::RmspropMalladiSde => 6,
            Self::AdamSde | Self::AdamMalladiSde => 7,
            // The distributed SDEs are the single-agent SDEs with noise scaled by 1/√N.
            Self::DsgdSde => 0,
            Self::DsignsgdSde => 2,
            Self::Dsgd => 8,
            Self::Dsignsgd => 9,
            Self::Dcsgd => 10,
            Self::DcsgdSde => 11,
        }
    }

    /// State words per coordinate: x, then the EMAs (Adam: m, v; RMSprop: v).
    pub fn slots(self) -> usize {
        if self.is_adam() {
            3
        } else if self.is_rmsprop() {
            2
        } else {
            1
        }
    }

    /// Model time per optimizer step: η (P1 and SGD/SignSGD SDEs), η² (P7), 1 for the
    /// discrete optimizers' reports (t = kη there too, for side-by-side plots).
    pub fn time_per_step(self, eta: f64) -> f64 {
        if self.is_malladi() { eta * eta } else { eta }
    }
}

/// How the Adam SDE treats P1's ηρ₁(∇f − M) drift correction (spec §4.2, "Pitfall").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// The correction with its correlated noise companion (choice b): consistent.
    Consistent,
    /// The drift correction alone: biases the stationary variance low (×0.81 at β₁ = 0.9).
    DriftOnly,
    /// No correction (choice a).
    None,
}

/// Parameters of the adaptive family (RMSprop: `beta1` = 0 and `beta2` = `beta`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Adaptive {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub correction: Correction,
}

/// The landscape f.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Objective {
    /// f(x) = ½ Σ h_i (x_i − c_i)², diagonal Hessian.
    Quadratic { h: Vec<f64>, center: Vec<f64> },
}

/// The gradient-noise model: g = ∇f(x) + Z (spec §1.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Noise {
    /// Z ~ N(0, diag(σ²)).
    Gaussian { sigma: Vec<f64> },
    /// Z_i = scale_i T_i, T_i ~ t(ν_i) independent; `scale` is not a standard deviation:
    /// Var Z_i = scale_i² ν_i/(ν_i − 2) for ν_i > 2, infinite otherwise.
    StudentT { nu: Vec<f64>, scale: Vec<f64> },
}

impl Noise {
    /// The scale of coordinate i (σ_i, or the Student-t scale).
    pub fn scale(&self, i: usize) -> f64 {
        match self {
            Noise::Gaussian { sigma } => sigma[i],
            Noise::StudentT { scale, .. } => scale[i],
        }
    }
    /// The standard deviation of coordinate i (infinite for Student-t with ν ≤ 2).
    pub fn std_dev(&self, i: usize) -> f64 {
        match self {
            Noise::Gaussian { sigma } => sigma[i],
            Noise::StudentT { nu, scale } if nu[i] > 2.0 => scale[i] * (nu[i] / (nu[i] - 2.0)).sqrt(),
            Noise::StudentT { .. } => f64::INFINITY,
        }
    }
    /// ν of coordinate i (None for Gaussian noise).
    pub fn nu(&self, i: usize) -> Option<f64> {
        match self {
            Noise::Gaussian { .. } => None,
            Noise::StudentT { nu, .. } => Some(nu[i]),
        }
    }
}

/// Unbiased compressors of DCSGD (spec §6.3): E C(v) = v, E‖C(v) − v‖² ≤ ω‖v‖².
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Compressor {
    /// C(v) = v (ω = 0).
    Identity,
    /// Keep each coordinate with probability p independently, scaled by 1/p (ω = 1/p − 1).
    Bernoulli { p: f64 },
    /// Keep a uniformly random k-subset, scaled by d/k (ω = d/k − 1).
    RandK { k: u32 },
    /// Random dithering with s levels, ℓ2 norm (QSGD; ω = min(d/s², √d/s)).
    Qsgd { levels: u32 },
    /// Natural compression: stochastic rounding of |v_j| to a power of two (ω = 1/8).
    Natural,
}

impl Compressor {
    /// The names used in experiment files.
    pub const NAMES: [&'static str; 5] = ["identity", "bernoulli", "rand-k", "qsgd", "natural"];

    /// The variance parameter ω in dimension d.
    pub fn omega(&self, d: usize) -> f64 {
        let d = d as f64;
        match *self {
            Compressor::Identity => 0.0,
            Compressor::Bernoulli { p } => 1.0 / p - 1.0,
            Compressor::RandK { k } => d / f64::from(k) - 1.0,
            Compressor::Qsgd { levels } => {
                let s = f64::from(levels);
                (d / (s * s)).min(d.sqrt() / s)
            }
            Compressor::Natural => 0.125,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Compressor::Identity => "identity",
            Compressor::Bernoulli { .. } => "bernoulli",
            Compressor::RandK { .. } => "rand-k",
            Compressor::Qsgd { .. } => "qsgd",
            Compressor::Natural => "natural",
        }
    }
    /// Whether its covariance Ω_C(v) has the closed form the SDE uses (spec §6.3).
    pub fn has_sde(&self) -> bool {
        matches!(self, Compressor::Identity | Compressor::Bernoulli { .. } | Compressor::RandK { .. })
    }
}

/// Where the run executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU (saying so on stderr).
    Auto,
    /// The GPU; an error when no adapter exists.
    Gpu,
    /// The CPU backend.
    Cpu,
}

/// Histogram range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistRange {
    /// Fixed at `stationary.start` from the measured spread of a pilot ensemble.
    Auto,
    /// The same `[lo, hi]` for every coordinate (lo < hi, both finite).
    Fixed { lo: f64, hi: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSpec {
    pub name: ModelKind,
    /// Learning rate η > 0; SDE time t = k η.
    pub eta: f64,
    /// RMSprop/Adam parameters (absent for SGD and SignSGD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<Adaptive>,
    /// Number of agents N (1 for the single-agent models).
    pub agents: u32,
    /// The compressor of `dcsgd`/`dcsgd-sde` (identity for every other model).
    pub compressor: Compressor,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSpec {
    pub paths: u64,
    /// Optimizer steps.
    pub steps: u64,
    /// Euler–Maruyama substeps per optimizer step (SDE models; 1 for discrete ones).
    pub refine: u32,
    pub seed: u64,
    pub backend: BackendChoice,
    /// Paths per chunk (a multiple of [`BATCH`]); `None` lets the backend choose.
    pub chunk: Option<u64>,
    /// A path diverges (is frozen and counted) when a coordinate has |x_i| > this bound or
    /// becomes non-finite.
    pub divergence_bound: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordSpec {
    /// Moments are recorded at step 0, every `every` steps, and at the last step.
    pub every: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StationarySpec {
    /// First optimizer step that contributes (0 <= start < steps).
    pub start: u64,
    /// Sample stride after `start`.
    pub every: u64,
    pub bins: u32,
    pub range: HistRange,
}

/// A validated experiment. All vectors have length `dim`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Experiment {
    pub name: String,
    pub dim: usize,
    pub model: ModelSpec,
    pub objective: Objective,
    pub noise: Noise,
    pub x0: Vec<f64>,
    pub run: RunSpec,
    pub record: RecordSpec,
    pub stationary: StationarySpec,
}

/// Command-line overrides applied before validation, so they are validated like file values.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub paths: Option<u64>,
    pub steps: Option<u64>,
    pub seed: Option<u64>,
    pub backend: Option<BackendChoice>,
}

// ---------------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------------

/// Built-in examples embedded in the binary: (name, one-line description, TOML text).
pub const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "sgd",
        "discrete SGD on the reference quadratic (spec §1.5); stationary E f = 3.575089e-3",
        include_str!("../examples/sgd.toml"),
    ),
    (
        "signsgd",
        "SignSGD SDE on the reference quadratic (spec §1.5); stationary E f ≈ 2.036635e-3",
        include_str!("../examples/signsgd.toml"),
    ),
    (
        "adamw",
        "the AdamW SDE (P1, theta = 5) on the reference quadratic; stationary E f = 4.841270e-4 (spec S6)",
        include_str!("../examples/adamw.toml"),
    ),
    (
        "dcsgd",
        "distributed compressed SGD (rand-k, N = 4) on spec §6.4's d = 8 quadratic; stationary E f = 7.291682e-3 (spec T3)",
        include_str!("../examples/dcsgd.toml"),
    ),
    (
        "heavy-tails",
        "distributed SignSGD under Student-t noise with nu = 1.5 (infinite variance); stationary E f = 5.961378e-4",
        include_str!("../examples/heavy-tails.toml"),
    ),
];

/// Parses and validates the built-in example `name` (see [`EXAMPLES`]).
pub fn example(name: &str, overrides: &Overrides) -> crate::error::Result<Experiment> {
    match EXAMPLES.iter().find(|(n, _, _)| *n == name) {
        Some((n, _, text)) => Experiment::from_str(text, "toml", &format!("example {n}"), n, overrides),
        None => Err(Error::UnknownExample {
            name: name.to_string(),
            available: EXAMPLES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// An experiment file's text, its format (TOML, or JSON by the `.json` extension), its path for
/// messages and its default name (the file stem).
struct SpecFile {
    text: String,
    format: &'static str,
    origin: String,
    name: String,
}

impl SpecFile {
    fn read(path: &Path) -> crate::error::Result<SpecFile> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "cannot read experiment file",
            path: path.to_path_buf(),
            source,
        })?;
        let is_json = path.extension().is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("json"));
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Ok(SpecFile {
            text,
            format: if is_json { "json" } else { "toml" },
            origin: path.display().to_string(),
            name: name.unwrap_or_else(|| "experiment".to_string()),
        })
    }
}

impl Experiment {
    /// Read a file (TOML, or JSON when the extension is .json), apply overrides, validate.
    /// `name` defaults to the file stem.
    pub fn load(path: &Path, overrides: &Overrides) -> crate::error::Result<Experiment> {
        let f = SpecFile::read(path)?;
        Self::from_str(&f.text, f.format, &f.origin, &f.name, overrides)
    }

    /// Parse from text. `format_hint` is "toml" or "json"; `origin` is used in messages (file
    /// path or "example sgd"); `name` is the run name unless the text sets one.
    ///
    /// Conventions beyond the documented format:
    /// * integer fields also accept floats that are exact integers (`paths = 1e6`); other
    ///   floats (`1.5`, `nan`) are rejected with the field's valid range;
    /// * number fields accept integers (`h = [1, 2, 5, 10]`);
    /// * an array is a per-coordinate vector whatever its length (`[0.5]` has length 1 and
    ///   does not broadcast); only a bare number broadcasts;
    /// * in JSON, `null` is the same as leaving the key out, and duplicate keys are an error.
    pub fn from_str(
        text: &str,
        format_hint: &str,
        origin: &str,
        name: &str,
        overrides: &Overrides,
    ) -> crate::error::Result<Experiment> {
        let root = Self::root(text, format_hint, origin, overrides)?;
        validate(&root, origin, name)
    }

    /// Parse text (as [`Experiment::from_str`]) into the untyped document, overrides applied.
    fn root(text: &str, format_hint: &str, origin: &str, overrides: &Overrides) -> crate::error::Result<Val> {
        let mut root = match format_hint {
            "toml" => toml::from_str::<Val>(text).map_err(|e| Error::Syntax {
                path: origin.to_string(),
                message: e.to_string().trim_end().to_string(),
            })?,
            "json" => serde_json::from_str::<Val>(text).map_err(|e| {
                let mut message = e.to_string();
                if !message.contains(" line ") {
                    message = format!("{message} at line {} column {}", e.line(), e.column());
                }
                Error::Syntax { path: origin.to_string(), message }
            })?,
            other => {
                return Err(Error::UnknownName {
                    field: "format".into(),
                    value: other.into(),
                    valid: "toml, json".into(),
                });
            }
        };
        if !matches!(root, Val::Table(_)) {
            return Err(Error::Syntax {
                path: origin.to_string(),
                message: format!("the top level must be a table/object, found {root}"),
            });
        }
        apply_overrides(&mut root, overrides);
        Ok(root)
    }

    /// Total optimizer-steps times paths (for progress).
    pub fn path_steps(&self) -> u128 {
        self.run.paths as u128 * self.run.steps as u128
    }
}

// ---------------------------------------------------------------------------------------------
// Sweeps: a `[sweep]` table turns a file into a study of several experiments.
// ---------------------------------------------------------------------------------------------

/// The sweepable parameters: (key, table). A key may also be written dotted (`model.eta`).
/// Each changes only coefficients, never the kernel or the path layout, so all points of a sweep
/// run in the same launches.
pub const SWEEP_KEYS: &[(&str, &str)] = &[
    ("eta", "model"),
    ("beta", "model"),
    ("beta1", "model"),
    ("beta2", "model"),
    ("eps", "model"),
    ("weight_decay", "model"),
    ("sigma", "noise"),
    ("nu", "noise"),
    ("scale", "noise"),
    ("p", "compressor"),
    ("k", "compressor"),
    ("levels", "compressor"),
    ("h", "objective"),
    ("center", "objective"),
    ("x0", "init"),
];
/// Largest number of points in one sweep.
pub const MAX_SWEEP_POINTS: usize = 4096;

/// One axis of a sweep: the parameter (as `table.key`) and its values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<f64>,
}

/// One grid point: the axis values (in axis order) and the validated experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub values: Vec<f64>,
    pub exp: Experiment,
}

/// A study: one experiment, or the grid of a `[sweep]` (first axis slowest).
#[derive(Clone, Debug, PartialEq)]
pub struct Study {
    pub axes: Vec<Axis>,
    pub points: Vec<Point>,
}

impl Study {
    /// Read a file (as [`Experiment::load`]); a `[sweep]` table makes it a grid.
    pub fn load(path: &Path, overrides: &Overrides) -> crate::error::Result<Study> {
        let f = SpecFile::read(path)?;
        Self::from_str(&f.text, f.format, &f.origin, &f.name, overrides)
    }

    /// A study of one experiment.
    pub fn single(exp: Experiment) -> Study {
        Study { axes: Vec::new(), points: vec![Point { values: Vec::new(), exp }] }
    }

    /// Parse and validate every grid point (each as a full experiment, so every point gets the
    /// ordinary checks), then check that the points can share launches.
    pub fn from_str(
        text: &str,
        format_hint: &str,
        origin: &str,
        name: &str,
        overrides: &Overrides,
    ) -> crate::error::Result<Study> {
        let mut root = Experiment::root(text, format_hint, origin, overrides)?;
        let Val::Table(entries) = &mut root else { unreachable!("root() checks it") };
        let Some(pos) = entries.iter().position(|(k, _)| k == "sweep") else {
            return Ok(Study::single(validate(&root, origin, name)?));
        };
        let (_, sweep) = entries.remove(pos);
        let axes = sweep_axes(&sweep, origin)?;
        let n: usize = axes.iter().map(|a| a.values.len()).product();
        if n > MAX_SWEEP_POINTS {
            return Err(bad("sweep", &sweep, format!("has {n} grid points; at most {MAX_SWEEP_POINTS}")));
        }
        let mut points = Vec::with_capacity(n);
        for idx in 0..n {
            let mut rem = idx;
            let mut values = vec![0.0; axes.len()];
            for (j, a) in axes.iter().enumerate().rev() {
                values[j] = a.values[rem % a.values.len()];
                rem /= a.values.len();
            }
            let mut doc = root.clone();
            for (a, &v) in axes.iter().zip(&values) {
                let (table, key) = a.key.split_once('.').expect("axis keys are table.key");
                set_key(&mut doc, table, key, v);
            }
            let label =
                axes.iter().zip(&values).map(|(a, v)| format!("{} = {}", a.key, fmt_f64(*v))).collect::<Vec<_>>();
            let exp = validate(&doc, origin, name)
                .map_err(|e| Error::SweepPoint { point: label.join(", "), source: Box::new(e) })?;
            points.push(Point { values, exp });
        }
        let first = &points[0].exp;
        let k0 = crate::kernel::KernelConsts::new(first, first.stationary.bins);
        for p in &points[1..] {
            let k = crate::kernel::KernelConsts::new(&p.exp, p.exp.stationary.bins);
            if k != k0 || p.exp.dim != first.dim {
                let label = axes.iter().zip(&p.values).map(|(a, v)| format!("{} = {}", a.key, fmt_value(*v)));
                return Err(bad(
                    "sweep",
                    &sweep,
                    format!(
                        "needs a different kernel at {} than at the first point (e.g. rand-k with k = d is the \
                         identity compressor); sweep points must share the kernel: split the sweep",
                        label.collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if n > 1 {
            let paths = first.run.paths;
            if paths % BATCH != 0 {
                return Err(Error::invalid(
                    "run.paths",
                    paths,
                    format!("must be a multiple of {BATCH} in a sweep (each point owns whole workgroups)"),
                ));
            }
            if paths.saturating_mul(n as u64) > u64::from(u32::MAX) {
                return Err(Error::invalid(
                    "run.paths",
                    paths,
                    format!("times the {n} sweep points must stay below 2^32 paths; split the sweep"),
                ));
            }
        }
        Ok(Study { axes, points })
    }
}

/// The axes of a `[sweep]` table: `key = [v, ...]` or `key = { log = [lo, hi], points = n }`
/// (geometric) or `key = { linear = [lo, hi], points = n }`.
fn sweep_axes(sweep: &Val, origin: &str) -> crate::error::Result<Vec<Axis>> {
    let Val::Table(entries) = sweep else {
        return Err(bad("sweep", sweep, "must be a table of parameter = [values] or { log = [lo, hi], points = n }"));
    };
    if entries.is_empty() {
        return Err(bad("sweep", sweep, "must name at least one parameter"));
    }
    let valid = SWEEP_KEYS.iter().map(|(k, t)| format!("{k} ({t}.{k})")).collect::<Vec<_>>().join(", ");
    // TOML writes `model.eta = [...]` as a nested table: flatten those to dotted keys.
    let mut flat: Vec<(String, &Val)> = Vec::new();
    for (key, v) in entries {
        match v {
            Val::Table(inner) if SWEEP_KEYS.iter().any(|(_, t)| t == key) => {
                flat.extend(inner.iter().map(|(k, x)| (format!("{key}.{k}"), x)));
            }
            _ => flat.push((key.clone(), v)),
        }
    }
    let mut axes: Vec<Axis> = Vec::new();
    for (key, v) in flat {
        let key = &key;
        let (table, field) = match key.split_once('.') {
            Some((t, k)) => (t, k),
            None => match SWEEP_KEYS.iter().find(|(k, _)| k == key) {
                Some((k, t)) => (*t, *k),
                None => ("", key.as_str()),
            },
        };
        if !SWEEP_KEYS.iter().any(|(k, t)| *k == field && *t == table) {
            return Err(Error::UnknownKey { path: origin.to_string(), key: format!("sweep.{key}"), valid });
        }
        let full = format!("{table}.{field}");
        if axes.iter().any(|a| a.key == full) {
            return Err(bad(&format!("sweep.{key}"), v, format!("repeats the parameter {full}")));
        }
        let field_name = format!("sweep.{key}");
        let values = match v {
            Val::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, x)| match x.as_f64() {
                    Some(f) if f.is_finite() => Ok(f),
                    _ => Err(bad(&format!("{field_name}[{i}]"), x, "must be a finite number")),
                })
                .collect::<crate::error::Result<Vec<f64>>>()?,
            Val::Table(t) => {
                let spec = Table { origin, prefix: "sweep", entries: t };
                let kind = if t.iter().any(|(k, _)| k == "log") { "log" } else { "linear" };
                spec.check_keys(&[kind, "points"]).map_err(|_| {
                    bad(&field_name, v, "must be { log = [lo, hi], points = n } or { linear = [lo, hi], points = n }")
                })?;
                let range = match t.iter().find(|(k, _)| k == kind).map(|(_, r)| r) {
                    Some(Val::Array(r)) if r.len() == 2 => (r[0].as_f64(), r[1].as_f64()),
                    _ => (None, None),
                };
                let (Some(lo), Some(hi)) = range else {
                    return Err(bad(&field_name, v, format!("needs {kind} = [lo, hi], two finite numbers")));
                };
                if !(lo.is_finite() && hi.is_finite()) || (kind == "log" && (lo <= 0.0 || hi <= 0.0)) {
                    return Err(bad(
                        &field_name,
                        v,
                        format!(
                            "needs {kind} = [lo, hi] with finite bounds{}",
                            if kind == "log" { " > 0 (a log range must be positive)" } else { "" }
                        ),
                    ));
                }
                let points = match t.iter().find(|(k, _)| k == "points").map(|(_, p)| p) {
                    Some(p) => match p.as_int() {
                        Some(n) if (2..=MAX_SWEEP_POINTS as i128).contains(&n) => n as usize,
                        _ => {
                            return Err(bad(
                                &format!("{field_name}.points"),
                                p,
                                format!("must be an integer >= 2 and <= {MAX_SWEEP_POINTS}"),
                            ));
                        }
                    },
                    None => return Err(bad(&field_name, v, "needs points = n (an integer >= 2)")),
                };
                (0..points)
                    .map(|j| {
                        let u = j as f64 / (points - 1) as f64;
                        if kind == "log" { (lo.ln() + u * (hi.ln() - lo.ln())).exp() } else { lo + u * (hi - lo) }
                    })
                    .collect()
            }
            _ => {
                return Err(bad(
                    &field_name,
                    v,
                    "must be a non-empty list of numbers, or { log = [lo, hi], points = n }, or { linear = [lo, hi], points = n }",
                ));
            }
        };
        axes.push(Axis { key: full, values });
    }
    Ok(axes)
}

/// A swept value as the file would write it (integers without a fraction).
fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { fmt_f64(v) }
}

/// Set `table.key = v` in the document (creating the table when absent).
fn set_key(doc: &mut Val, table: &str, key: &str, v: f64) {
    let Val::Table(entries) = doc else { return };
    let t = match entries.iter().position(|(k, _)| k == table) {
        Some(i) => &mut entries[i].1,
        None => {
            entries.push((table.to_string(), Val::Table(Vec::new())));
            &mut entries.last_mut().expect("just pushed").1
        }
    };
    // A non-table is left alone so that validation reports it.
    let Val::Table(fields) = t else { return };
    let val = if v.fract() == 0.0 && v.abs() < 1e15 { Val::Int(v as i128) } else { Val::Float(v) };
    // Integer-valued keys (k, levels) need an integer; every number field accepts one.
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = val,
        None => fields.push((key.to_string(), val)),
    }
}

impl BackendChoice {
    /// All choices, in the order listed in messages.
    pub const ALL: [BackendChoice; 3] = [Self::Auto, Self::Gpu, Self::Cpu];

    /// The name used in experiment files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        }
    }

    fn parse_as(s: &str, field: &str) -> crate::error::Result<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| Error::UnknownName {
            field: field.to_string(),
            value: s.to_string(),
            valid: names(Self::ALL.map(Self::name)),
        })
    }
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse_as(s, "backend")
    }
}

// ---------------------------------------------------------------------------------------------
// The untyped document: both formats deserialize into `Val`, and all checks walk it, so TOML
// and JSON get the same messages (field path, value as written, valid range).
// ---------------------------------------------------------------------------------------------

/// A parsed TOML/JSON value, keys in file order.
#[derive(Clone, Debug)]
enum Val {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// A TOML date/time (never valid here; kept so the message can show it).
    Datetime(String),
    Array(Vec<Val>),
    Table(Vec<(String, Val)>),
}

/// The key under which toml's deserializer hands over a date/time.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";
/// How many array elements / table entries a message shows before "...".
const SHOW_MAX: usize = 8;

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("null"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => f.write_str(&fmt_f64(*x)),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Datetime(s) => f.write_str(s),
            Val::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().take(SHOW_MAX).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                if items.len() > SHOW_MAX {
                    write!(f, ", ... ({} elements)", items.len())?;
                }
                f.write_str("]")
            }
            Val::Table(entries) => {
                f.write_str("{ ")?;
                for (i, (k, v)) in entries.iter().take(SHOW_MAX).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                if entries.len() > SHOW_MAX {
                    f.write_str(", ...")?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// Floats as TOML writes them (`nan`, `inf`), otherwise the shortest round-trip form.
fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML/JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val, D::Error> {
        Val::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val, E> {
        Ok(Val::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
        Ok(Val::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
        Ok(Val::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Val, E> {
        Ok(Val::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Val, E> {
        i128::try_from(v).map(Val::Int).map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
        Ok(Val::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
        Ok(Val::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val, E> {
        Ok(Val::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Val>()? {
            items.push(v);
        }
        Ok(Val::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        let mut entries: Vec<(String, Val)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Val>()?;
            if key == TOML_DATETIME_KEY {
                return Ok(Val::Datetime(match value {
                    Val::Str(s) => s,
                    other => other.to_string(),
                }));
            }
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            entries.push((key, value));
        }
        Ok(Val::Table(entries))
    }
}

impl Val {
    fn as_f64(&self) -> Option<f64> {
        match *self {
            Val::Int(i) => Some(i as f64),
            Val::Float(x) => Some(x),
            _ => None,
        }
    }

    /// Integers, and floats that are exact integers (`1e6`).
    fn as_int(&self) -> Option<i128> {
        match *self {
            Val::Int(i) => Some(i),
            Val::Float(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e30 => Some(x as i128),
            _ => None,
        }
    }
}

/// Overrides replace (or add) keys of `[run]` before anything is checked.
fn apply_overrides(root: &mut Val, o: &Overrides) {
    let Val::Table(entries) = root else { return };
    let mut set = Vec::new();
    if let Some(p) = o.paths {
        set.push(("paths", Val::Int(p.into())));
    }
    if let Some(s) = o.steps {
        set.push(("steps", Val::Int(s.into())));
    }
    if let Some(s) = o.seed {
        set.push(("seed", Val::Int(s.into())));
    }
    if let Some(b) = o.backend {
        set.push(("backend", Val::Str(b.name().to_string())));
    }
    if set.is_empty() {
        return;
    }
    let run = match entries.iter().position(|(k, _)| k == "run") {
        Some(i) => &mut entries[i].1,
        None => {
            entries.push(("run".to_string(), Val::Table(Vec::new())));
            &mut entries.last_mut().expect("just pushed").1
        }
    };
    // A non-table `run` is left alone so that validation reports it.
    let Val::Table(run) = run else { return };
    for (key, val) in set {
        match run.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = val,
            None => run.push((key.to_string(), val)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation. Every message is built by `bad` (Error::Invalid: field, value, expected),
// `missing` or `unknown_name`, so all checks read the same.
// ---------------------------------------------------------------------------------------------

const TOP_KEYS: &[&str] =
    &["name", "model", "objective", "noise", "compressor", "init", "run", "record", "stationary", "sweep"];
const MODEL_KEYS: &[&str] = &["name", "eta", "beta", "beta1", "beta2", "eps", "weight_decay", "correction", "agents"];
/// Largest `model.agents`.
pub const MAX_AGENTS: u32 = 4096;
const OBJECTIVE_KEYS: &[&str] = &["name", "h", "center", "dim"];
const NOISE_KEYS: &[&str] = &["name", "sigma", "nu", "scale"];
const COMPRESSOR_KEYS: &[&str] = &["name", "p", "k", "levels"];
const INIT_KEYS: &[&str] = &["x0"];
const RUN_KEYS: &[&str] = &["paths", "steps", "refine", "seed", "backend", "chunk", "divergence_bound"];
const RECORD_KEYS: &[&str] = &["every"];
const STATIONARY_KEYS: &[&str] = &["start", "every", "bins", "range"];

const OBJECTIVE_NAMES: &[&str] = &["quadratic"];
const NOISE_NAMES: &[&str] = &["gaussian", "student-t"];
/// Smallest Student-t ν the samplers support: below it f32 samples would saturate (see
/// [`crate::noise::student_t`]).
pub const MIN_NU: f64 = 0.5;
/// Smallest ν of the sign SDEs' tabulated CDF (spec §13.3: Hermite interpolation fails below 1).
pub const MIN_NU_SIGN_SDE: f64 = 1.0;
/// Default `run.divergence_bound` (capped so the loss stays below [`MAX_LOSS_AT_BOUND`]).
pub const DEFAULT_DIVERGENCE_BOUND: f64 = 1e6;
/// Largest loss a live path may reach: per-workgroup moment sums are f32, and the squared loss
/// of 256 paths must stay finite (256 × (1e17)² < 3.4e38).
pub const MAX_LOSS_AT_BOUND: f64 = 1e17;

/// Largest `run.paths` (and `run.chunk`): 2^40.
const MAX_PATHS: u64 = 1 << 40;
/// Largest `run.refine`.
const MAX_REFINE: u32 = 1 << 16;

fn names(list: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    list.into_iter().map(|s| s.as_ref().to_string()).collect::<Vec<_>>().join(", ")
}

fn bad(field: &str, value: &Val, expected: impl Into<String>) -> Error {
    Error::invalid(field, value, expected)
}

fn missing(origin: &str, key: &str, expected: impl Into<String>) -> Error {
    Error::Missing { path: origin.to_string(), key: key.to_string(), expected: expected.into() }
}

/// One table of the document, with its dotted prefix for messages.
struct Table<'a> {
    origin: &'a str,
    prefix: &'static str,
    entries: &'a [(String, Val)],
}

impl<'a> Table<'a> {
    fn field(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_string() } else { format!("{}.{key}", self.prefix) }
    }

    /// The value of `key`; JSON `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Val> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| !matches!(v, Val::Null))
    }

    fn require(&self, key: &str, expected: &str) -> crate::error::Result<&'a Val> {
        self.get(key).ok_or_else(|| missing(self.origin, &self.field(key), expected))
    }

    fn check_keys(&self, valid: &[&str]) -> crate::error::Result<()> {
        match self.entries.iter().find(|(k, _)| !valid.contains(&k.as_str())) {
            Some((key, _)) => {
                Err(Error::UnknownKey { path: self.origin.to_string(), key: self.field(key), valid: names(valid) })
            }
            None => Ok(()),
        }
    }

    /// The sub-table `key` (`[key]`); `None` when absent.
    fn sub(&self, key: &'static str, valid: &[&str]) -> crate::error::Result<Option<Table<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Table(entries)) => {
                let t = Table { origin: self.origin, prefix: key, entries };
                t.check_keys(valid)?;
                Ok(Some(t))
            }
            Some(v) => Err(bad(key, v, format!("must be a table with keys: {}", names(valid)))),
        }
    }

    fn require_sub(&self, key: &'static str, valid: &[&str]) -> crate::error::Result<Table<'a>> {
        self.sub(key, valid)?
            .ok_or_else(|| missing(self.origin, key, format!("a table [{key}] with keys: {}", names(valid))))
    }

    /// A string that must be one of `valid`.
    fn name_of(&self, valid: &[&str]) -> crate::error::Result<&'a str> {
        let field = self.field("name");
        let v = self.require("name", &format!("one of: {}", names(valid)))?;
        let Val::Str(s) = v else {
            return Err(bad(&field, v, format!("must be a string, one of: {}", names(valid))));
        };
        if valid.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(Error::UnknownName { field, value: s.clone(), valid: names(valid) })
        }
    }

    /// A finite number satisfying `ok`; `expected` describes the valid range.
    fn real(&self, key: &str, ok: impl Fn(f64) -> bool, expected: &str) -> crate::error::Result<Option<f64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_f64() {
            Some(x) if x.is_finite() && ok(x) => Ok(Some(x)),
            _ => Err(bad(&self.field(key), v, expected)),
        }
    }

    /// An integer in `lo..=hi` (exact-integer floats accepted); `expected` describes the range.
    fn int(&self, key: &str, lo: i128, hi: i128, expected: &str) -> crate::error::Result<Option<i128>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_int() {
            Some(i) if (lo..=hi).contains(&i) => Ok(Some(i)),
            _ => Err(bad(&self.field(key), v, expected)),
        }
    }

    /// A number (broadcast) or an array of numbers, each finite and satisfying `ok`.
    fn coords(&self, key: &str, ok: impl Fn(f64) -> bool, expected: &str) -> crate::error::Result<Option<Coords>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let field = self.field(key);
        let check = |v: &Val, field: &str| match v.as_f64() {
            Some(x) if x.is_finite() && ok(x) => Ok(x),
            _ => Err(bad(field, v, expected)),
        };
        match v {
            Val::Array(items) if items.is_empty() => Err(bad(
                &field,
                v,
                format!(
                    "must be a number or a non-empty array of numbers; each {}",
                    expected.trim_start_matches("must be ")
                ),
            )),
            Val::Array(items) => {
                let xs = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| check(x, &format!("{field}[{i}]")))
                    .collect::<crate::error::Result<Vec<f64>>>()?;
                Ok(Some(Coords { field, val: v.clone(), xs, vector: true }))
            }
            _ => Ok(Some(Coords { field: field.clone(), val: v.clone(), xs: vec![check(v, &field)?], vector: false })),
        }
    }
}

/// A per-coordinate field as written: one number (broadcast) or a vector.
struct Coords {
    field: String,
    val: Val,
    xs: Vec<f64>,
    vector: bool,
}

impl Coords {
    fn scalar(field: &str, x: f64) -> Coords {
        Coords { field: field.to_string(), val: Val::Float(x), xs: vec![x], vector: false }
    }

    fn expand(self, dim: usize) -> Vec<f64> {
        if self.vector { self.xs } else { vec![self.xs[0]; dim] }
    }
}

fn validate(root: &Val, origin: &str, default_name: &str) -> crate::error::Result<Experiment> {
    let Val::Table(entries) = root else { unreachable!("checked by the caller") };
    let top = Table { origin, prefix: "", entries };
    top.check_keys(TOP_KEYS)?;
    if let Some(v) = top.get("sweep") {
        return Err(bad(
            "sweep",
            v,
            "makes this file a study of several experiments: load it with Study (`optsde run` does), \
             not as one Experiment",
        ));
    }

    let name = match top.get("name") {
        None => default_name.to_string(),
        Some(Val::Str(s)) if !s.trim().is_empty() => s.clone(),
        Some(v) => return Err(bad("name", v, "must be a non-empty string")),
    };

    // [model]
    let model_t = top.require_sub("model", MODEL_KEYS)?;
    let model_names = ModelKind::ALL.map(ModelKind::name);
    let kind_name = model_t.name_of(&model_names)?;
    let kind = ModelKind::ALL.into_iter().find(|m| m.name() == kind_name).expect("name_of checked it");
    model_t.check_keys(model_keys(kind))?;
    model_t.require("eta", "a finite number > 0")?;
    let eta = model_t.real("eta", |x| x > 0.0, "must be a finite number > 0")?.expect("required");
    let adaptive = adaptive_params(&model_t, kind)?;
    let agents_expected = format!("must be an integer >= 1 and <= {MAX_AGENTS} (MAX_AGENTS)");
    let agents = model_t.int("agents", 1, i128::from(MAX_AGENTS), &agents_expected)?.map_or(1, |n| n as u32);

    // [objective]
    let obj_t = top.require_sub("objective", OBJECTIVE_KEYS)?;
    obj_t.name_of(OBJECTIVE_NAMES)?;
    let dim_expected = format!("must be an integer >= 1 and <= {MAX_DIM} (MAX_DIM)");
    let fixed_dim = obj_t.int("dim", 1, MAX_DIM as i128, &dim_expected)?.map(|d| d as usize);
    obj_t.require("h", "the diagonal Hessian: a finite number > 0, or an array of them")?;
    let h = obj_t.coords("h", |x| x > 0.0, "must be a finite number > 0")?.expect("required");
    let center = obj_t.coords("center", |_| true, "must be a finite number")?;
    let center = center.unwrap_or_else(|| Coords::scalar("objective.center", 0.0));

    // [noise]
    let noise_t = top.require_sub("noise", NOISE_KEYS)?;
    let noise_name = noise_t.name_of(NOISE_NAMES)?;
    let student = noise_name == "student-t";
    noise_t.check_keys(if student { &["name", "nu", "scale"] } else { &["name", "sigma"] })?;
    let sign_sde = kind == ModelKind::SignsgdSde || kind == ModelKind::DsignsgdSde;
    let scale_key = if student { "scale" } else { "sigma" };
    noise_t.require(scale_key, "the noise scales: a finite number >= 0, or an array of them")?;
    let scale = if sign_sde {
        let expected = if student {
            "must be a finite number > 0 for the sign SDEs signsgd-sde and dsignsgd-sde \
             (their drift 2F_nu(g / scale) - 1 is undefined at scale = 0; \
             the optimizers signsgd and dsignsgd allow scale = 0)"
        } else {
            "must be a finite number > 0 for the sign SDEs signsgd-sde and dsignsgd-sde \
             (their drift erf(g / (sqrt(2) sigma)) is undefined at sigma = 0; \
             the optimizers signsgd and dsignsgd allow sigma = 0)"
        };
        noise_t.coords(scale_key, |x| x > 0.0, expected)?
    } else {
        noise_t.coords(scale_key, |x| x >= 0.0, "must be a finite number >= 0")?
    }
    .expect("required");
    let nu = if student {
        noise_t.require("nu", "the Student-t degrees of freedom: a finite number > 0, or an array of them")?;
        let nu = noise_t.coords("nu", |x| x > 0.0, "must be a finite number > 0 (degrees of freedom)")?;
        let nu = nu.expect("required");
        check_nu(&nu, kind)?;
        Some(nu)
    } else {
        None
    };
    // [init]
    let x0 = match top.sub("init", INIT_KEYS)? {
        Some(t) => t.coords("x0", |_| true, "must be a finite number")?,
        None => None,
    };
    let x0 = x0.unwrap_or_else(|| Coords::scalar("init.x0", 0.0));

    // The dimension: `objective.dim`, else the first vector's length; all vectors agree.
    let mut fields = vec![h, center, scale, x0];
    fields.extend(nu);
    let dim = match fixed_dim {
        Some(d) => {
            if let Some(c) = fields.iter().find(|c| c.vector && c.xs.len() != d) {
                return Err(bad(
                    &c.field,
                    &c.val,
                    format!(
                        "has length {} but objective.dim = {d}; vectors must have length {d} \
                         (a single number broadcasts)",
                        c.xs.len()
                    ),
                ));
            }
            d
        }
        None => match fields.iter().find(|c| c.vector) {
            None => 1,
            Some(first) => {
                let d = first.xs.len();
                if d > MAX_DIM {
                    return Err(bad(
                        &first.field,
                        &first.val,
                        format!("has length {d}; at most {MAX_DIM} coordinates (MAX_DIM) are supported"),
                    ));
                }
                if let Some(c) = fields.iter().find(|c| c.vector && c.xs.len() != d) {
                    return Err(bad(
                        &c.field,
                        &c.val,
                        format!(
                            "has length {} but {} has length {d}; all vectors must have the same \
                             length (the dimension; a single number broadcasts)",
                            c.xs.len(),
                            first.field
                        ),
                    ));
                }
                d
            }
        },
    };
    let mut expanded = fields.into_iter().map(|c| c.expand(dim));
    let mut next = || expanded.next().expect("one per field");
    let (h, center, scale, x0) = (next(), next(), next(), next());
    let noise = if student { Noise::StudentT { nu: next(), scale } } else { Noise::Gaussian { sigma: scale } };

    // [compressor]
    let compressor = compressor(&top, kind, dim)?;

    // [run]
    let run_t = top.require_sub("run", RUN_KEYS)?;
    let paths_expected = format!("must be an integer >= 1 and <= 2^40 ({MAX_PATHS})");
    run_t.require("paths", "an integer >= 1")?;
    let paths = run_t.int("paths", 1, MAX_PATHS as i128, &paths_expected)?.expect("required") as u64;
    run_t.require("steps", "an integer >= 1")?;
    // Step counters are 32-bit on the device (WGSL has no u64).
    let steps_expected = format!("must be an integer >= 1 and <= {}", u32::MAX);
    let steps = run_t.int("steps", 1, u32::MAX as i128, &steps_expected)?.expect("required") as u64;
    let refine_expected = format!("must be an integer >= 1 and <= {MAX_REFINE}");
    let refine = run_t.int("refine", 1, MAX_REFINE as i128, &refine_expected)?.map_or(1, |r| r as u32);
    if refine != 1 && !kind.is_sde() {
        let sde = names(ModelKind::ALL.into_iter().filter(|m| m.is_sde()).map(ModelKind::name));
        return Err(bad(
            "run.refine",
            run_t.get("refine").expect("present"),
            format!(
                "refine applies to SDE models only ({sde}); model {} is a discrete optimizer, so \
                 leave refine out or set it to 1",
                kind.name()
            ),
        ));
    }
    // Euler–Maruyama of dV = ρ(· − V)dt keeps V a convex combination only while ρΔt <= 1
    // (spec §13.5); ρΔt = (1 − β)/refine in both time scalings.
    if let (Some(a), true) = (&adaptive, kind.is_sde()) {
        for (key, beta) in [("beta1", a.beta1), ("beta2", a.beta2)] {
            let rho_dt = (1.0 - beta) / f64::from(refine);
            if (kind.is_adam() || key == "beta2") && rho_dt > 1.0 {
                let key = if kind.is_adam() { key } else { "beta" };
                return Err(Error::invalid(
                    format!("model.{key}"),
                    beta,
                    format!(
                        "gives rho * dt = (1 - beta) / refine = {rho_dt} > 1, so V could go negative; need rho * dt <= 1"
                    ),
                ));
            }
        }
    }
    let seed_expected = format!("must be an integer >= 0 and <= {} (any u64)", u64::MAX);
    let seed = run_t.int("seed", 0, u64::MAX as i128, &seed_expected)?.map_or(1, |s| s as u64);
    let backend = match run_t.get("backend") {
        None => BackendChoice::Auto,
        Some(Val::Str(s)) => BackendChoice::parse_as(s, "run.backend")?,
        Some(v) => {
            let valid = names(BackendChoice::ALL.map(BackendChoice::name));
            return Err(bad("run.backend", v, format!("must be a string, one of: {valid}")));
        }
    };
    let chunk_expected = format!("must be a positive multiple of {BATCH} (BATCH) and <= 2^40 ({MAX_PATHS})");
    let chunk = run_t.int("chunk", 1, MAX_PATHS as i128, &chunk_expected)?.map(|c| c as u64);
    if let Some(c) = chunk.filter(|c| c % BATCH != 0) {
        return Err(bad("run.chunk", &Val::Int(c.into()), chunk_expected));
    }
    let divergence_bound = divergence_bound(&run_t, &h, &center, &x0)?;

    // [record]
    let record_t = top.sub("record", RECORD_KEYS)?;
    let every_expected = format!("must be an integer >= 1 and <= {}", u64::MAX);
    let record_every = match &record_t {
        Some(t) => t.int("every", 1, u64::MAX as i128, &every_expected)?.map(|e| e as u64),
        None => None,
    }
    .unwrap_or_else(|| (steps / 200).max(1));

    // [stationary]
    let stat_t = top.sub("stationary", STATIONARY_KEYS)?;
    let (mut start, mut every, mut bins, mut range) = (steps / 2, 10, 128, HistRange::Auto);
    if let Some(t) = &stat_t {
        let start_expected = format!("must be an integer >= 0 and < run.steps = {steps}");
        if let Some(s) = t.int("start", 0, steps as i128 - 1, &start_expected)? {
            start = s as u64;
        }
        if let Some(e) = t.int("every", 1, u64::MAX as i128, &every_expected)? {
            every = e as u64;
        }
        let bins_expected = format!("must be an integer >= 1 and <= {MAX_BINS} (MAX_BINS)");
        if let Some(b) = t.int("bins", 1, MAX_BINS as i128, &bins_expected)? {
            bins = b as u32;
        }
        if let Some(v) = t.get("range") {
            range = hist_range(v)?;
        }
    }

    Ok(Experiment {
        name,
        dim,
        model: ModelSpec { name: kind, eta, adaptive, agents, compressor },
        objective: Objective::Quadratic { h, center },
        noise,
        x0,
        run: RunSpec { paths, steps, refine, seed, backend, chunk, divergence_bound },
        record: RecordSpec { every: record_every },
        stationary: StationarySpec { start, every, bins, range },
    })
}

/// The `[model]` keys of one model.
fn model_keys(kind: ModelKind) -> &'static [&'static str] {
    match kind {
        ModelKind::Rmsprop | ModelKind::RmspropSde => &["name", "eta", "beta", "eps", "weight_decay"],
        ModelKind::RmspropMalladiSde => &["name", "eta", "beta", "eps"],
        ModelKind::Adam => &["name", "eta", "beta1", "beta2", "eps", "weight_decay"],
        ModelKind::AdamSde => &["name", "eta", "beta1", "beta2", "eps", "weight_decay", "correction"],
        ModelKind::AdamMalladiSde => &["name", "eta", "beta1", "beta2", "eps"],
        k if k.is_distributed() => &["name", "eta", "agents"],
        _ => &["name", "eta"],
    }
}

/// RMSprop/Adam parameters with PyTorch's defaults (beta 0.99; beta1 0.9, beta2 0.999;
/// eps 1e-8; weight_decay 0). The P7 SDEs have no weight decay and no drift correction.
fn adaptive_params(t: &Table<'_>, kind: ModelKind) -> crate::error::Result<Option<Adaptive>> {
    if !kind.is_rmsprop() && !kind.is_adam() {
        return Ok(None);
    }
    let beta_ok = |x: f64| (0.0..1.0).contains(&x);
    let beta_expected = "must be a finite number with 0 <= beta < 1";
    let (beta1, beta2) = if kind.is_adam() {
        (
            t.real("beta1", beta_ok, beta_expected)?.unwrap_or(0.9),
            t.real("beta2", beta_ok, beta_expected)?.unwrap_or(0.999),
        )
    } else {
        (0.0, t.real("beta", beta_ok, beta_expected)?.unwrap_or(0.99))
    };
    let eps = t.real("eps", |x| x > 0.0, "must be a finite number > 0 (it keeps 1/(sqrt(v) + eps) finite)")?;
    let weight_decay = t.real("weight_decay", |x| x >= 0.0, "must be a finite number >= 0")?.unwrap_or(0.0);
    let correction = match t.get("correction") {
        None => Correction::Consistent,
        Some(Val::Str(s)) if s == "consistent" => Correction::Consistent,
        Some(Val::Str(s)) if s == "drift-only" => Correction::DriftOnly,
        Some(Val::Str(s)) if s == "none" => Correction::None,
        Some(Val::Str(s)) => {
            return Err(Error::UnknownName {
                field: t.field("correction"),
                value: s.clone(),
                valid: "consistent, drift-only, none".into(),
            });
        }
        Some(v) => {
            return Err(bad(&t.field("correction"), v, "must be one of \"consistent\", \"drift-only\", \"none\""));
        }
    };
    let correction = if kind == ModelKind::AdamSde { correction } else { Correction::None };
    Ok(Some(Adaptive { beta1, beta2, eps: eps.unwrap_or(1e-8), weight_decay, correction }))
}

/// ν per model (spec §3.2, §6.4 item 6, §13.3): the samplers of the discrete optimizers take
/// ν ≥ [`MIN_NU`]; the sign SDEs evaluate 2F_ν − 1, tabulated for ν ≥ 1; SDEs driven by the noise
/// covariance need a finite variance, ν > 2.
fn check_nu(nu: &Coords, kind: ModelKind) -> crate::error::Result<()> {
    for (j, &v) in nu.xs.iter().enumerate() {
        let field = if nu.vector { format!("{}[{j}]", nu.field) } else { nu.field.clone() };
        if v < MIN_NU {
            return Err(Error::invalid(
                field,
                fmt_f64(v),
                format!(
                    "must be >= {MIN_NU}: below it the f32 Student-t sampler saturates (W^(-2/nu) overflows); \
                     for tails that heavy, simulate a smaller scale or nu = {MIN_NU}"
                ),
            ));
        }
        if (kind == ModelKind::SignsgdSde || kind == ModelKind::DsignsgdSde) && v < MIN_NU_SIGN_SDE {
            return Err(Error::invalid(
                field,
                fmt_f64(v),
                format!(
                    "must be >= {MIN_NU_SIGN_SDE} for {}: its drift 2F_nu - 1 is tabulated for nu >= 1 \
                     (spec §13.3); the discrete {} samples any nu >= {MIN_NU}",
                    kind.name(),
                    if kind == ModelKind::SignsgdSde { "signsgd" } else { "dsignsgd" }
                ),
            ));
        }
        if kind.needs_variance() && v <= 2.0 {
            return Err(Error::invalid(
                field,
                fmt_f64(v),
                format!(
                    "must be > 2 for {}: this SDE is driven by the noise covariance, and Student-t noise \
                     with nu <= 2 has infinite variance; simulate the discrete optimizer ({}) or the sign \
                     methods (signsgd, signsgd-sde, dsignsgd, dsignsgd-sde), which need no variance",
                    kind.name(),
                    kind.name().trim_end_matches("-sde").trim_end_matches("-malladi")
                ),
            ));
        }
    }
    Ok(())
}

/// The `[compressor]` table: only for dcsgd and dcsgd-sde (default identity).
fn compressor(top: &Table<'_>, kind: ModelKind, dim: usize) -> crate::error::Result<Compressor> {
    let Some(t) = top.sub("compressor", COMPRESSOR_KEYS)? else {
        return Ok(Compressor::Identity);
    };
    if !kind.is_compressed() {
        return Err(bad(
            "compressor",
            top.get("compressor").expect("present"),
            format!("applies to dcsgd and dcsgd-sde only; model {} has no compressor", kind.name()),
        ));
    }
    let name = t.name_of(&Compressor::NAMES)?;
    let keys: &[&str] = match name {
        "bernoulli" => &["name", "p"],
        "rand-k" => &["name", "k"],
        "qsgd" => &["name", "levels"],
        _ => &["name"],
    };
    t.check_keys(keys)?;
    let c = match name {
        "identity" => Compressor::Identity,
        "bernoulli" => {
            t.require("p", "the keep probability, 0 < p <= 1")?;
            let p = t.real("p", |x| x > 0.0 && x <= 1.0, "must be a finite number with 0 < p <= 1")?;
            Compressor::Bernoulli { p: p.expect("required") }
        }
        "rand-k" => {
            t.require("k", "the number of kept coordinates, 1 <= k <= d")?;
            let expected = format!("must be an integer with 1 <= k <= d = {dim} (the dimension)");
            let k = t.int("k", 1, dim as i128, &expected)?.expect("required");
            Compressor::RandK { k: k as u32 }
        }
        "qsgd" => {
            t.require("levels", "the number of quantisation levels s >= 1")?;
            let k = t.int("levels", 1, 1 << 24, "must be an integer with 1 <= levels <= 2^24")?;
            Compressor::Qsgd { levels: k.expect("required") as u32 }
        }
        _ => Compressor::Natural,
    };
    if kind == ModelKind::DcsgdSde && !c.has_sde() {
        return Err(bad(
            "compressor.name",
            &Val::Str(name.to_string()),
            "has no closed-form covariance, so dcsgd-sde cannot use it (spec §6.3: the SDE is exact for \
             identity, bernoulli and rand-k); simulate the discrete optimizer dcsgd with this compressor",
        ));
    }
    Ok(c)
}

/// `run.divergence_bound`: finite, > 0, at least the initial |x0|, and small enough that the
/// loss of a live path stays below [`MAX_LOSS_AT_BOUND`] (f32 statistics). The default is
/// [`DEFAULT_DIVERGENCE_BOUND`], lowered to that limit for very stiff objectives.
fn divergence_bound(run_t: &Table<'_>, h: &[f64], center: &[f64], x0: &[f64]) -> crate::error::Result<f64> {
    let loss_at = |b: f64| -> f64 { h.iter().zip(center).map(|(h, c)| 0.5 * h * (b + c.abs()).powi(2)).sum() };
    // Largest bound whose loss stays below the limit (loss_at is increasing in b).
    let (mut lo, mut hi) = (0.0f64, 1e30f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if loss_at(mid) <= MAX_LOSS_AT_BOUND { lo = mid } else { hi = mid }
    }
    let limit = lo;
    let x0_max = x0.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let expected = format!(
        "must be a finite number > max |x0| = {x0_max} and <= {limit:.4e} (beyond it the loss \
         1/2 sum h (bound + |c|)^2 exceeds {MAX_LOSS_AT_BOUND:e}, which the f32 statistics cannot hold)"
    );
    match run_t.real("divergence_bound", |b| b > x0_max && b <= limit, &expected)? {
        Some(b) => Ok(b),
        None => {
            let b = DEFAULT_DIVERGENCE_BOUND.min(limit);
            if b <= x0_max {
                return Err(Error::invalid(
                    "init.x0",
                    fmt_f64(x0_max),
                    format!("is beyond the default run.divergence_bound = {b:e}; set run.divergence_bound above it"),
                ));
            }
            Ok(b)
        }
    }
}

fn hist_range(v: &Val) -> crate::error::Result<HistRange> {
    const EXPECTED: &str = "must be \"auto\" or [lo, hi] with lo < hi, both finite numbers";
    match v {
        Val::Str(s) if s == "auto" => Ok(HistRange::Auto),
        Val::Array(items) if items.len() == 2 => match (items[0].as_f64(), items[1].as_f64()) {
            (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() && lo < hi => Ok(HistRange::Fixed { lo, hi }),
            _ => Err(bad("stationary.range", v, EXPECTED)),
        },
        _ => Err(bad("stationary.range", v, EXPECTED)),
    }
}
