//! `[schedule]`: the learning rate over the run, η_k = η s(τ), for every model
//! (docs/schedules.md).
//!
//! The clock τ counts optimizer steps: the optimizer takes step k (k = 0, 1, …) at τ = k, so its
//! first step uses η_0 = η; an SDE's substep j of step k (`refine` per step, left point) sits at
//! τ = k + j/refine, model time t = ητ. Both take the same s at the same step, so an optimizer
//! and its SDE share one clock. The schedule multiplies the whole increment of x in a step (the
//! optimizer's η_k(…), the SDE's drift and diffusion of x); the EMAs of RMSprop and Adam, which
//! the discrete methods update without η, are not scaled.

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};

use super::domain::Domain;
use crate::error::{Error, Result};

/// Most milestones of a `step` schedule (the kernel's per-group words hold this many).
pub const MAX_MILESTONES: usize = 4;

/// `schedule.p`: the power of `poly`.
pub const POWER: Domain<f64> = Domain::new(Included(0.0), Unbounded, "must be a finite number >= 0");
/// `schedule.factor`: the multiplier of `step` at each milestone.
pub const STEP_FACTOR: Domain<f64> = Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0");
/// `schedule.beta` of `normalized` and `schedule.clip` of `clipped`.
pub const NORM_PARAMETER: Domain<f64> = Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0");
/// `schedule.min_factor`: where `cosine` ends, as a fraction of η.
pub const MIN_FACTOR: Domain<f64> = Domain::new(Included(0.0), Included(1.0), "must be a finite number in [0, 1]");

/// A learning-rate schedule s(τ), with s(0) = 1 except during a warm-up.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Schedule {
    /// s = 1.
    #[default]
    Constant,
    /// s = (1 + ητ)^−p, in model time (1 + t)^−p (spec §7, §9.1).
    Poly { p: f64 },
    /// s = 1/√(τ + 1): η_k = η/√(k + 1).
    InverseSqrt,
    /// s = factor^(number of milestones ≤ τ); milestones in optimizer steps, increasing.
    Step { milestones: Vec<u64>, factor: f64 },
    /// A linear warm-up s = (τ + 1)/W for τ < W, then half a cosine from 1 down towards
    /// `min_factor` at the end of the run (τ = run.steps).
    Cosine { warmup: u64, min_factor: f64 },
    /// s = 1/(β + ‖g‖): η_k = η/(β + ‖g_k‖), per path (per coordinate with `coordinate`).
    Normalized { beta: f64, norm_of: NormOf, coordinate: bool },
    /// s = min(1, c/‖g‖): the step of a gradient clipped to norm c, per path (per coordinate
    /// with `coordinate`).
    Clipped { clip: f64, norm_of: NormOf, coordinate: bool },
}

/// Whose norm a gradient-norm schedule takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormOf {
    /// The sampled gradient the optimizer steps with (for several agents, the server's average
    /// of their compressed gradients): the increment of x divided by η.
    Stochastic,
    /// ∇f at the step's start, without noise (an SDE's drift).
    True,
}

impl NormOf {
    pub const NAMES: [&'static str; 2] = ["stochastic", "true"];

    pub fn name(self) -> &'static str {
        match self {
            Self::Stochastic => "stochastic",
            Self::True => "true",
        }
    }
}

