//! RMSprop(W) and Adam(W): the optimizers (docs/adaptive.md), the SDEs of P1 (docs/adaptive.md, t = kη) and
//! of Malladi et al. (P7, docs/adaptive.md, t = kη²).
//!
//! **Optimizers** (g = ∇f(x) + Z, Z ~ N(0, diag σ²); decoupled weight decay θ applied to the
//! iterate *before* the step, `x_{k+1} = x_k − η·step − ηθ x_k`, docs/adaptive.md):
//! * RMSprop: v ← v + (1 − β)(g² − v); x ← x − η g/(√v + ε) − ηθx.
//! * Adam: m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
//!   x ← x − η (m/b₁)/(√(v/b₂) + ε) − ηθx with b_i = 1 − β_i^{k+1}.
//!
//! **P1 SDEs** (ρ_i = (1 − β_i)/η, ι_i(t) = 1 − e^{−ρ_i t}):
//! * RMSprop: dX = −P⁻¹(∇f dt + √η σ dW) − θX dt, dV = ρ((∇f)² + σ² − V)dt, P = √V + ε.
//! * Adam: dX = −(√ι₂/ι₁) P⁻¹ (M + ηρ₁(∇f − M)) dt − θX dt [− (√ι₂/ι₁) P⁻¹ ηρ₁ √η σ dW],
//!   dM = ρ₁(∇f − M)dt + √η ρ₁ σ dW, dV = ρ₂((∇f)² + σ² − V)dt, P = √V + ε√ι₂.
//!   `correction = "consistent"` (default) keeps the ηρ₁ drift term *and* the bracketed noise
//!   companion driven by the same W as M (docs/adaptive.md, the correction and its noise companion): one EM step with
//!   Δt = η and frozen V is then exactly the AdamW step. `"drift-only"` drops the companion
//!   (biased low, ×0.81 at β₁ = 0.9, docs/oracles.md T13); `"none"` drops both.
//!
//! **P7 SDEs** (t = kη², σ₀ = η with the minibatch covariance σ₀²Σ/η² = diag σ², ε₀ = εη,
//! c_i = (1 − β_i)/η²): the same equations without (∇f)² in dV, without weight decay and
//! without the correction. Written per optimizer step they coincide with the P1 kernels'
//! arithmetic (Δt/P = (η/r)/(√u + ε), noise ησ/√r), so they run on those kernels with their own
//! coefficients; only the reported time axis (t = kη²) differs.
//!
//! **Scheme** (docs/adaptive.md). Euler–Maruyama with Δt = η/r, starting at t = Δt (as the optimizer
//! starts at k = 1) and advancing V *first*, then X with P(V_{n+1}) and M_n, then M: plain
//! simultaneous EM would divide by ε√ι₂ on the first step, from which the path never recovers.
//! 1 − β is computed in f64 on the host and only 1 − β (or ρΔt = (1 − β)/r) reaches the
//! device: 0.999 is not exact in f32. EMAs update as v += (1 − β)(g² − v). Bias corrections
//! 1 − e^{−u} use a series for u < 0.1 ([`crate::math::one_minus_exp_neg`]), evaluated by blocks
//! of four substeps without cancellation ([`TimeBlocks`]); the divisor is
//! `sqrt(max(V, 0)) + ε`, never an inverse square root of a possibly-zero value.

use crate::experiment::{Adaptive, Correction, ModelKind};
use crate::kernel::Kernel;
use crate::kernel::coefs::{SLOTS, adam, adam_sde, rmsprop, rmsprop_sde, row};
use crate::math::{exp_f32, one_minus_exp_neg};

