//! The measurement: the engines to time, a warm-up, the timed runs and their median, and each
//! measurement against the baselines (speed ratio, z-score of the stationary losses).

use std::time::Instant;

use serde::Serialize;

use super::baselines::BaselineOutcome;
use super::suite::{BackendSet, Sizes};
use crate::cpu::{Arith, CpuEngine};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::plan::{self, BackendInfo, Engine};

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
    /// paths × steps / seconds, as `optsde run` counts path-steps.
    pub path_steps_per_second: f64,
    /// paths × d × steps / seconds: coordinate updates.
    pub path_coordinate_steps_per_second: f64,
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

impl Measurement {
    /// Record this run against each baseline that produced a result.
    pub(super) fn compare_with(&mut self, baselines: &[BaselineOutcome]) {
        for b in baselines.iter().filter_map(|b| b.result.as_ref()) {
            self.vs.push(Versus {
                baseline: b.tool.clone(),
                ratio: self.path_steps_per_second / b.path_steps_per_second,
                stationary_z: z_score(
                    self.stationary_loss,
                    self.stationary_loss_se,
                    b.stationary_loss,
                    b.stationary_loss_se,
                ),
            });
        }
    }
}

/// The engines to time, with their software flag, and a note on a GPU that is not there.
pub(super) type Engines = Vec<(Box<dyn Engine>, bool)>;

pub(super) fn open_engines(set: BackendSet, arith: Arith) -> Result<(Engines, Option<String>)> {
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
/// the caches are filled before the first timed run, at a cost of at most 0.5 s per entry and
/// backend. It did not cure the slow first entry that prompted it (`benches/NOTES.md`, "NVIDIA
/// H100, a third lease" and "The bench's order and warm-up").
pub const WARMUP_MIN_SECONDS: f64 = 0.5;

/// The most warm-up runs of one entry, whatever their time (a backend whose runs take
/// microseconds, at tiny sizes, stops here).
pub const WARMUP_MAX_RUNS: u32 = 1000;

/// A warm-up of at least [`WARMUP_MIN_SECONDS`] (whole runs of `warm`) and `repeat` timed runs of
/// `exp` on `engine`; the figures use the median time (every run computes the same statistics:
/// same seeds).
pub(super) fn measure(
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
    let path_steps = paths as f64 * steps as f64 / seconds;
    Ok(Measurement {
        backend: r.backend.clone(),
        software,
        paths,
        steps,
        warmup_seconds,
        warmup_runs,
        seconds,
        run_seconds,
        path_steps_per_second: path_steps,
        path_coordinate_steps_per_second: path_steps * exp.dim as f64,
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
