//! Distributed SGD and SignSGD with N homogeneous agents (spec §2, §6.1–6.2).
//!
//! Every agent draws its own noisy gradient g_a = ∇f(x) + σξ_a at the shared iterate:
//! * DSGD: x ← x − η (1/N) Σ_a g_a = x − η (∇f + σ (1/N) Σ_a ξ_a).
//! * DSignSGD: the server averages the signs, x ← x − η (1/N) Σ_a sign(g_a).
//!
//! Each agent's normal is its own draw of the path's stream (normal index
//! m = (substep · d + i) · N + a), so the optimizers really sample N gradients per step.
//!
//! The SDEs (t = kη) are the single-agent ones with the diffusion scaled by 1/√N:
//! * DSGD: dX = −∇f dt + √(η/N) σ dW (spec §2 (b)): the `sgd-sde` kernel, noise √(ηΔt/N)σ.
//! * DSignSGD: dX = −erf(∇f/(√2σ)) dt + √(η/N) √(1 − erf²) dW (the mean of N independent signs
//!   has the same mean and 1/N of the variance): the `signsgd-sde` kernel, noise √(ηΔt/N).
//!
//! Oracles (spec §2 (c), §14 S7): DSGD's exact discrete E x_i² = ησ²/(N h(2 − ηh)); DSignSGD's
//! stationary loss (η/(4N))√(π/2) Tr Σ^{1/2} (phase-3 linearisation).

use crate::math::sign_f32;

use super::{sgd, signsgd};

/// (p0..p2) of the distributed models; `n` agents, noise `scale` and standard deviation `std`
/// (see [`super::model_coefs`]).
pub fn coefs(kind: crate::spec::ModelKind, eta: f64, dt: f64, scale: f64, std: f64, n: u32, student: bool) -> [f64; 3] {
    use crate::spec::ModelKind as K;
    let n = f64::from(n);
    match kind {
        K::DsgdSde => sgd::sde_coefs(eta, dt, std / n.sqrt()),
        K::DsignsgdSde => {
            let c = signsgd::sde_coefs(eta, dt, scale, student);
            [c[0], c[1] / n.sqrt(), c[2]]
        }
        // p0 = η, p1 = σ, p2 = 1/N.
        K::Dsgd | K::Dsignsgd => [eta, scale, 1.0 / n],
        _ => unreachable!("not a distributed model"),
    }
}

/// Adds one agent's draw to the coordinate's aggregate: the normal itself (DSGD, kernel 8) or
/// the sign of the agent's noisy gradient (DSignSGD, kernel 9).
#[inline(always)]
pub fn accumulate<const MODEL: u32>(acc: f32, g: f32, xi: f32, p1: f32) -> f32 {
    if MODEL == 8 { acc + xi } else { acc + sign_f32(g + p1 * xi) }
}

/// DSGD (kernel 8): x − η (g + σ · mean ξ); `acc` = Σ_a ξ_a.
#[inline(always)]
pub fn dsgd_update(x: f32, g: f32, acc: f32, p0: f32, p1: f32, p2: f32) -> f32 {
    x - p0 * (g + p1 * (acc * p2))
}

/// DSignSGD (kernel 9): x − η · mean sign; `acc` = Σ_a sign(g + σξ_a).
#[inline(always)]
pub fn dsignsgd_update(x: f32, acc: f32, p0: f32, p2: f32) -> f32 {
    x - p0 * (acc * p2)
}
