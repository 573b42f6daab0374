//! Distributed compressed SGD (DCSGD) with N homogeneous agents and an unbiased compressor
//! (docs/compressed.md; P2).
//!
//! **Optimizer** (`dcsgd`): every agent a draws its own noisy gradient g_a = ∇f(x) + Z_a and
//! its own compressor randomness ξ_a; the server averages the compressed vectors:
//! x ← x − (η/N) Σ_a C_{ξ_a}(g_a). The compressors (docs/compressed.md), all with E C(v) = v:
//! * `identity`: C(v) = v (then DCSGD is DSGD and runs on that kernel);
//! * `bernoulli` (p): keep each coordinate independently with probability p, scaled by 1/p.
//!   The device draws u = w >> 8 ∈ [0, 2^24) and keeps iff u < T with T = round(p 2^24); the
//!   scale is 2^24/T, so the compressor is exactly unbiased for the probability it realises;
//! * `rand-k` (k): a uniform k-subset S, scaled by d/k. S comes from selection sampling
//!   (Knuth's Algorithm S): coordinate i is kept with probability (k − kept)/(d − i), tested
//!   exactly in integers as u (d − i) < (k − kept) 2^24, so |S| = k always and every k-subset
//!   is equally likely up to the 2^−24 grid of u;
//! * `qsgd` (s levels, ℓ2): C(v)_j = (‖v‖/s) sign(v_j) ζ_j, ζ_j = l_j + [u < τ_j] with
//!   r_j = s|v_j|/‖v‖, l_j = ⌊r_j⌋, τ_j = r_j − l_j;
//! * `natural`: |v_j| ∈ [2^a, 2^{a+1}) becomes 2^{a+1} with probability (|v_j| − 2^a)/2^a, else
//!   2^a, sign kept (2^a read from the float's exponent bits, exact; zero and subnormal values
//!   pass unchanged).
//!
//! Random numbers: agent a's noise variate for coordinate i at step k has index
//! m = (k N + a) d + i in the path's noise stream; its compressor word has the same index in
//! the compressor stream [`crate::rng::STREAM_COMPRESS`] (one 32-bit word each, four per
//! Threefry block). The kernel loops agents outside coordinates, so both streams are read in
//! order.
//!
//! **SDE** (`dcsgd-sde`, t = kη, docs/compressed.md):
//! dX = −∇f dt + √(η/N) (Σ + E_Z Ω_C(∇f + Z))^{1/2} dW, with Σ the noise covariance (for
//! Student-t noise Var Z_i = s_i² ν_i/(ν_i − 2), ν > 2). With ω the compressor's variance
//! parameter:
//! * identity (ω = 0): the DSGD SDE (`Kernel::SgdSde` with the noise scaled by 1/√N);
//! * bernoulli: diagonal diffusion (η/N)((1 + ω)σ_i² + ω (∂_i f)²) (`Kernel::BernoulliSde`):
//!   X_i ← X_i − Δt ∂_i f + √(p + q (∂_i f)²) ξ_i, p = (ηΔt/N)(1 + ω)σ_i², q = (ηΔt/N)ω;
//! * rand-k: E_Z Ω = ω diag(σ²) + ω/(d − 1) diag(∇f)(d I − 11ᵀ)diag(∇f), sampled in O(d)
//!   (docs/compressed.md, `Kernel::RandkSde`): X ← X − Δt ∇f + a ⊙ z₁ + b ∇f ⊙ (z₂ − z̄₂ 1),
//!   a_i = √(ηΔt(1 + ω)/N) σ_i, b = √(ηΔt ω d/((d − 1) N)), z₁, z₂ ~ N(0, I_d), z̄₂ their mean.
//!   Cov(b ∇f ⊙ (z₂ − z̄₂1)) = b² (diag(∇f)² − ∇f∇fᵀ/d) is the rand-k term. Per substep the
//!   normals are z₂ (indices 2d·n + i) then z₁ (2d·n + d + i).
//!   (With k = d, ω = 0 and this is the identity.)
//!
//! On sampled data (`linear-regression`) Σ is the state's Σ(r)/B and the same average gives the
//! samplers of docs/regression.md "Compressed SDEs" ([`data_sde_coefs`]; `shaders/shared/data.wgsl`).
//!
//! qsgd and natural compression have no closed-form E_Z Ω; the SDE refuses them (validation).
//!
//! Oracles (docs/compressed.md, docs/oracles.md T3/T4/R8/R9/H4): exact discrete E x_j² =
//! η(1 + ω)σ_j²/(h_j(2N − ηh_j(N + ω))) (identical for bernoulli and rand-k with the same ω);
//! exact EM E x_j² = (η/N)(1 + ω)σ_j²/(h_j(2 − h_jΔt) − ηωh_j²/N); the 1-D SDE's stationary law
//! is a scaled Student-t with ν' = 1 + 2N/(ηωh).

