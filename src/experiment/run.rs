//! How an experiment runs and what it records: [`RunSpec`] (paths, steps, substeps, seed,
//! backend, chunking, divergence), [`RecordSpec`] and [`StationarySpec`] (with its histogram
//! range, [`HistRange`]).

use std::ops::Bound::{Excluded, Included};

use serde::{Deserialize, Serialize};

use super::domain::{Domain, show_reals};
use crate::error::{Error, Result};

/// Paths per statistics batch and per GPU workgroup. Batches are keyed by global path index
/// (`path / BATCH`), so standard errors do not depend on chunking or backend.
pub const BATCH: u64 = 256;
/// Largest number of histogram bins.
pub const MAX_BINS: u32 = 1 << 16;
/// Largest `run.paths` (and `run.chunk`): 2^40.
pub const MAX_PATHS: u64 = 1 << 40;
/// Largest `run.refine`.
pub const MAX_REFINE: u32 = 1 << 16;
/// Largest `record.trajectories`: the paths whose states every record keeps are few, for a
/// reader to look at, not a sample to estimate from (the moments are that).
pub const MAX_TRAJECTORIES: u32 = 64;
/// Default `run.divergence_bound` (capped so the loss stays below [`MAX_LOSS_AT_BOUND`]).
pub const DEFAULT_DIVERGENCE_BOUND: f64 = 1e6;
/// Largest loss a live path may reach: per-workgroup moment sums are f32, and the squared loss
/// of 256 paths must stay finite (256 × (1e17)² < 3.4e38).
pub const MAX_LOSS_AT_BOUND: f64 = 1e17;

/// `run.paths`.
pub fn paths_domain() -> Domain<i128> {
    Domain::worded(
        Included(1),
        Included(MAX_PATHS.into()),
        format!("must be an integer >= 1 and <= 2^40 ({MAX_PATHS})"),
    )
}

/// `run.steps`: step counters are 32-bit on the device (WGSL has no u64).
pub fn steps_domain() -> Domain<i128> {
    Domain::worded(Included(1), Included(u32::MAX.into()), format!("must be an integer >= 1 and <= {}", u32::MAX))
}

/// `run.refine`.
pub fn refine_domain() -> Domain<i128> {
    Domain::worded(Included(1), Included(MAX_REFINE.into()), format!("must be an integer >= 1 and <= {MAX_REFINE}"))
}

/// `run.seed`: any u64.
pub fn seed_domain() -> Domain<i128> {
    Domain::worded(
        Included(0),
        Included(u64::MAX.into()),
        format!(
            "must be an integer >= 0 and <= {} (any u64); above 2^63 - 1, TOML's largest integer, write it \
             as a string, decimal or 0x-hexadecimal (seed = \"{}\")",
            u64::MAX,
            u64::MAX
        ),
    )
}

/// `run.chunk`, which must also be a multiple of [`BATCH`].
pub fn chunk_domain() -> Domain<i128> {
    Domain::worded(
        Included(1),
        Included(MAX_PATHS.into()),
        format!("must be a positive multiple of {BATCH} (BATCH) and <= 2^40 ({MAX_PATHS})"),
    )
}

/// `record.every` and `stationary.every`.
pub fn every_domain() -> Domain<i128> {
    Domain::worded(Included(1), Included(u64::MAX.into()), format!("must be an integer >= 1 and <= {}", u64::MAX))
}

/// `record.trajectories` of a run (or sweep point) of `paths` paths: 0 (none) to
/// [`MAX_TRAJECTORIES`], and no more than the paths (`None`: the paths not known yet).
pub fn trajectories_domain(paths: Option<u64>) -> Domain<i128> {
    let most = u64::from(MAX_TRAJECTORIES);
    let expected = format!("must be an integer >= 0 (0: none) and <= {MAX_TRAJECTORIES} (MAX_TRAJECTORIES)");
    match paths {
        None => Domain::worded(Included(0), Included(most.into()), expected),
        Some(paths) => Domain::worded(
            Included(0),
            Included(most.min(paths).into()),
            format!("{expected} and <= run.paths = {paths} (the first paths of the run, or of each sweep point)"),
        ),
    }
}

