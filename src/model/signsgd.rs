//! SignSGD and its SDE (docs/signsgd.md; P1 Thm 3.2 / Cor 3.3), Gaussian diagonal noise.
//!
//! Discrete: x_{k+1} = x_k − η sign(∇f(x_k) + Z_k), sign(0) = 0.
//!
//! SDE (t = kη), with e(x) = erf(Σ^{-1/2} ∇f(x) / √2) coordinate-wise:
//! dX_t = −e(X_t) dt + √η √(1 − e(X_t)²) dW_t,
//! since P(∂_i f + σ_i ξ < 0) = Φ(−∂_i f/σ_i) and 1 − 2Φ(−z) = erf(z/√2); independent coordinates
//! give a diagonal sign covariance 1 − e². Euler–Maruyama with Δt = η/r:
//! X ← X − Δt e + √(ηΔt) √(1 − e²) ξ. erf and √(1 − erf²) are computed without cancellation
//! (docs/numerics.md, [`crate::math::erf_and_diffusion`]). σ_i > 0 is required.
//!
//! Oracles (docs/signsgd.md, docs/oracles.md S2/H2): stationary E f ≈ (η/4)√(π/2) Tr Σ^{1/2} (phase-3 linearisation,
//! relative bias O(ηh/σ)); the exact 1-D stationary density
//! p(x) ∝ (1 − e²)^{-1} exp(−(2/η) ∫₀ˣ e/(1 − e²) du) (docs/signsgd.md, H2).

use crate::kernel::coefs::{SLOTS, discrete, row, signsgd_sde};
use crate::math::{erf_and_diffusion, sign_f32};

/// The SDE's coefficient slots ([`signsgd_sde`]); with Student-t noise of scale s (docs/heavy-tails.md)
/// the kernels evaluate 2F_ν(g/s) − 1 in place of erf(g/(√2σ)) ([`crate::noise`]).
pub fn sde_coefs(eta: f64, dt: f64, sigma: f64, student: bool) -> [f64; SLOTS] {
    let inv_scale = if student { 1.0 / sigma } else { 1.0 / (std::f64::consts::SQRT_2 * sigma) };
    row([(signsgd_sde::DT, dt), (signsgd_sde::NOISE, (eta * dt).sqrt()), (signsgd_sde::INV_SCALE, inv_scale)])
}

/// The SDE step from the drift factor `e` (erf, or 2F_ν(g/s) − 1 for Student-t noise) and the
/// diffusion factor `s` = √(1 − e²) ([`erf_and_diffusion`], or the square root of
/// [`crate::noise::t_sign_moments`]'s 1 − e²).
#[inline(always)]
pub fn sde_update_with(x: f32, e: f32, s: f32, xi: f32, dt: f32, noise: f32) -> f32 {
    x - dt * e + noise * s * xi
}

/// The optimizer's coefficient slots ([`discrete`]).
pub fn discrete_coefs(eta: f64, sigma: f64) -> [f64; SLOTS] {
    row([(discrete::ETA, eta), (discrete::SCALE, sigma)])
}

#[inline(always)]
pub fn sde_update<const FMA: bool>(x: f32, g: f32, xi: f32, dt: f32, noise: f32, inv_scale: f32) -> f32 {
    let (e, s) = erf_and_diffusion::<FMA>(g * inv_scale);
    sde_update_with(x, e, s, xi, dt, noise)
}

#[inline(always)]
pub fn discrete_update(x: f32, g: f32, xi: f32, eta: f32, scale: f32) -> f32 {
    x - eta * sign_f32(g + scale * xi)
}