use crate::experiment::Compressor;
use crate::kernel::coefs::{SLOTS, bernoulli_sde, dcsgd, randk_sde, row};
use crate::kernel::{COMP_BERNOULLI, COMP_NATURAL, COMP_QSGD, COMP_RANDK};
use crate::math::sign_f32;

/// Bernoulli keep threshold T = round(p 2^24) ∈ [1, 2^24] (keep iff u < T, u ∈ [0, 2^24)).
pub fn bernoulli_threshold(p: f64) -> u32 {
    ((p * 16_777_216.0).round() as u32).clamp(1, 1 << 24)
}

/// The optimizer's coefficient slots ([`dcsgd`]) with the compressor's parameter and scale:
/// bernoulli (T, 2^24/T), rand-k (k, d/k), qsgd (s, 1/s), natural and identity unused.
pub fn discrete_coefs(c: &Compressor, eta: f64, scale: f64, n: u32, d: usize) -> [f64; SLOTS] {
    let (c3, c4) = match *c {
        Compressor::Bernoulli { p } => {
            let t = bernoulli_threshold(p);
            (f64::from(t), 16_777_216.0 / f64::from(t))
        }
        Compressor::RandK { k } => (f64::from(k), d as f64 / f64::from(k)),
        Compressor::Qsgd { levels } => (f64::from(levels), 1.0 / f64::from(levels)),
        Compressor::Identity | Compressor::Natural => (0.0, 0.0),
    };
    row([
        (dcsgd::ETA, eta),
        (dcsgd::SCALE, scale),
        (dcsgd::INV_AGENTS, 1.0 / f64::from(n)),
        (dcsgd::COMP_PARAM, c3),
        (dcsgd::COMP_SCALE, c4),
    ])
}

/// The SDE's coefficient slots, bernoulli ([`bernoulli_sde`]) or rand-k ([`randk_sde`]); `std` is
/// the noise's standard deviation of this coordinate.
pub fn sde_coefs(c: &Compressor, eta: f64, dt: f64, std: f64, n: u32, d: usize) -> [f64; SLOTS] {
    let n = f64::from(n);
    let w = c.omega(d);
    match c {
        Compressor::Bernoulli { .. } => row([
            (bernoulli_sde::DT, dt),
            (bernoulli_sde::BASE_VAR, eta * dt / n * (1.0 + w) * std * std),
            (bernoulli_sde::GRAD_VAR, eta * dt / n * w),
        ]),
        Compressor::RandK { .. } => {
            let dd = d as f64;
            row([
                (randk_sde::DT, dt),
                (randk_sde::NOISE, (eta * dt * (1.0 + w) / n).sqrt() * std),
                (randk_sde::GRAD_NOISE, (eta * dt * w * dd / ((dd - 1.0) * n)).sqrt()),
            ])
        }
        _ => unreachable!("the compressed SDE kernels are bernoulli and rand-k"),
    }
}

/// One coordinate of one agent's compressed vector (twin of `compress` in model.wgsl).
/// `v`: the agent's noisy gradient coordinate; `w`: its compressor word; `(c3, c4)`: see
/// [`discrete_coefs`]; `kept`: rand-k's running count of kept coordinates (updated);
/// `left` = d − i coordinates not yet visited (this one included); `norm` = ‖v‖ (qsgd).
#[inline(always)]
pub fn compress<const COMP: u32>(v: f32, w: u32, c3: f32, c4: f32, kept: &mut u32, left: u32, norm: f32) -> f32 {
    let u = w >> 8;
    let uf = (u as i32) as f32 * (1.0 / 16_777_216.0);
    match COMP {
        COMP_BERNOULLI => {
            if u < c3 as u32 {
                v * c4
            } else {
                0.0
            }
        }
        COMP_RANDK => {
            let need = (c3 as u32).wrapping_sub(*kept);
            // need < left here unless every remaining coordinate must be kept; then need <= 255
            // and (need << 24) fits (d <= 256), and u · left < 2^24 · 256 fits as well. Both
            // sides are evaluated (`|`, not `||`) and `kept` is stored unconditionally: with a
            // short-circuit, LLVM vectorised the increment as two masked stores, which AMD's
            // AVX2 cores run in microcode (benches/NOTES.md, "CPU twin on AVX2: a Zen 3 VM").
            let keep = (need >= left) | (u * left < (need.min(255) << 24));
            *kept = kept.wrapping_add(u32::from(keep));
            if keep { v * c4 } else { 0.0 }
        }
        COMP_QSGD => {
            let r = if norm > 0.0 { c3 * v.abs() / norm } else { 0.0 };
            let l = r.floor();
            let zeta = if uf < r - l { l + 1.0 } else { l };
            sign_f32(v) * (zeta * (norm * c4))
        }
        COMP_NATURAL => {
            let a = v.abs();
            let lo = f32::from_bits(a.to_bits() & 0x7F80_0000);
            let up = uf < (a - lo) / lo;
            let r = if up { lo + lo } else { lo };
            if lo > 0.0 { sign_f32(v) * r } else { v }
        }
        _ => v,
    }
}

