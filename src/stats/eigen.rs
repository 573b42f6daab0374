//! The stationary moments of y = Qᵀ(x − c), the coordinates in a quadratic's eigenbasis
//! (H = Q diag(λ) Qᵀ; `[record] basis = "hessian"`), from the same batch sums as those of x:
//! per batch, Σ y_k = Σ_i Q_ik Σ (x_i − c_i) and Σ y_k² = Σ_ij Q_ik Q_jk Σ (x_i − c_i)(x_j − c_j),
//! exact linear maps of the batch's sums (the pair sums of `[stationary] cov` give the
//! off-diagonal products). The batches then give means, variances and their standard errors
//! exactly as for x ([`super::StationaryAcc`]).

use super::{BatchSums, StationaryAcc};
use crate::layout::pair_index;

/// The eigenbasis and the accumulators of y.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EigenAcc {
    pub eigenvalues: Vec<f64>,
    /// Q, `q[i][k]`: column k is the eigenvector of `eigenvalues[k]`.
    pub q: Vec<Vec<f64>>,
    pub acc: StationaryAcc,
}

impl EigenAcc {
    pub fn new(eigenvalues: Vec<f64>, q: Vec<Vec<f64>>) -> Self {
        let d = eigenvalues.len();
        EigenAcc { eigenvalues, q, acc: StationaryAcc::new(d, false) }
    }

    /// Add one batch of x's sums (with its pair sums when d > 1) as a batch of y's.
    pub fn add_batch(&mut self, b: &BatchSums) {
        let d = self.eigenvalues.len();
        // The batch's matrix of Σ (x_i − c_i)(x_j − c_j).
        let s = |i: usize, j: usize| match i.cmp(&j) {
            std::cmp::Ordering::Equal => b.s2[i],
            std::cmp::Ordering::Less => b.s12[pair_index(d, i, j)],
            std::cmp::Ordering::Greater => b.s12[pair_index(d, j, i)],
        };
        let sm: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| s(i, j)).collect()).collect();
        let mut y = BatchSums::new(d, 0);
        y.n = b.n;
        y.s1[d] = b.s1[d];
        for k in 0..d {
            y.s1[k] = (0..d).map(|i| self.q[i][k] * b.s1[i]).sum();
            y.s2[k] = (0..d).map(|i| self.q[i][k] * (0..d).map(|j| sm[i][j] * self.q[j][k]).sum::<f64>()).sum();
        }
        self.acc.add_batch(&y);
    }
}