/// The coefficient slots of an adaptive model ([`rmsprop`], [`adam`], [`rmsprop_sde`], [`adam_sde`]).
pub fn coefs(kind: ModelKind, a: &Adaptive, eta: f64, refine: u32, sigma: f64) -> [f64; SLOTS] {
    let r = f64::from(refine);
    let dt = eta / r;
    let (om1, om2) = (1.0 - a.beta1, 1.0 - a.beta2);
    match kind {
        ModelKind::Rmsprop => row([
            (rmsprop::ETA, eta),
            (rmsprop::SCALE, sigma),
            (rmsprop::ONE_MINUS_BETA, om2),
            (rmsprop::EPS, a.eps),
            (rmsprop::ETA_DECAY, eta * a.weight_decay),
        ]),
        ModelKind::Adam => row([
            (adam::ETA, eta),
            (adam::SCALE, sigma),
            (adam::ONE_MINUS_BETA1, om1),
            (adam::ONE_MINUS_BETA2, om2),
            (adam::EPS, a.eps),
            (adam::ETA_DECAY, eta * a.weight_decay),
        ]),
        ModelKind::RmspropSde | ModelKind::RmspropMalladiSde => row([
            (rmsprop_sde::DT, dt),
            (rmsprop_sde::NOISE, (eta * dt).sqrt() * sigma),
            (rmsprop_sde::RHO_DT, om2 / r),
            (rmsprop_sde::EPS, a.eps),
            (rmsprop_sde::DECAY_DT, a.weight_decay * dt),
            (rmsprop_sde::SIGMA_SQ, sigma * sigma),
        ]),
        ModelKind::AdamSde | ModelKind::AdamMalladiSde => {
            let noise = (eta * dt).sqrt() * sigma;
            let (drift_corr, companion) = match a.correction {
                Correction::Consistent => (om1, om1 * noise),
                Correction::DriftOnly => (om1, 0.0),
                Correction::None => (0.0, 0.0),
            };
            // ρ₁ √(ηΔt) σ = (1 − β₁)/η · √(ηΔt) σ.
            row([
                (adam_sde::DT, dt),
                (adam_sde::M_NOISE, om1 / eta * noise),
                (adam_sde::RHO1_DT, om1 / r),
                (adam_sde::RHO2_DT, om2 / r),
                (adam_sde::EPS, a.eps),
                (adam_sde::DECAY_DT, a.weight_decay * dt),
                (adam_sde::SIGMA_SQ, sigma * sigma),
                (adam_sde::DRIFT_CORRECTION, drift_corr),
                (adam_sde::NOISE_COMPANION, companion),
            ])
        }
        _ => unreachable!("not an adaptive model"),
    }
}

/// Per-run scalars of the time factors (`Params::tf_a`, `tf_b`) and the (∇f)² flag (`gsq`).
/// Optimizer: u_i = (k + 1)·(−ln β_i), so 1 − e^{−u} = 1 − β^{k+1}. SDE: u_i = ρ_iΔt·(n + 1).
pub fn time_rates(kind: ModelKind, a: &Adaptive, refine: u32) -> (f64, f64, f64) {
    let r = f64::from(refine);
    let neg_ln = |beta: f64| -(-(1.0 - beta)).ln_1p();
    match kind {
        ModelKind::Adam => (neg_ln(a.beta1), neg_ln(a.beta2), 1.0),
        ModelKind::AdamSde => ((1.0 - a.beta1) / r, (1.0 - a.beta2) / r, 1.0),
        ModelKind::AdamMalladiSde => ((1.0 - a.beta1) / r, (1.0 - a.beta2) / r, 0.0),
        ModelKind::RmspropMalladiSde => (0.0, 0.0, 0.0),
        _ => (0.0, 0.0, 1.0),
    }
}

/// The bias corrections ι(n) = 1 − e^{−a n} of substep number n (1-based) for the rates
/// (a, b) of [`time_rates`], and the time factors made of them. Computed by blocks of four
/// substeps: with n = n_b + j, n_b ≡ 1 (mod 4) and j < 4,
///
/// ι(n) = 1 − e^{−a n_b} e^{−a j} = (1 − e^{−a j}) + e^{−a j} ι(n_b),
///
/// a sum of two nonnegative terms, so no cancellation (docs/adaptive.md), each ι within a few ulp. A
/// loop that runs a block's substeps in order then needs two exponentials per block instead of
/// two per substep, which mattered to the packed lavapipe kernel (benches/NOTES.md, "Lavapipe:
/// histogram atomics and Adam's bias corrections"). The value of every substep
/// depends on n alone, not on where a segment or a dispatch begins. Twin of
/// `time_blocks_init`, `block_iotas`, `block_time_factors` and `time_factors` in model.wgsl.
#[derive(Clone, Copy, Debug)]
pub struct TimeBlocks {
    a: f32,
    b: f32,
    /// (1 − e^{−a j}, 1 − e^{−b j}) and (e^{−a j}, e^{−b j}) for j = 0..3.
    c: [[f32; 2]; 4],
    q: [[f32; 2]; 4],
}

