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

/// The eigenvalues (ascending) and orthonormal eigenvectors (the columns of Q, `q[i][k]`) of a
/// symmetric matrix, by cyclic Jacobi rotations (Golub & Van Loan, Matrix Computations, §8.5):
/// each rotation zeroes one off-diagonal entry; sweeps repeat until the off-diagonal mass is
/// below 1e-15 of the matrix's. O(d³) per sweep, a few sweeps: fine for the d ≤ 64 of the
/// eigenbasis moments.
pub fn symmetric_eigen(h: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let d = h.len();
    let mut a: Vec<Vec<f64>> = h.to_vec();
    let mut q: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    let norm: f64 = a.iter().flatten().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
    for _ in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off <= 1e-30 * norm {
            break;
        }
        for p in 0..d {
            for r in p + 1..d {
                if a[p][r] == 0.0 {
                    continue;
                }
                // The rotation (c, s) that zeroes a[p][r] (the smaller root t of t² + 2θt − 1 = 0).
                let theta = (a[r][r] - a[p][p]) / (2.0 * a[p][r]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akr) = (a[k][p], a[k][r]);
                    a[k][p] = c * akp - s * akr;
                    a[k][r] = s * akp + c * akr;
                }
                for k in 0..d {
                    let (apk, ark) = (a[p][k], a[r][k]);
                    a[p][k] = c * apk - s * ark;
                    a[r][k] = s * apk + c * ark;
                }
                for row in q.iter_mut() {
                    let (qp, qr) = (row[p], row[r]);
                    row[p] = c * qp - s * qr;
                    row[r] = s * qp + c * qr;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| a[i][i].total_cmp(&a[j][j]));
    let values = order.iter().map(|&k| a[k][k]).collect();
    let vectors = (0..d).map(|i| order.iter().map(|&k| q[i][k]).collect()).collect();
    (values, vectors)
}

#[cfg(test)]
mod eigen_tests {
    use super::*;

    // A Haar-rotated spectrum comes back: the eigenvalues, and Q diag(λ) Qᵀ = H.
    #[test]
    fn jacobi_recovers_a_rotated_spectrum() {
        let lambda = [-1.0, 0.5, 2.0, 7.0, 30.0];
        let h = from_spectrum(&lambda, &haar_orthogonal(5, 3));
        let (values, q) = symmetric_eigen(&h);
        for (v, l) in values.iter().zip(lambda) {
            assert!((v - l).abs() < 1e-12 * 30.0, "{v} vs {l}");
        }
        let back = from_spectrum(&values, &q);
        for (r, s) in back.iter().zip(&h) {
            for (u, v) in r.iter().zip(s) {
                assert!((u - v).abs() < 1e-12 * 30.0);
            }
        }
        assert!(orthonormality_error(&q).0 < 1e-12);
    }
}