/// `stationary.start` of a run of `steps` steps.
pub fn start_domain(steps: u64) -> Domain<i128> {
    Domain::worded(Included(0), Excluded(steps.into()), format!("must be an integer >= 0 and < run.steps = {steps}"))
}

/// `stationary.bins`.
pub fn bins_domain() -> Domain<i128> {
    Domain::worded(
        Included(1),
        Included(MAX_BINS.into()),
        format!("must be an integer >= 1 and <= {MAX_BINS} (MAX_BINS)"),
    )
}

/// Where the run executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU (saying so on stderr).
    Auto,
    /// The GPU; an error when no adapter exists.
    Gpu,
    /// The CPU backend.
    Cpu,
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

    /// The choice named `s`; an error names `field`.
    pub fn from_name(s: &str, field: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| Error::UnknownName {
            field: field.to_string(),
            value: s.to_string(),
            valid: Self::ALL.map(Self::name).join(", "),
        })
    }
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_name(s, "backend")
    }
}

/// How many paths run, for how long, where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// becomes non-finite. Its valid range depends on the objective and x0
    /// (`crate::experiment::Experiment::new` checks it).
    pub divergence_bound: f64,
}

impl RunSpec {
    pub fn new(
        paths: u64,
        steps: u64,
        refine: u32,
        seed: u64,
        backend: BackendChoice,
        chunk: Option<u64>,
        divergence_bound: f64,
    ) -> Result<RunSpec> {
        let r = RunSpec { paths, steps, refine, seed, backend, chunk, divergence_bound };
        r.check()?;
        Ok(r)
    }

    pub(super) fn check(&self) -> Result<()> {
        paths_domain().check("run.paths", self.paths)?;
        steps_domain().check("run.steps", self.steps)?;
        refine_domain().check("run.refine", self.refine)?;
        if let Some(c) = self.chunk {
            let d = chunk_domain();
            d.check("run.chunk", c)?;
            if c % BATCH != 0 {
                return Err(Error::invalid("run.chunk", c, d.expected()));
            }
        }
        Ok(())
    }
}

/// What the run records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordSpec {
    /// Moments are recorded at step 0, every `every` steps, and at the last step.
    pub every: u64,
    /// At every record, the state x of this many paths, the first ones (global indices 0, 1,
    /// ...; in a sweep, the first of each point): `trajectories.npy`. 0: none. At most
    /// [`MAX_TRAJECTORIES`] and the run's paths ([`trajectories_domain`], checked with the run by
    /// `crate::experiment::Experiment::new`).
    #[serde(default)]
    pub trajectories: u32,
    /// The basis of extra moments: `hessian` adds the stationary moments of Qᵀ(x − c), the
    /// coordinates in the quadratic's eigenbasis (`summary.json` `stationary.eigenbasis`).
    #[serde(default)]
    pub basis: RecordBasis,
    /// The time axis of the records and plots (`[record] time`).
    #[serde(default)]
    pub time: TimeAxis,
}

/// What t a record at optimizer step k shows (`[record] time`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeAxis {
    /// The model's time: t = kη (kη² for the Malladi SDEs), the SDE's clock.
    #[default]
    Model,
    /// t = k/d, one-pass regression's time (d data points per unit of time; the
    /// high-dimensional papers' axis, with per-sample step η/d). `linear-regression` only.
    PerDimension,
}

