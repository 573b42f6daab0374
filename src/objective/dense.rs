//! Dense quadratics f(x) = ½ (x − c)ᵀ H (x − c): H given entry by entry, or by its spectrum
//! H = Q diag(λ) Qᵀ with an orthogonal Q given or drawn Haar-uniformly from a seed. Host-side
//! f64 arithmetic; the kernels read H in f32 (`shaders/shared/objective_dense.wgsl`).

use crate::rng::{STREAM_BASIS, block_words};

/// Relative asymmetry a `hessian` may have: |H_ij − H_ji| ≤ this × max |H|.
pub const SYMMETRY_TOL: f64 = 1e-6;
/// Largest entry of |QᵀQ − I| a given `basis` may have.
pub const ORTHONORMAL_TOL: f64 = 1e-5;

/// The first (i, j) with |H_ij − H_ji| > [`SYMMETRY_TOL`] × max |H|, with the two entries.
pub fn asymmetry(h: &[Vec<f64>]) -> Option<(usize, usize, f64, f64)> {
    let scale = h.iter().flatten().fold(0.0f64, |a, v| a.max(v.abs()));
    for (i, row) in h.iter().enumerate() {
        for j in i + 1..row.len() {
            if (row[j] - h[j][i]).abs() > SYMMETRY_TOL * scale {
                return Some((i, j, row[j], h[j][i]));
            }
        }
    }
    None
}

/// The largest |(QᵀQ − I)_ij| of a square `q`, and where it is.
pub fn orthonormality_error(q: &[Vec<f64>]) -> (f64, usize, usize) {
    let d = q.len();
    let mut worst = (0.0, 0, 0);
    for a in 0..d {
        for b in a..d {
            let dot: f64 = (0..d).map(|r| q[r][a] * q[r][b]).sum();
            let err = (dot - if a == b { 1.0 } else { 0.0 }).abs();
            if err > worst.0 {
                worst = (err, a, b);
            }
        }
    }
    worst
}

/// H = Q diag(λ) Qᵀ, with the eigenvectors the columns of `q` (rows as written).
pub fn from_spectrum(eigenvalues: &[f64], q: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let d = eigenvalues.len();
    (0..d).map(|i| (0..d).map(|j| (0..d).map(|k| q[i][k] * eigenvalues[k] * q[j][k]).sum()).collect()).collect()
}

/// A Haar-distributed orthogonal d × d matrix drawn from `seed`: the Q of the QR factorisation
/// of a matrix of independent standard normals, its columns' signs fixed so that R has a
/// positive diagonal (Mezzadri, "How to generate random matrices from the classical compact
/// groups", Notices AMS 54, 2007), by modified Gram–Schmidt. The normals come from the
/// project's counter-based generator (stream [`STREAM_BASIS`], path 0, block = entry / 2) by
/// Box–Muller in f64, so every machine draws the same Q up to the last bits of libm's `ln` and
/// `cos` (correctly rounded on glibc and macOS); the kernels read it rounded to f32.
pub fn haar_orthogonal(d: usize, seed: u64) -> Vec<Vec<f64>> {
    let unit = |w: u32| (f64::from(w) + 0.5) / 4_294_967_296.0;
    let normal = |n: usize| -> f64 {
        let w = block_words(seed, STREAM_BASIS, 0, (n / 2) as u64);
        let r = (-2.0 * unit(w[0]).ln()).sqrt();
        let a = std::f64::consts::TAU * unit(w[1]);
        if n.is_multiple_of(2) { r * a.cos() } else { r * a.sin() }
    };
    // Column j of the Gaussian matrix, orthogonalised against the columns before it.
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(d);
    for j in 0..d {
        let mut v: Vec<f64> = (0..d).map(|i| normal(i * d + j)).collect();
        for c in &cols {
            let dot: f64 = v.iter().zip(c).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(c).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        cols.push(v);
    }
    (0..d).map(|i| (0..d).map(|j| cols[j][i]).collect()).collect()
}

/// ½ (x − c)ᵀ H (x − c) in f64.
pub fn loss(h: &[Vec<f64>], c: &[f64], x: &[f64]) -> f64 {
    let y: Vec<f64> = x.iter().zip(c).map(|(a, b)| a - b).collect();
    0.5 * h.iter().zip(&y).map(|(row, yi)| yi * row.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>()).sum::<f64>()
}

/// max_i Σ_j |H_ij|, a bound on the spectral radius (Gershgorin).
pub fn row_sum_norm(h: &[Vec<f64>]) -> f64 {
    h.iter().map(|row| row.iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haar_matrices_are_orthogonal_and_reproducible() {
        for d in [1, 2, 7, 64] {
            let q = haar_orthogonal(d, 3);
            assert!(orthonormality_error(&q).0 < 1e-12, "d = {d}");
            assert_eq!(q, haar_orthogonal(d, 3));
            assert_ne!(q, haar_orthogonal(d, 4));
        }
    }

    #[test]
    fn a_spectrum_gives_its_matrix() {
        let q = haar_orthogonal(3, 9);
        let h = from_spectrum(&[1.0, 2.0, 5.0], &q);
        assert!(asymmetry(&h).is_none());
        // Trace = Σ λ; H q_k = λ_k q_k.
        assert!(((0..3).map(|i| h[i][i]).sum::<f64>() - 8.0).abs() < 1e-12);
        for (k, lam) in [1.0, 2.0, 5.0].into_iter().enumerate() {
            for i in 0..3 {
                let hq: f64 = (0..3).map(|j| h[i][j] * q[j][k]).sum();
                assert!((hq - lam * q[i][k]).abs() < 1e-12);
            }
        }
    }
}
