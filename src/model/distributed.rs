//! Distributed SGD and SignSGD with N homogeneous agents (docs/distributed.md).
//!
//! Every agent draws its own noisy gradient g_a = ∇f(x) + σξ_a at the shared iterate:
//! * DSGD: x ← x − η (1/N) Σ_a g_a = x − η (∇f + σ (1/N) Σ_a ξ_a).
//! * DSignSGD: the server averages the signs, x ← x − η (1/N) Σ_a sign(g_a).
//!
//! Each agent's normal is its own draw of the path's stream (normal index
//! m = (substep · d + i) · N + a), so the optimizers really sample N gradients per step.
//!
//! The SDEs (t = kη) are the single-agent ones with the diffusion scaled by 1/√N:
//! * DSGD: dX = −∇f dt + √(η/N) σ dW (docs/distributed.md): the `sgd-sde` kernel, noise √(ηΔt/N)σ.
//! * DSignSGD: dX = −erf(∇f/(√2σ)) dt + √(η/N) √(1 − erf²) dW (the mean of N independent signs
//!   has the same mean and 1/N of the variance): the `signsgd-sde` kernel, noise √(ηΔt/N).
//!
//! Oracles (docs/distributed.md, docs/oracles.md S7): DSGD's exact discrete E x_i² = ησ²/(N h(2 − ηh)); DSignSGD's
//! stationary loss (η/(4N))√(π/2) Tr Σ^{1/2} (phase-3 linearisation).

use crate::kernel::Kernel;
use crate::kernel::coefs::{SLOTS, agents, row, signsgd_sde};
use crate::math::sign_f32;

use super::{sgd, signsgd};

/// The coefficient slots of the distributed models; `n` agents, noise `scale` and standard
/// deviation `std` (see [`super::model_coefs`]).
pub fn coefs(
    kind: crate::experiment::ModelKind,
    eta: f64,
    dt: f64,
    scale: f64,
    std: f64,
    n: u32,
    student: bool,
) -> [f64; SLOTS] {
    use crate::experiment::ModelKind as K;
    match kind {
        K::DsgdSde => sgd::sde_coefs(eta, dt, std / f64::from(n).sqrt()),
        K::DsignsgdSde => {
            let mut c = signsgd::sde_coefs(eta, dt, scale, student);
            c[signsgd_sde::NOISE] /= f64::from(n).sqrt();
            c
        }
        K::Dsgd | K::Dsignsgd => agent_coefs(eta, scale, n),
        _ => unreachable!("not a distributed model"),
    }
}

/// The coefficient slots of the kernels that aggregate `n` agents ([`agents`]).
pub fn agent_coefs(eta: f64, scale: f64, n: u32) -> [f64; SLOTS] {
    row([(agents::ETA, eta), (agents::SCALE, scale), (agents::INV_AGENTS, 1.0 / f64::from(n))])
}

/// Adds one agent's draw to the coordinate's aggregate: the normal itself (DSGD) or the sign of
/// the agent's noisy gradient (DSignSGD); `scale` is the agent's noise scale.
#[inline(always)]
pub fn accumulate<const MODEL: u32>(acc: f32, g: f32, xi: f32, scale: f32) -> f32 {
    if const { matches!(Kernel::from_id(MODEL), Kernel::Dsgd) } { acc + xi } else { acc + sign_f32(g + scale * xi) }
}

/// DSGD: x − η (g + σ · mean ξ); `acc` = Σ_a ξ_a.
#[inline(always)]
pub fn dsgd_update(x: f32, g: f32, acc: f32, eta: f32, scale: f32, inv_agents: f32) -> f32 {
    x - eta * (g + scale * (acc * inv_agents))
}

/// DSignSGD: x − η · mean sign; `acc` = Σ_a sign(g + σξ_a).
#[inline(always)]
pub fn dsignsgd_update(x: f32, acc: f32, eta: f32, inv_agents: f32) -> f32 {
    x - eta * (acc * inv_agents)
}
