//! The learning-rate schedule inside the kernels: s(τ) in f32 from a group's words, twin of
//! `shaders/shared/lr_schedule.wgsl` (same operations, same order), and the scaled increment.
//! The schedules and their clock: `crate::experiment::Schedule` and docs/schedules.md.

use crate::experiment::{SCHED_COSINE, SCHED_INVERSE_SQRT, SCHED_NORMALIZED, SCHED_POLY, SCHED_STEP};
use crate::layout::Group;
use crate::math::{exp_f32, ln_unit, madd, sincos_quarter};

/// s at substep `j` of optimizer step `k` (τ = k + j/refine) of schedule `kind` (`SCHED_*`)
/// with the group's words (`crate::experiment::Schedule::words`):
/// * poly: 1/(1 + ητ) in (0, 1], then e^{p ln(·)};
/// * inverse-sqrt: 1/√(τ + 1) (square root and division correctly rounded on both backends);
/// * step: the factor once per milestone ≤ k, multiplied in order;
/// * cosine: (τ + 1)/W during the warm-up, then min + (1 − min)/2 (1 + cos(πu)) with
///   u = (τ − W)/(K − W) in [0, 1), cos from the angle word u·2³¹ (`sincos_quarter`).
///
/// Any other id (the constant rate) gives 1.
#[inline(always)]
pub fn factor<const FMA: bool>(kind: u32, g: &Group, k: u32, j: u32, refine: u32) -> f32 {
    let w = &g.sched;
    let tau = k as f32 + j as f32 / refine as f32;
    match kind {
        SCHED_POLY => exp_f32::<FMA>(w[1] * ln_unit::<FMA>(1.0 / madd::<FMA>(w[0], tau, 1.0))),
        SCHED_INVERSE_SQRT => 1.0 / (tau + 1.0).sqrt(),
        SCHED_STEP => g.milestones.iter().fold(1.0, |s, &m| if k >= m { s * w[0] } else { s }),
        SCHED_COSINE if tau < w[1] => (tau + 1.0) * w[0],
        SCHED_COSINE => {
            let u = (tau - w[1]) / w[2];
            let (c, _) = sincos_quarter::<FMA>((u * 2_147_483_648.0) as u32);
            madd::<FMA>(w[4], 1.0 + c, w[3])
        }
        _ => 1.0,
    }
}

/// A gradient-norm schedule's s for the norm `n` (`kind` is `SCHED_NORMALIZED` or
/// `SCHED_CLIPPED`, `w` the group's words: β or c, then 1/η): 1/(β + n), or c/n where n > c
/// and 1 elsewhere (no division by a zero norm).
#[inline(always)]
pub fn norm_factor(kind: u32, w: &[f32; 5], n: f32) -> f32 {
    if kind == SCHED_NORMALIZED {
        1.0 / (w[0] + n)
    } else if n > w[0] {
        w[0] / n
    } else {
        1.0
    }
}

/// x after a substep whose unscheduled update moved it from `before` to `x`: the increment
/// scaled by `s`, before + s (x − before). Every model's increment of x is linear in η, so this
/// is the step with η s; the difference x − before is the increment as rounded into x.
#[inline(always)]
pub fn scaled<const FMA: bool>(before: f32, x: f32, s: f32) -> f32 {
    madd::<FMA>(s, x - before, before)
}