/// The SDE's coefficient slots on sampled data (`linear-regression` with `batch` points per step
/// and agent; docs/regression.md "Compressed SDEs"): the SGD SDE's variate, whose covariance is
/// Σ(r), scaled by `DATA_NOISE`, plus the compressor's diagonal terms through `GRAD_VAR`
/// (bernoulli) or `GRAD_NOISE` (rand-k), which the data stage multiplies by the state's Σ_ii/B
/// and ∇f.
pub fn data_sde_coefs(c: &Compressor, eta: f64, dt: f64, batch: u32, n: u32, d: usize) -> [f64; SLOTS] {
    let (n, b, w, dd) = (f64::from(n), f64::from(batch), c.omega(d), d as f64);
    match c {
        Compressor::Bernoulli { .. } => row([
            (bernoulli_sde::DT, dt),
            (bernoulli_sde::GRAD_VAR, eta * dt / n * w),
            (bernoulli_sde::DATA_NOISE, (eta * dt / (n * b)).sqrt()),
        ]),
        Compressor::RandK { .. } => row([
            (randk_sde::DT, dt),
            (randk_sde::GRAD_NOISE, (eta * dt * w * dd / ((dd - 1.0) * n)).sqrt()),
            (randk_sde::DATA_NOISE, (eta * dt * (1.0 - w / (dd - 1.0)) / (n * b)).sqrt()),
        ]),
        _ => unreachable!("the compressed SDE kernels are bernoulli and rand-k"),
    }
}

/// The bernoulli SDE, one coordinate ([`bernoulli_sde`]'s slots).
#[inline(always)]
pub fn bernoulli_sde_update(x: f32, g: f32, xi: f32, dt: f32, base_var: f32, grad_var: f32) -> f32 {
    x - dt * g + (base_var + grad_var * (g * g)).sqrt() * xi
}

/// The rand-k SDE, one coordinate ([`randk_sde`]'s slots); `dz` = z₂ − z̄₂.
#[inline(always)]
pub fn randk_sde_update(x: f32, g: f32, z1: f32, dz: f32, dt: f32, noise: f32, grad_noise: f32) -> f32 {
    x - dt * g + noise * z1 + grad_noise * g * dz
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each compressor is unbiased: the average over all 2^16 evenly spaced words (the top 16
    /// bits, so u runs over the whole grid) equals v up to the grid's resolution.
    #[test]
    fn compressors_unbiased_over_the_word_grid() {
        let v = [0.37f32, -1.9, 3.3e-3, 5.0];
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        for (comp, c3, c4) in
            [(COMP_BERNOULLI, 4_194_304.0, 4.0), (COMP_QSGD, 3.0, 1.0 / 3.0), (COMP_NATURAL, 0.0, 0.0)]
        {
            for &vi in &v {
                let mut s = 0.0f64;
                for j in 0..65536u32 {
                    let w = (j << 16) | 0x8000;
                    let mut kept = 0;
                    let out = match comp {
                        COMP_BERNOULLI => compress::<COMP_BERNOULLI>(vi, w, c3, c4, &mut kept, 1, norm),
                        COMP_QSGD => compress::<COMP_QSGD>(vi, w, c3, c4, &mut kept, 1, norm),
                        _ => compress::<COMP_NATURAL>(vi, w, c3, c4, &mut kept, 1, norm),
                    };
                    s += f64::from(out);
                }
                let mean = s / 65536.0;
                assert!(
                    (mean - f64::from(vi)).abs() <= 1e-4 * f64::from(vi.abs()).max(1.0),
                    "comp {comp}: {mean} vs {vi}"
                );
            }
        }
    }

    /// Selection sampling keeps exactly k of d coordinates for any words.
    #[test]
    fn randk_keeps_exactly_k() {
        for (d, k) in [(8u32, 2u32), (5, 5), (256, 256), (256, 1), (3, 1)] {
            for seed in 0..200u32 {
                let mut kept = 0;
                let mut count = 0;
                for i in 0..d {
                    let w =
                        seed.wrapping_mul(2_654_435_761).wrapping_add(i.wrapping_mul(40_503)).rotate_left(seed % 32);
                    let out = compress::<COMP_RANDK>(1.0, w, k as f32, d as f32 / k as f32, &mut kept, d - i, 0.0);
                    count += u32::from(out != 0.0);
                }
                assert_eq!((kept, count), (k, k), "d = {d}, k = {k}");
            }
        }
    }
}
