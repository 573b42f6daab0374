//! RMSprop(W) and Adam(W): the optimizers (spec §4.1), the SDEs of P1 (spec §4.2, t = kη) and
//! of Malladi et al. (P7, spec §5, t = kη²).
//!
//! **Optimizers** (g = ∇f(x) + Z, Z ~ N(0, diag σ²); decoupled weight decay θ applied to the
//! iterate *before* the step, `x_{k+1} = x_k − η·step − ηθ x_k`, spec §4.1):
//! * RMSprop: v ← v + (1 − β)(g² − v); x ← x − η g/(√v + ε) − ηθx.
//! * Adam: m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
//!   x ← x − η (m/b₁)/(√(v/b₂) + ε) − ηθx with b_i = 1 − β_i^{k+1}.
//!
//! **P1 SDEs** (ρ_i = (1 − β_i)/η, ι_i(t) = 1 − e^{−ρ_i t}):
//! * RMSprop: dX = −P⁻¹(∇f dt + √η σ dW) − θX dt, dV = ρ((∇f)² + σ² − V)dt, P = √V + ε.
//! * Adam: dX = −(√ι₂/ι₁) P⁻¹ (M + ηρ₁(∇f − M)) dt − θX dt [− (√ι₂/ι₁) P⁻¹ ηρ₁ √η σ dW],
//!   dM = ρ₁(∇f − M)dt + √η ρ₁ σ dW, dV = ρ₂((∇f)² + σ² − V)dt, P = √V + ε√ι₂.
//!   `correction = "consistent"` (default) keeps the ηρ₁ drift term *and* the bracketed noise
//!   companion driven by the same W as M (spec §4.2 "Pitfall", choice b): one EM step with
//!   Δt = η and frozen V is then exactly the AdamW step. `"drift-only"` drops the companion
//!   (biased low, ×0.81 at β₁ = 0.9, spec T13); `"none"` drops both (choice a).
//!
//! **P7 SDEs** (t = kη², σ₀ = η with the minibatch covariance σ₀²Σ/η² = diag σ², ε₀ = εη,
//! c_i = (1 − β_i)/η²): the same equations without (∇f)² in dV, without weight decay and
//! without the correction. Written per optimizer step they coincide with the P1 kernels'
//! arithmetic (Δt/P = (η/r)/(√u + ε), noise ησ/√r), so they run on those kernels with their own
//! coefficients; only the reported time axis (t = kη²) differs.
//!
//! **Scheme** (spec §13.5). Euler–Maruyama with Δt = η/r, starting at t = Δt (as the optimizer
//! starts at k = 1) and advancing V *first*, then X with P(V_{n+1}) and M_n, then M: plain
//! simultaneous EM would divide by ε√ι₂ on the first step, from which the path never recovers.
//! 1 − β is computed in f64 on the host and only 1 − β (or ρΔt = (1 − β)/r) reaches the
//! device: 0.999 is not exact in f32. EMAs update as v += (1 − β)(g² − v). Bias corrections
//! 1 − e^{−u} use a series for u < 0.1 ([`crate::math::one_minus_exp_neg`]), evaluated by blocks
//! of four substeps without cancellation ([`TimeBlocks`]); the divisor is
//! `sqrt(max(V, 0)) + ε`, never an inverse square root of a possibly-zero value.

use crate::math::{exp_f32, one_minus_exp_neg};
use crate::spec::{Adaptive, Correction, ModelKind};

