//! SGD and its SDE (docs/sgd.md, N = 1).
//!
//! Discrete: x_{k+1} = x_k − η (∇f(x_k) + Z_k), Z_k ~ N(0, diag σ²).
//!
//! SDE (t = kη): dX_t = −∇f(X_t) dt + √η diag(σ) dW_t, integrated by Euler–Maruyama with
//! Δt = η/r: X ← X − Δt ∇f(X) + √(η Δt) σ ξ.
//!
//! Oracles (docs/sgd.md, docs/oracles.md T1/T2): on f = ½ Σ h_i x_i², EM has stationary variance
//! s²/(a(2 − aΔt)) with a = h_i, s² = η σ_i² (exact for the scheme; r = 1 reproduces the
//! discrete optimizer's ησ²/(h(2 − ηh))); the SDE's stationary E f = (η/4) Tr Σ.

use crate::kernel::coefs::{SLOTS, discrete, row, sgd_sde};

/// The SDE's coefficient slots ([`sgd_sde`]).
pub fn sde_coefs(eta: f64, dt: f64, sigma: f64) -> [f64; SLOTS] {
    row([(sgd_sde::DT, dt), (sgd_sde::NOISE, (eta * dt).sqrt() * sigma)])
}

/// The optimizer's coefficient slots ([`discrete`]).
pub fn discrete_coefs(eta: f64, sigma: f64) -> [f64; SLOTS] {
    row([(discrete::ETA, eta), (discrete::SCALE, sigma)])
}

#[inline(always)]
pub fn sde_update(x: f32, g: f32, xi: f32, dt: f32, noise: f32) -> f32 {
    x - dt * g + noise * xi
}

#[inline(always)]
pub fn discrete_update(x: f32, g: f32, xi: f32, eta: f32, scale: f32) -> f32 {
    x - eta * (g + scale * xi)
}
