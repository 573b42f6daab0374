//! The stationary covariance matrix from the kernel's pair sums: per pair i < j, the batch sums
//! of the products (x_i − c_i)(x_j − c_j), accumulated over batches like the moments of
//! [`super::StationaryAcc`], with delta-method standard errors over batches.

use super::BatchSums;

/// Sums over batches for one pair (i, j): with S12, S1i, S1j, n a batch's sums of the product,
/// of each coordinate and its count, Σ S12, Σ S12², Σ S12 n, Σ S12 S1i, Σ S12 S1j, Σ S1i S1j.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairAcc {
    pub a12: f64,
    pub a12a12: f64,
    pub a12n: f64,
    pub a12a1i: f64,
    pub a12a1j: f64,
    pub a1ia1j: f64,
}

/// The pair accumulators of every pair i < j in row order (`crate::layout::pair_index`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrossAcc {
    pub pairs: Vec<PairAcc>,
}

impl CrossAcc {
    pub fn new(pairs: usize) -> Self {
        CrossAcc { pairs: vec![PairAcc::default(); pairs] }
    }

    pub fn add_batch(&mut self, b: &BatchSums) {
        let dim = b.s2.len();
        let mut acc = self.pairs.iter_mut();
        for i in 0..dim {
            for j in i + 1..dim {
                let Some(a) = acc.next() else { return };
                let s12 = b.s12[crate::layout::pair_index(dim, i, j)];
                a.a12 += s12;
                a.a12a12 += s12 * s12;
                a.a12n += s12 * b.n;
                a.a12a1i += s12 * b.s1[i];
                a.a12a1j += s12 * b.s1[j];
                a.a1ia1j += b.s1[i] * b.s1[j];
            }
        }
    }

    pub fn merge(&mut self, o: &CrossAcc) {
        for (a, b) in self.pairs.iter_mut().zip(&o.pairs) {
            a.a12 += b.a12;
            a.a12a12 += b.a12a12;
            a.a12n += b.a12n;
            a.a12a1i += b.a12a1i;
            a.a12a1j += b.a12a1j;
            a.a1ia1j += b.a1ia1j;
        }
    }
}

/// What the covariance of a pair needs from the coordinates' accumulators: Σ S1, Σ S1², Σ S1 n
/// of coordinate i and of j, and the batches' Σ n, Σ n².
pub struct Marginals {
    pub a1: [f64; 2],
    pub a1a1: [f64; 2],
    pub a1n: [f64; 2],
    pub n: f64,
    pub nn: f64,
}

/// cov_ij = m12 − m_i m_j (all about the centre c, so the same as of x) and its standard error
/// over batches: the linearisation z_b = S12_b − m_j S1i_b − m_i S1j_b + (2 m_i m_j − m12) n_b
/// has se² = B/(B−1) Σ_b z_b² / N² (for i = j it is the variance's error).
pub fn pair_cov(a: &PairAcc, m: &Marginals, corr: f64) -> (f64, f64) {
    let n = m.n;
    let (mi, mj) = (m.a1[0] / n, m.a1[1] / n);
    let m12 = a.a12 / n;
    let cc = 2.0 * mi * mj - m12;
    let zz = a.a12a12 + mj * mj * m.a1a1[0] + mi * mi * m.a1a1[1] + cc * cc * m.nn
        - 2.0 * mj * a.a12a1i
        - 2.0 * mi * a.a12a1j
        + 2.0 * cc * a.a12n
        + 2.0 * mi * mj * a.a1ia1j
        - 2.0 * mj * cc * m.a1n[0]
        - 2.0 * mi * cc * m.a1n[1];
    let se = if n > 0.0 { (corr * zz.max(0.0)).sqrt() / n } else { f64::NAN };
    (m12 - mi * mj, se)
}