impl TimeBlocks {
    pub fn new<const FMA: bool>(a: f32, b: f32) -> Self {
        let mut t = TimeBlocks { a, b, c: [[0.0; 2]; 4], q: [[1.0; 2]; 4] };
        // (a · 1 is a exactly: the same values as model.wgsl's written-out j = 1.)
        for j in 1..4u8 {
            let jf = f32::from(j);
            t.c[j as usize] = [one_minus_exp_neg::<FMA>(a * jf), one_minus_exp_neg::<FMA>(b * jf)];
            t.q[j as usize] = [exp_f32::<FMA>(-(a * jf)), exp_f32::<FMA>(-(b * jf))];
        }
        t
    }

    /// Time factors of the substep about to run after `k` optimizer steps and `j` substeps
    /// (`refine` per step): the optimizer's (1/b₁, 1/b₂) with b_i = 1 − β_i^{k+1}, the SDE's
    /// (√ι₂/ι₁, √ι₂); unused (0, 0) for other kernels.
    #[inline(always)]
    pub fn factors<const MODEL: u32, const FMA: bool>(&self, k: u32, j: u32, refine: u32) -> [f32; 2] {
        if const { !Kernel::from_id(MODEL).has_time_factors() } {
            return [0.0, 0.0];
        }
        let nn = k as f32 * refine as f32 + j as f32 + 1.0;
        let jb = (k.wrapping_mul(refine).wrapping_add(j) & 3) as usize;
        let nb = nn - jb as f32;
        let i1 = self.c[jb][0] + self.q[jb][0] * one_minus_exp_neg::<FMA>(self.a * nb);
        let i2 = self.c[jb][1] + self.q[jb][1] * one_minus_exp_neg::<FMA>(self.b * nb);
        if const { matches!(Kernel::from_id(MODEL), Kernel::Adam) } {
            [1.0 / i1, 1.0 / i2]
        } else {
            let s2 = i2.sqrt();
            [s2 / i1, s2]
        }
    }
}

/// RMSprop with the slots of [`rmsprop`].
#[inline(always)]
pub fn rmsprop_update(x: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; SLOTS]) {
    use rmsprop::*;
    let gg = g + p[SCALE] * xi;
    *v += p[ONE_MINUS_BETA] * (gg * gg - *v);
    *x = *x - p[ETA] * gg / (v.max(0.0).sqrt() + p[EPS]) - p[ETA_DECAY] * *x;
}

/// Adam with the slots of [`adam`]; tf = (1/b₁, 1/b₂).
#[inline(always)]
pub fn adam_update(x: &mut f32, m: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; SLOTS], tf: [f32; 2]) {
    use adam::*;
    let gg = g + p[SCALE] * xi;
    *m += p[ONE_MINUS_BETA1] * (gg - *m);
    *v += p[ONE_MINUS_BETA2] * (gg * gg - *v);
    *x = *x - p[ETA] * (*m * tf[0]) / ((v.max(0.0) * tf[1]).sqrt() + p[EPS]) - p[ETA_DECAY] * *x;
}

/// The RMSprop SDE with the slots of [`rmsprop_sde`]; `gsq` = 1 includes (∇f)² in dV (P1), 0
/// leaves it out (P7).
#[inline(always)]
pub fn rmsprop_sde_update(x: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; SLOTS], gsq: f32) {
    use rmsprop_sde::*;
    *v += p[RHO_DT] * (gsq * g * g + p[SIGMA_SQ] - *v);
    let pp = v.max(0.0).sqrt() + p[EPS];
    *x = *x - (p[DT] * g + p[NOISE] * xi) / pp - p[DECAY_DT] * *x;
}

/// The Adam SDE with the slots of [`adam_sde`]; tf = (√ι₂/ι₁, √ι₂).
/// The drift and the noise term share one division by P (a second one was slower on lavapipe:
/// benches/NOTES.md, "Lavapipe: a speculative SignSGD SDE kernel").
#[inline(always)]
pub fn adam_sde_update(
    x: &mut f32,
    m: &mut f32,
    v: &mut f32,
    g: f32,
    xi: f32,
    p: &[f32; SLOTS],
    tf: [f32; 2],
    gsq: f32,
) {
    use adam_sde::*;
    *v += p[RHO2_DT] * (gsq * g * g + p[SIGMA_SQ] - *v);
    let pp = v.max(0.0).sqrt() + p[EPS] * tf[1];
    *x = *x
        - (p[DT] * tf[0] * (*m + p[DRIFT_CORRECTION] * (g - *m)) + tf[0] * p[NOISE_COMPANION] * xi) / pp
        - p[DECAY_DT] * *x;
    *m = *m + p[RHO1_DT] * (g - *m) + p[M_NOISE] * xi;
}