impl TimeAxis {
    pub const NAMES: [&str; 2] = ["model", "k/d"];
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The coordinates whose moments a run reports besides x (`[record] basis`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordBasis {
    /// x alone.
    #[default]
    Coordinates,
    /// x and y = Qᵀ(x − c), with H = Q diag(λ) Qᵀ (quadratic objectives; needs `stationary.cov`).
    Hessian,
}

impl RecordBasis {
    pub const NAMES: [&str; 2] = ["coordinates", "hessian"];
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl RecordSpec {
    pub fn new(every: u64, trajectories: u32) -> Result<RecordSpec> {
        every_domain().check("record.every", every)?;
        trajectories_domain(None).check("record.trajectories", trajectories)?;
        Ok(RecordSpec { every, trajectories, basis: RecordBasis::Coordinates, time: TimeAxis::Model })
    }
}

/// Histogram range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistRange {
    /// Fixed at `stationary.start` from the measured spread of a pilot ensemble.
    Auto,
    /// The same `[lo, hi]` for every coordinate (lo < hi, both finite).
    Fixed { lo: f64, hi: f64 },
}

/// What `stationary.range` must be.
pub const RANGE_EXPECTED: &str = "must be \"auto\" or [lo, hi] with lo < hi, both finite numbers";

impl HistRange {
    /// The range `[lo, hi]`, lo < hi, both finite.
    pub fn fixed(lo: f64, hi: f64) -> Result<HistRange> {
        if lo.is_finite() && hi.is_finite() && lo < hi {
            Ok(HistRange::Fixed { lo, hi })
        } else {
            Err(Error::invalid("stationary.range", show_reals(&[lo, hi]), RANGE_EXPECTED))
        }
    }
}

/// The stationary estimates and histograms: sampled from `start` every `every` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StationarySpec {
    /// First optimizer step that contributes (0 <= start < steps; checked with the run's steps
    /// by `crate::experiment::Experiment::new`).
    pub start: u64,
    /// Sample stride after `start`.
    pub every: u64,
    pub bins: u32,
    pub range: HistRange,
    /// The full covariance matrix of the coordinates (`summary.json` `stationary.cov`), for
    /// d ≤ [`MAX_COV_DIM`]: the kernel then also sums the d(d − 1)/2 products of coordinate
    /// pairs at every sample.
    #[serde(default)]
    pub cov: bool,
    /// Coordinate pairs (i, j) with a 2-D stationary histogram (`histograms2d.json`).
    #[serde(default)]
    pub pairs: Vec<[usize; 2]>,
}

/// The largest dimension whose stationary covariance matrix a run keeps: d(d − 1)/2 = 2016 pair
/// sums per path in the kernel's registers (spilled to scratch memory well before that).
pub const MAX_COV_DIM: usize = 64;

/// The most coordinate pairs with a 2-D stationary histogram.
pub const MAX_HIST_PAIRS: usize = 8;

impl StationarySpec {
    pub fn new(start: u64, every: u64, bins: u32, range: HistRange) -> Result<StationarySpec> {
        let s = StationarySpec { start, every, bins, range, cov: false, pairs: Vec::new() };
        s.check()?;
        Ok(s)
    }

    pub(super) fn check(&self) -> Result<()> {
        every_domain().check("stationary.every", self.every)?;
        bins_domain().check("stationary.bins", self.bins)?;
        if let HistRange::Fixed { lo, hi } = self.range {
            HistRange::fixed(lo, hi)?;
        }
        Ok(())
    }

    /// The checks that need the dimension: `cov` for d ≤ [`MAX_COV_DIM`], `pairs` of distinct
    /// coordinates below d, at most [`MAX_HIST_PAIRS`] of them, none twice.
    pub(super) fn check_dim(&self, dim: usize, basis: RecordBasis) -> Result<()> {
        if basis == RecordBasis::Hessian && !self.cov && dim > 1 {
            return Err(Error::invalid(
                "record.basis",
                "\"hessian\"",
                "needs stationary.cov = true (the eigenbasis moments come from the covariance's pair sums)",
            ));
        }
        if self.cov && dim > MAX_COV_DIM {
            return Err(Error::invalid(
                "stationary.cov",
                true,
                format!("needs d <= {MAX_COV_DIM} (MAX_COV_DIM; this problem has d = {dim}): set cov = false"),
            ));
        }
        let shown = || format!("{:?}", self.pairs);
        if self.pairs.len() > MAX_HIST_PAIRS {
            return Err(Error::invalid(
                "stationary.pairs",
                shown(),
                format!("has {} pairs; at most {MAX_HIST_PAIRS} (MAX_HIST_PAIRS)", self.pairs.len()),
            ));
        }
        for (n, &[i, j]) in self.pairs.iter().enumerate() {
            if i >= dim || j >= dim || i == j {
                return Err(Error::invalid(
                    format!("stationary.pairs[{n}]"),
                    format!("[{i}, {j}]"),
                    format!("must name two different coordinates in 0..{dim} (d = {dim})"),
                ));
            }
            if self.pairs[..n].contains(&[i, j]) {
                return Err(Error::invalid(format!("stationary.pairs[{n}]"), format!("[{i}, {j}]"), "is given twice"));
            }
        }
        Ok(())
    }
}
