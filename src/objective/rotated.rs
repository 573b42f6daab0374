//! The matrices a rotated regression's kernels read (K = Q diag(k) Qᵀ dense; docs/regression.md,
//! "A rotated K"): the factor that turns d standard normals into a data point, and signHSGD's
//! noise factor, the Cholesky factor of the sign-data covariance K_σ.

/// M = Q diag(√k): a = M z with z ~ N(0, I) has covariance M Mᵀ = Q diag(k) Qᵀ = K. Rows.
pub fn sampling_factor(q: &[Vec<f64>], k: &[f64]) -> Vec<Vec<f64>> {
    q.iter().map(|row| row.iter().zip(k).map(|(qij, kj)| qij * kj.sqrt()).collect()).collect()
}

/// K_σ = (2/π) arcsin(D^{−1/2} K D^{−1/2}) entrywise, D = diag K: the covariance of the signs
/// of a ~ N(0, K), E[sign(a_i) sign(a_j)] = (2/π) arcsin(ρ_ij) (Sheppard's formula). Its
/// diagonal is exactly 1.
pub fn sign_covariance(k: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let d = k.len();
    (0..d)
        .map(|i| {
            (0..d)
                .map(|j| {
                    if i == j {
                        return 1.0;
                    }
                    let corr = (k[i][j] / (k[i][i] * k[j][j]).sqrt()).clamp(-1.0, 1.0);
                    std::f64::consts::FRAC_2_PI * corr.asin()
                })
                .collect()
        })
        .collect()
}

/// The lower-triangular L with L Lᵀ = `a` (Cholesky–Banachiewicz), or the first row whose pivot
/// is not positive (with the pivot): `a` is not positive definite.
pub fn cholesky(a: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, (usize, f64)> {
    let d = a.len();
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i][m] * l[j][m]).sum();
            if i == j {
                let pivot = a[i][i] - s;
                if pivot <= 0.0 || !pivot.is_finite() {
                    return Err((i, pivot));
                }
                l[i][i] = pivot.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Ok(l)
}

/// signHSGD's noise factor for the data covariance `k`: the Cholesky factor of K_σ
/// ([`sign_covariance`]). K_σ is positive definite when K is: arcsin(C) = Σ c_n C^{∘(2n+1)}
/// with c_n ≥ 0 and c_0 = 1 is C plus Hadamard powers of C, each positive semidefinite
/// (Schur's product theorem), so K_σ ⪰ (2/π) D^{−1/2}KD^{−1/2} ≻ 0; only rounding can fail it.
pub fn sign_noise_factor(k: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, (usize, f64)> {
    cholesky(&sign_covariance(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::dense::{from_spectrum, haar_orthogonal};

    fn product(a: &[Vec<f64>], b_transposed: &[Vec<f64>]) -> Vec<Vec<f64>> {
        a.iter().map(|r| b_transposed.iter().map(|s| r.iter().zip(s).map(|(x, y)| x * y).sum()).collect()).collect()
    }

    #[test]
    fn the_sampling_factor_squares_to_k() {
        let k = [0.5, 1.0, 3.0, 7.0];
        let q = haar_orthogonal(4, 2);
        let m = sampling_factor(&q, &k);
        let cov = from_spectrum(&k, &q);
        for (r, s) in product(&m, &m).iter().zip(&cov) {
            for (a, b) in r.iter().zip(s) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn the_sign_noise_factor_squares_to_k_sigma() {
        let cov = from_spectrum(&[0.2, 0.9, 1.4, 2.0, 5.0], &haar_orthogonal(5, 11));
        let ks = sign_covariance(&cov);
        let l = sign_noise_factor(&cov).expect("positive definite");
        for (i, (r, s)) in product(&l, &l).iter().zip(&ks).enumerate() {
            assert_eq!(ks[i][i], 1.0);
            for (j, (a, b)) in r.iter().zip(s).enumerate() {
                assert!((a - b).abs() < 1e-12, "({i}, {j}): {a} vs {b}");
                if j > i {
                    assert_eq!(l[i][j], 0.0, "lower triangular");
                }
            }
        }
        // Diagonal K: K_σ = I.
        let diag = from_spectrum(&[1.0, 4.0], &[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(sign_noise_factor(&diag).unwrap(), vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn cholesky_names_the_failing_row() {
        let singular = [vec![1.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(cholesky(&singular).unwrap_err().0, 1);
    }
}
