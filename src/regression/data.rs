//! The data of a `linear-regression` objective as the host builds it: the diagonal of the data
//! covariance K from a named spectrum, and a random target x* ~ N(0, I/d) from a seed.

use crate::rng::{STREAM_TARGET, block_words};

/// k_i = lo + (hi − lo) i/(d − 1), i = 0 … d − 1 (numpy's `linspace(lo, hi, d)`; lo for d = 1).
pub fn linear_spectrum(lo: f64, hi: f64, d: usize) -> Vec<f64> {
    if d == 1 {
        return vec![lo];
    }
    (0..d).map(|i| lo + (hi - lo) * i as f64 / (d - 1) as f64).collect()
}

/// k_i = s (i + 1)^(−α), i = 0 … d − 1: a power-law spectrum with largest eigenvalue s.
pub fn power_spectrum(alpha: f64, scale: f64, d: usize) -> Vec<f64> {
    (0..d).map(|i| scale * ((i + 1) as f64).powf(-alpha)).collect()
}

/// x* ~ N(0, I/d) drawn from `seed` (stream [`STREAM_TARGET`], path 0): the same target on every
/// machine. Box–Muller in f64 from the block's words, two normals per pair of words.
pub fn draw_target(d: usize, seed: u64) -> Vec<f64> {
    let unit = |w: u32| (f64::from(w) + 0.5) / 4_294_967_296.0;
    let scale = 1.0 / (d as f64).sqrt();
    (0..d)
        .map(|n| {
            let w = block_words(seed, STREAM_TARGET, 0, (n / 2) as u64);
            let r = (-2.0 * unit(w[0]).ln()).sqrt();
            let a = std::f64::consts::TAU * unit(w[1]);
            scale * if n.is_multiple_of(2) { r * a.cos() } else { r * a.sin() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectra_follow_their_formulas() {
        assert_eq!(linear_spectrum(0.2, 2.0, 3), vec![0.2, 1.1, 2.0]);
        assert_eq!(linear_spectrum(0.5, 2.0, 1), vec![0.5]);
        let p = power_spectrum(1.0, 2.0, 4);
        assert_eq!(p, vec![2.0, 1.0, 2.0 / 3.0, 0.5]);
    }

    #[test]
    fn the_target_has_variance_one_over_d() {
        let d = 4000;
        let x = draw_target(d, 7);
        let m2 = x.iter().map(|v| v * v).sum::<f64>();
        // Σ x_i² = χ²_d / d: mean 1, sd √(2/d) = 0.022.
        assert!((m2 - 1.0).abs() < 5.0 * (2.0 / d as f64).sqrt(), "sum of squares {m2}");
        assert_eq!(draw_target(d, 7), x, "the same draw from the same seed");
        assert_ne!(draw_target(d, 8)[0], x[0]);
    }
}