/// Per-coordinate coefficients p0..p8 (see the kernels' comments for their meaning).
pub fn coefs(kind: ModelKind, a: &Adaptive, eta: f64, refine: u32, sigma: f64) -> [f64; 9] {
    let r = f64::from(refine);
    let dt = eta / r;
    let (om1, om2) = (1.0 - a.beta1, 1.0 - a.beta2);
    match kind {
        ModelKind::Rmsprop => [eta, sigma, om2, a.eps, eta * a.weight_decay, 0.0, 0.0, 0.0, 0.0],
        ModelKind::Adam => [eta, sigma, om1, om2, a.eps, eta * a.weight_decay, 0.0, 0.0, 0.0],
        ModelKind::RmspropSde | ModelKind::RmspropMalladiSde => {
            [dt, (eta * dt).sqrt() * sigma, om2 / r, a.eps, a.weight_decay * dt, sigma * sigma, 0.0, 0.0, 0.0]
        }
        ModelKind::AdamSde | ModelKind::AdamMalladiSde => {
            let noise = (eta * dt).sqrt() * sigma;
            let (drift_corr, companion) = match a.correction {
                Correction::Consistent => (om1, om1 * noise),
                Correction::DriftOnly => (om1, 0.0),
                Correction::None => (0.0, 0.0),
            };
            // ρ₁ √(ηΔt) σ = (1 − β₁)/η · √(ηΔt) σ.
            [dt, om1 / eta * noise, om1 / r, om2 / r, a.eps, a.weight_decay * dt, sigma * sigma, drift_corr, companion]
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
/// a sum of two nonnegative terms, so no cancellation (spec §13.5), each ι within a few ulp. A
/// loop that runs a block's substeps in order then needs two exponentials per block instead of
/// two per substep: the packed lavapipe kernel (src/shader.rs `fast1_source`) spent about a
/// tenth of an adam-sde d = 1 run on them (benches/NOTES.md). The value of every substep
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
        if MODEL != 5 && MODEL != 7 {
            return [0.0, 0.0];
        }
        let nn = k as f32 * refine as f32 + j as f32 + 1.0;
        let jb = (k.wrapping_mul(refine).wrapping_add(j) & 3) as usize;
        let nb = nn - jb as f32;
        let i1 = self.c[jb][0] + self.q[jb][0] * one_minus_exp_neg::<FMA>(self.a * nb);
        let i2 = self.c[jb][1] + self.q[jb][1] * one_minus_exp_neg::<FMA>(self.b * nb);
        if MODEL == 5 {
            [1.0 / i1, 1.0 / i2]
        } else {
            let s2 = i2.sqrt();
            [s2 / i1, s2]
        }
    }
}

/// RMSprop (kernel 4): p0 = η, p1 = σ, p2 = 1 − β, p3 = ε, p4 = ηθ.
#[inline(always)]
pub fn rmsprop_update(x: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; 9]) {
    let gg = g + p[1] * xi;
    *v += p[2] * (gg * gg - *v);
    *x = *x - p[0] * gg / (v.max(0.0).sqrt() + p[3]) - p[4] * *x;
}

/// Adam (kernel 5): p0 = η, p1 = σ, p2 = 1 − β₁, p3 = 1 − β₂, p4 = ε, p5 = ηθ; tf = (1/b₁, 1/b₂).
#[inline(always)]
pub fn adam_update(x: &mut f32, m: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; 9], tf: [f32; 2]) {
    let gg = g + p[1] * xi;
    *m += p[2] * (gg - *m);
    *v += p[3] * (gg * gg - *v);
    *x = *x - p[0] * (*m * tf[0]) / ((v.max(0.0) * tf[1]).sqrt() + p[4]) - p[5] * *x;
}

/// RMSprop SDE (kernel 6): p0 = Δt, p1 = √(ηΔt)σ, p2 = ρΔt, p3 = ε, p4 = θΔt, p5 = σ²;
/// `gsq` = 1 includes (∇f)² in dV (P1), 0 leaves it out (P7).
#[inline(always)]
pub fn rmsprop_sde_update(x: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; 9], gsq: f32) {
    *v += p[2] * (gsq * g * g + p[5] - *v);
    let pp = v.max(0.0).sqrt() + p[3];
    *x = *x - (p[0] * g + p[1] * xi) / pp - p[4] * *x;
}

/// Adam SDE (kernel 7): p0 = Δt, p1 = ρ₁√(ηΔt)σ, p2 = ρ₁Δt, p3 = ρ₂Δt, p4 = ε, p5 = θΔt,
/// p6 = σ², p7 = ηρ₁ drift correction, p8 = ηρ₁√(ηΔt)σ noise companion; tf = (√ι₂/ι₁, √ι₂).
/// The drift and the noise term share one division by P (a second one cost the packed
/// lavapipe kernel about 5%, benches/NOTES.md).
#[inline(always)]
pub fn adam_sde_update(x: &mut f32, m: &mut f32, v: &mut f32, g: f32, xi: f32, p: &[f32; 9], tf: [f32; 2], gsq: f32) {
    *v += p[3] * (gsq * g * g + p[6] - *v);
    let pp = v.max(0.0).sqrt() + p[4] * tf[1];
    *x = *x - (p[0] * tf[0] * (*m + p[7] * (g - *m)) + tf[0] * p[8] * xi) / pp - p[5] * *x;
    *m = *m + p[2] * (g - *m) + p[1] * xi;
}