/// The kernels' schedule ids (`SCHED_*` in WGSL; `crate::kernel::KernelConsts::schedule`).
pub const SCHED_CONSTANT: u32 = 0;
pub const SCHED_POLY: u32 = 1;
pub const SCHED_INVERSE_SQRT: u32 = 2;
pub const SCHED_STEP: u32 = 3;
pub const SCHED_COSINE: u32 = 4;
pub const SCHED_NORMALIZED: u32 = 5;
pub const SCHED_CLIPPED: u32 = 6;
/// Bits added to a gradient-norm schedule's id: the norm of ∇f (else of the sampled gradient),
/// and per coordinate (else of the whole vector).
pub const SCHED_NORM_TRUE: u32 = 8;
pub const SCHED_PER_COORDINATE: u32 = 16;
/// The schedule kind of an id (without the bits).
pub const SCHED_KIND_MASK: u32 = 7;
/// The ids by WGSL name, for the composer.
pub const SCHEDULE_IDS: [(&str, u32); 7] = [
    ("SCHED_CONSTANT", SCHED_CONSTANT),
    ("SCHED_POLY", SCHED_POLY),
    ("SCHED_INVERSE_SQRT", SCHED_INVERSE_SQRT),
    ("SCHED_STEP", SCHED_STEP),
    ("SCHED_COSINE", SCHED_COSINE),
    ("SCHED_NORMALIZED", SCHED_NORMALIZED),
    ("SCHED_CLIPPED", SCHED_CLIPPED),
];

/// What a kernel reads of a schedule, per sweep group (`crate::layout::Group`): five reals and
/// the milestones (u32::MAX where unused).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleWords {
    pub reals: [f32; 5],
    pub milestones: [u32; MAX_MILESTONES],
}

impl Schedule {
    /// The names used in experiment files, in the order messages list them.
    pub const NAMES: [&'static str; 7] =
        ["constant", "poly", "inverse-sqrt", "step", "cosine", "normalized", "clipped"];

    pub fn name(&self) -> &'static str {
        Self::NAMES[(self.id() & SCHED_KIND_MASK) as usize]
    }

    /// The norm a gradient-norm schedule takes, and whether per coordinate.
    pub fn norm(&self) -> Option<(NormOf, bool)> {
        match self {
            Self::Normalized { norm_of, coordinate, .. } | Self::Clipped { norm_of, coordinate, .. } => {
                Some((*norm_of, *coordinate))
            }
            _ => None,
        }
    }

    pub fn is_constant(&self) -> bool {
        *self == Schedule::Constant
    }

    /// The kernel id (`SCHED_*`, with the norm's bits for the gradient-norm schedules).
    pub fn id(&self) -> u32 {
        let bits = |norm_of: &NormOf, coordinate: &bool| {
            (if *norm_of == NormOf::True { SCHED_NORM_TRUE } else { 0 })
                | if *coordinate { SCHED_PER_COORDINATE } else { 0 }
        };
        match self {
            Self::Normalized { norm_of, coordinate, .. } => SCHED_NORMALIZED | bits(norm_of, coordinate),
            Self::Clipped { norm_of, coordinate, .. } => SCHED_CLIPPED | bits(norm_of, coordinate),
            Self::Constant => SCHED_CONSTANT,
            Self::Poly { .. } => SCHED_POLY,
            Self::InverseSqrt => SCHED_INVERSE_SQRT,
            Self::Step { .. } => SCHED_STEP,
            Self::Cosine { .. } => SCHED_COSINE,
        }
    }

