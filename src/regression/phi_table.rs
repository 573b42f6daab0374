//! signHSGD's drift factor φ(P) with Student-t labels, tabulated once per parameter group for the
//! kernels (`data_phi_tabulated` in `shaders/shared/data.wgsl`, twin `crate::objective::phi_tabulated`).
//!
//! With labels ε = sT, T ~ t_ν, write s_P = √(2P + s²) and w = s/s_P ∈ [0, 1]. Then
//!
//!   φ(P) = (2/π) E[e^{−ε²/(4P)}]/√(2P) = (2/π) R(w)/s_P,   R(w) = E[e^{−aT²}]/√(1 − w²),
//!
//! with a = s²/(4P) = w²/(2(1 − w²)). R is bounded and smooth: R(0) = 1 (P → ∞, where the labels
//! no longer matter) and R(1) = √(2π) c_ν (P → 0: E[e^{−aT²}] → c_ν √(π/a), c_ν the t density at
//! 0); Gaussian labels of standard deviation s give R ≡ 1, the closed form 2/(π√(2P + σ²)). The
//! kernel already has s_P (it is the SGD SDE's s with s² in place of E ε²), so it finds w with one
//! division and reads R by linear interpolation on the grid w_n = n/[`PHI_INTERVALS`]: no log, no
//! special function, the same f32 operations on both backends.
//!
//! Interpolation error: R'' is bounded except at w → 0 for ν < 2, where R − 1 ∝ w^ν; measured
//! against [`LabelNoise::phi`] over P from 10⁻⁴ s² to 10⁴ s² (the unit test below), the table's φ
//! is within 2·10⁻⁶ of the quadrature for ν ∈ [1, 30] — far below the Monte Carlo error of any
//! risk curve it drives, and near f32 rounding.

use std::f64::consts::PI;

use super::label::student_gauss_mean;
use crate::noise::c_nu;

pub use crate::objective::{PHI_INTERVALS, PHI_WORDS};

/// R(w) for labels s·t_ν (independent of s): E[e^{−aT²}]/√(1 − w²), a = w²/(2(1 − w²)), with the
/// limits 1 at w = 0 and √(2π) c_ν at w = 1.
pub fn phi_ratio(nu: f64, w: f64) -> f64 {
    if w <= 0.0 {
        return 1.0;
    }
    if w >= 1.0 {
        return (2.0 * PI).sqrt() * c_nu(nu);
    }
    let one_minus = 1.0 - w * w;
    student_gauss_mean(nu, w * w / (2.0 * one_minus)) / one_minus.sqrt()
}

/// The words the kernels read for labels s·t_ν: s², then R(n/[`PHI_INTERVALS`]) for n = 0 ..=
/// [`PHI_INTERVALS`] (f32).
pub fn phi_words(nu: f64, scale: f64) -> Vec<f32> {
    let mut words = Vec::with_capacity(PHI_WORDS);
    words.push((scale * scale) as f32);
    words.extend((0..=PHI_INTERVALS).map(|n| phi_ratio(nu, n as f64 / PHI_INTERVALS as f64) as f32));
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regression::LabelNoise;

    /// The kernels' tabulated φ (`crate::objective::phi_tabulated`, in f32, at s = √(2P + s²)
    /// formed in f32 as the kernels do) against the quadrature's at 200 values of P spread
    /// log-uniformly over 10⁻⁴ … 10⁴ times s², for heavy and light tails; and R's limits.
    #[test]
    fn the_table_matches_the_quadrature() {
        for nu in [1.0, 2.5, 3.0, 5.0, 30.0] {
            for scale in [0.5, 2.0] {
                let words = phi_words(nu, scale);
                assert_eq!(words.len(), PHI_WORDS);
                let label = LabelNoise::StudentT { nu, scale };
                let mut worst: f64 = 0.0;
                for j in 0..200 {
                    let p = scale * scale * 10f64.powf(-4.0 + 8.0 * j as f64 / 199.0);
                    let exact = label.phi(p);
                    let s = (2.0 * p as f32 + words[0]).sqrt();
                    let table = f64::from(crate::objective::phi_tabulated(&words, scale as f32, s));
                    worst = worst.max((table / exact - 1.0).abs());
                }
                assert!(worst < 2e-6, "nu = {nu}, scale = {scale}: relative error {worst:e}");
            }
            assert_eq!(phi_ratio(nu, 0.0), 1.0);
            let near_one = phi_ratio(nu, 1.0 - 1e-9);
            assert!((near_one / phi_ratio(nu, 1.0) - 1.0).abs() < 1e-4, "nu = {nu}: R(1) {near_one}");
        }
        // Gaussian-like tails: R tends to 1 everywhere as nu grows.
        assert!((phi_ratio(1e6, 0.5) - 1.0).abs() < 1e-5);
    }
}