    /// The values, for a run of `steps` optimizer steps: p ≥ 0, factor > 0, at most
    /// [`MAX_MILESTONES`] milestones, increasing, inside the run, a warm-up shorter than the run.
    pub fn check(&self, steps: u64) -> Result<()> {
        match self {
            Self::Constant | Self::InverseSqrt => {}
            Self::Poly { p } => {
                POWER.check("schedule.p", *p)?;
            }
            Self::Normalized { beta, .. } => {
                NORM_PARAMETER.check("schedule.beta", *beta)?;
            }
            Self::Clipped { clip, .. } => {
                NORM_PARAMETER.check("schedule.clip", *clip)?;
            }
            Self::Step { milestones, factor } => {
                STEP_FACTOR.check("schedule.factor", *factor)?;
                let shown = || format!("{milestones:?}");
                if milestones.is_empty() || milestones.len() > MAX_MILESTONES {
                    return Err(Error::invalid(
                        "schedule.milestones",
                        shown(),
                        format!("must list 1 to {MAX_MILESTONES} optimizer steps (MAX_MILESTONES)"),
                    ));
                }
                if milestones.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(Error::invalid("schedule.milestones", shown(), "must be strictly increasing"));
                }
                if let Some(&m) = milestones.iter().find(|&&m| m == 0 || m >= steps) {
                    return Err(Error::invalid(
                        "schedule.milestones",
                        shown(),
                        format!(
                            "must lie inside the run, 1 <= milestone < run.steps = {steps}: {m} is not (a milestone at \
                             or after the last step would change nothing)"
                        ),
                    ));
                }
            }
            Self::Cosine { warmup, min_factor } => {
                MIN_FACTOR.check("schedule.min_factor", *min_factor)?;
                if *warmup >= steps {
                    return Err(Error::invalid(
                        "schedule.warmup",
                        warmup,
                        format!("must be shorter than the run: an integer >= 0 and < run.steps = {steps}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// s(τ) in f64, the reference of the kernels' f32 twin (`crate::model::schedule`), for a
    /// run of `steps` steps at learning rate `eta`; 1 for the gradient-norm schedules, whose s is
    /// [`Schedule::norm_factor`].
    pub fn factor(&self, tau: f64, eta: f64, steps: u64) -> f64 {
        match self {
            Self::Constant | Self::Normalized { .. } | Self::Clipped { .. } => 1.0,
            Self::Poly { p } => (1.0 + eta * tau).powf(-p),
            Self::InverseSqrt => 1.0 / (tau + 1.0).sqrt(),
            Self::Step { milestones, factor } => {
                factor.powi(milestones.iter().filter(|&&m| m as f64 <= tau).count() as i32)
            }
            Self::Cosine { warmup, min_factor } => {
                let w = *warmup as f64;
                if tau < w {
                    (tau + 1.0) / w
                } else {
                    let u = (tau - w) / (steps as f64 - w);
                    min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * u).cos())
                }
            }
        }
    }

    /// A gradient-norm schedule's s for the norm `n` (of the whole gradient, or of one coordinate):
    /// 1/(β + n), or min(1, c/n); 1 for the others.
    pub fn norm_factor(&self, n: f64) -> f64 {
        match self {
            Self::Normalized { beta, .. } => 1.0 / (beta + n),
            Self::Clipped { clip, .. } => (clip / n).min(1.0),
            _ => 1.0,
        }
    }

    /// The words a kernel reads (`crate::layout::Group::sched`, `milestones`), rounded once from
    /// f64: poly (η, p); step (factor); cosine (1/W, W, run.steps − W, min_factor,
    /// (1 − min_factor)/2); normalized (β, 1/η); clipped (c, 1/η).
    pub fn words(&self, eta: f64, steps: u64) -> ScheduleWords {
        let mut w = ScheduleWords { reals: [0.0; 5], milestones: [u32::MAX; MAX_MILESTONES] };
        match self {
            Self::Constant | Self::InverseSqrt => {}
            Self::Normalized { beta: v, .. } | Self::Clipped { clip: v, .. } => {
                w.reals[..2].copy_from_slice(&[*v as f32, (1.0 / eta) as f32]);
            }
            Self::Poly { p } => w.reals[..2].copy_from_slice(&[eta as f32, *p as f32]),
            Self::Step { milestones, factor } => {
                w.reals[0] = *factor as f32;
                for (slot, &m) in w.milestones.iter_mut().zip(milestones) {
                    *slot = u32::try_from(m).unwrap_or(u32::MAX);
                }
            }
            Self::Cosine { warmup, min_factor } => {
                let wu = *warmup as f64;
                let inv_w = if *warmup == 0 { 0.0 } else { 1.0 / wu };
                w.reals = [inv_w, wu, steps as f64 - wu, *min_factor, 0.5 * (1.0 - min_factor)].map(|v| v as f32);
            }
        }
        w
    }
}
