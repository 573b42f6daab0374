//! Host-side statistics in f64, built from per-workgroup partials. Everything here merges
//! exactly across chunks, shards and backends: counts, Chan-merged moments, and sums over
//! fixed batches of [`crate::experiment::BATCH`] global paths.

mod cross;
mod eigen;
mod hist2d;

use serde::Serialize;

use crate::layout::PartialLayout;
pub use cross::{CrossAcc, Marginals, PairAcc, pair_cov};
pub use eigen::EigenAcc;
pub use hist2d::{Histogram2d, add_pair_blocks, pair_histograms};

/// Count, mean and sum of squared deviations (Chan et al. parallel merge).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    pub n: f64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub fn merge(&mut self, o: &Moments) {
        let n = self.n + o.n;
        if n == 0.0 {
            return;
        }
        let delta = o.mean - self.mean;
        self.mean += delta * o.n / n;
        self.m2 += o.m2 + delta * delta * self.n * o.n / n;
        self.n = n;
    }
    /// Population variance of the merged sample (0 when empty).
    pub fn var(&self) -> f64 {
        if self.n > 0.0 { self.m2 / self.n } else { 0.0 }
    }
}

/// Moments of every coordinate and of the loss at one record step.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordStats {
    pub step: u64,
    /// Paths that reached this record (all paths once the run is complete).
    pub paths: u64,
    /// Finite paths (the count is shared by all quantities).
    pub q: Vec<Moments>,
}

impl RecordStats {
    pub fn new(step: u64, dim: usize) -> Self {
        RecordStats { step, paths: 0, q: vec![Moments::default(); dim + 1] }
    }
    /// Add the record block of one workgroup's partials.
    pub fn add_partial(&mut self, lay: &PartialLayout, p: &[f32]) {
        let n = f64::from(p[lay.rec_n()]);
        for (qi, m) in self.q.iter_mut().enumerate() {
            m.merge(&Moments { n, mean: f64::from(p[lay.rec_mean(qi)]), m2: f64::from(p[lay.rec_m2(qi)]) });
        }
    }
    pub fn finite(&self) -> u64 {
        self.q[0].n as u64
    }
    /// Paths that reached this record with a non-finite state or loss.
    pub fn diverged(&self) -> u64 {
        self.paths.saturating_sub(self.finite())
    }
}

/// Paths that diverged (were frozen), with the steps at which they did: merged from every
/// segment's partials (each path diverges in at most one segment).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Divergence {
    pub n: f64,
    /// Σ of the divergence steps (from f32 partial sums: relative error ~1e-7).
    pub step_sum: f64,
    /// The earliest divergence step (exact).
    pub first: Option<u64>,
}

impl Divergence {
    pub fn add_partial(&mut self, lay: &PartialLayout, p: &[f32]) {
        let n = f64::from(p[lay.div_n()]);
        if n > 0.0 {
            self.n += n;
            self.step_sum += f64::from(p[lay.div_sum()]);
            let step = (p[lay.div_min_hi()] as u64) << 16 | p[lay.div_min_lo()] as u64;
            self.first = Some(self.first.map_or(step, |f| f.min(step)));
        }
    }
    pub fn merge(&mut self, o: &Divergence) {
        self.n += o.n;
        self.step_sum += o.step_sum;
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    /// Mean divergence step (NaN when none diverged).
    pub fn mean_step(&self) -> f64 {
        if self.n > 0.0 { self.step_sum / self.n } else { f64::NAN }
    }
}

/// Per-batch sums of stationary samples (accumulated over the segments of one chunk).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSums {
    pub n: f64,
    /// Σ (x_q − c_q) for coordinates, Σ loss for q = dim.
    pub s1: Vec<f64>,
    /// Σ (x_i − c_i)².
    pub s2: Vec<f64>,
    /// Σ (x_i − c_i)(x_j − c_j) per pair i < j (empty when the kernel keeps no pair sums).
    pub s12: Vec<f64>,
}

impl BatchSums {
    pub fn new(dim: usize, pairs: usize) -> Self {
        BatchSums { n: 0.0, s1: vec![0.0; dim + 1], s2: vec![0.0; dim], s12: vec![0.0; pairs] }
    }
    pub fn add_partial(&mut self, lay: &PartialLayout, p: &[f32]) {
        self.n += f64::from(p[lay.stat_n()]);
        for (q, s) in self.s1.iter_mut().enumerate() {
            *s += f64::from(p[lay.stat_s1(q)]);
        }
        for (i, s) in self.s2.iter_mut().enumerate() {
            *s += f64::from(p[lay.stat_s2(i)]);
        }
        for (q, s) in self.s12.iter_mut().enumerate() {
            *s += f64::from(p[lay.stat_s12(q)]);
        }
    }
}

/// Sums over batches from which the stationary means and their standard errors follow: the
/// batches are independent (disjoint path sets), so the spread of batch ratios is an honest
/// error estimate however strongly the samples of one path are correlated in time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StationaryAcc {
    pub batches: f64,
    pub n: f64,
    pub nn: f64,
    /// Per quantity q ≤ dim: Σ s1, Σ s1², Σ s1·n.
    pub a1: Vec<f64>,
    pub a1a1: Vec<f64>,
    pub a1n: Vec<f64>,
    /// Per coordinate: Σ s2, Σ s2², Σ s2·n, Σ s1·s2.
    pub a2: Vec<f64>,
    pub a2a2: Vec<f64>,
    pub a2n: Vec<f64>,
    pub a1a2: Vec<f64>,
    /// The covariance matrix's pair sums (`None`: no covariance asked for).
    pub cross: Option<CrossAcc>,
    /// The moments in a quadratic's eigenbasis (`[record] basis = "hessian"`).
    pub eigen: Option<Box<EigenAcc>>,
}

/// Stationary estimates (means are of x, not of the shifted x − c).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StationaryEstimate {
    pub samples: u64,
    pub batches: u64,
    pub loss_mean: f64,
    pub loss_se: f64,
    pub mean: Vec<f64>,
    pub mean_se: Vec<f64>,
    /// E[(x − c)²] (second moment about the minimizer).
    pub second_moment: Vec<f64>,
    pub second_moment_se: Vec<f64>,
    pub var: Vec<f64>,
    pub var_se: Vec<f64>,
    /// The covariance matrix (d × d, rows; the diagonal is `var`) and its standard errors, when
    /// the run kept the pair sums (`[stationary] cov`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cov: Option<Vec<Vec<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cov_se: Option<Vec<Vec<f64>>>,
    /// The eigenvalues λ_k and the moments of y = Qᵀ(x − c) (`mean` of y, not of x), when the
    /// run asked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eigenbasis: Option<(Vec<f64>, Box<StationaryEstimate>)>,
}

impl StationaryAcc {
    /// Accumulators of `dim` coordinates, with the covariance matrix when `cov` (its
    /// d(d − 1)/2 pair sums).
    pub fn new(dim: usize, cov: bool) -> Self {
        let z = |n| vec![0.0; n];
        StationaryAcc {
            a1: z(dim + 1),
            a1a1: z(dim + 1),
            a1n: z(dim + 1),
            a2: z(dim),
            a2a2: z(dim),
            a2n: z(dim),
            a1a2: z(dim),
            cross: cov.then(|| CrossAcc::new(dim * dim.saturating_sub(1) / 2)),
            ..Default::default()
        }
    }

    /// With the moments in the eigenbasis (λ, Q) too, when given (they need the pair sums).
    pub fn with_eigenbasis(mut self, basis: Option<(Vec<f64>, Vec<Vec<f64>>)>) -> Self {
        self.eigen = basis.map(|(values, q)| Box::new(EigenAcc::new(values, q)));
        self
    }

    pub fn add_batch(&mut self, b: &BatchSums) {
        if b.n == 0.0 {
            return;
        }
        self.batches += 1.0;
        self.n += b.n;
        self.nn += b.n * b.n;
        for q in 0..b.s1.len() {
            self.a1[q] += b.s1[q];
            self.a1a1[q] += b.s1[q] * b.s1[q];
            self.a1n[q] += b.s1[q] * b.n;
        }
        for i in 0..b.s2.len() {
            self.a2[i] += b.s2[i];
            self.a2a2[i] += b.s2[i] * b.s2[i];
            self.a2n[i] += b.s2[i] * b.n;
            self.a1a2[i] += b.s1[i] * b.s2[i];
        }
        if let Some(c) = &mut self.cross {
            c.add_batch(b);
        }
        if let Some(e) = &mut self.eigen {
            e.add_batch(b);
        }
    }

    pub fn merge(&mut self, o: &StationaryAcc) {
        let add = |a: &mut Vec<f64>, b: &Vec<f64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        self.batches += o.batches;
        self.n += o.n;
        self.nn += o.nn;
        add(&mut self.a1, &o.a1);
        add(&mut self.a1a1, &o.a1a1);
        add(&mut self.a1n, &o.a1n);
        add(&mut self.a2, &o.a2);
        add(&mut self.a2a2, &o.a2a2);
        add(&mut self.a2n, &o.a2n);
        add(&mut self.a1a2, &o.a1a2);
        if let (Some(a), Some(b)) = (&mut self.cross, &o.cross) {
            a.merge(b);
        }
        if let (Some(a), Some(b)) = (&mut self.eigen, &o.eigen) {
            a.acc.merge(&b.acc);
        }
    }

    /// Ratio estimates with delta-method standard errors over batches:
    /// for r = ΣY/ΣN, se² = B/(B−1) Σ_b (Y_b − r n_b)² / N².
    pub fn estimate(&self, center: &[f64]) -> StationaryEstimate {
        let dim = self.a2.len();
        let n = self.n;
        let b = self.batches;
        let corr = if b > 1.0 { b / (b - 1.0) } else { f64::NAN };
        let se_of = |sum_zz: f64| {
            if n > 0.0 { (corr * sum_zz.max(0.0)).sqrt() / n } else { f64::NAN }
        };
        // Σ (Y − r n)² = ΣY² − 2rΣYn + r²Σn².
        let ratio_se = |y: f64, yy: f64, yn: f64| {
            let r = y / n;
            se_of(yy - 2.0 * r * yn + r * r * self.nn)
        };
        let mut est = StationaryEstimate {
            samples: n as u64,
            batches: b as u64,
            loss_mean: self.a1[dim] / n,
            loss_se: ratio_se(self.a1[dim], self.a1a1[dim], self.a1n[dim]),
            mean: vec![0.0; dim],
            mean_se: vec![0.0; dim],
            second_moment: vec![0.0; dim],
            second_moment_se: vec![0.0; dim],
            var: vec![0.0; dim],
            var_se: vec![0.0; dim],
            cov: None,
            cov_se: None,
            eigenbasis: None,
        };
        for i in 0..dim {
            let m1 = self.a1[i] / n;
            let m2 = self.a2[i] / n;
            est.mean[i] = center[i] + m1;
            est.mean_se[i] = ratio_se(self.a1[i], self.a1a1[i], self.a1n[i]);
            est.second_moment[i] = m2;
            est.second_moment_se[i] = ratio_se(self.a2[i], self.a2a2[i], self.a2n[i]);
            est.var[i] = m2 - m1 * m1;
            // var = m2 − m1²: z_b = S2_b − 2 m1 S1_b + (2 m1² − m2) n_b.
            let cc = 2.0 * m1 * m1 - m2;
            let zz = self.a2a2[i] + 4.0 * m1 * m1 * self.a1a1[i] + cc * cc * self.nn - 4.0 * m1 * self.a1a2[i]
                + 2.0 * cc * self.a2n[i]
                - 4.0 * m1 * cc * self.a1n[i];
            est.var_se[i] = se_of(zz);
        }
        if let Some(cross) = &self.cross {
            let (cov, cov_se) = self.covariance(cross, &est, corr);
            (est.cov, est.cov_se) = (Some(cov), Some(cov_se));
        }
        if let Some(e) = &self.eigen {
            let zero = vec![0.0; e.eigenvalues.len()];
            est.eigenbasis = Some((e.eigenvalues.clone(), Box::new(e.acc.estimate(&zero))));
        }
        est
    }

    /// The covariance matrix and its standard errors: `var` on the diagonal, the pair sums off
    /// it ([`pair_cov`]).
    fn covariance(&self, cross: &CrossAcc, est: &StationaryEstimate, corr: f64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let dim = est.var.len();
        let mut cov = vec![vec![0.0; dim]; dim];
        let mut se = vec![vec![0.0; dim]; dim];
        let mut pairs = cross.pairs.iter();
        for i in 0..dim {
            (cov[i][i], se[i][i]) = (est.var[i], est.var_se[i]);
            for j in i + 1..dim {
                let a = pairs.next().expect("a pair accumulator per pair i < j");
                let m = Marginals {
                    a1: [self.a1[i], self.a1[j]],
                    a1a1: [self.a1a1[i], self.a1a1[j]],
                    a1n: [self.a1n[i], self.a1n[j]],
                    n: self.n,
                    nn: self.nn,
                };
                let (c, s) = pair_cov(a, &m, corr);
                (cov[i][j], cov[j][i], se[i][j], se[j][i]) = (c, c, s, s);
            }
        }
        (cov, se)
    }
}

/// Batches below which a batch-means standard error is itself too uncertain to trust: with B
/// batches the SE has B − 1 degrees of freedom, so its own relative error is about
/// 1/√(2(B − 1)) — 18% at 16 batches, 71% at 2, undefined at 1.
pub const MIN_RELIABLE_BATCHES: u64 = 16;

/// Combined standard errors by which the two halves of the stationary window may differ before
/// the run is called not converged.
pub const STATIONARITY_Z: f64 = 4.0;

impl StationaryEstimate {
    /// Whether the standard errors rest on at least [`MIN_RELIABLE_BATCHES`] batches.
    pub fn se_reliable(&self) -> bool {
        self.batches >= MIN_RELIABLE_BATCHES
    }
}

/// Whether the stationary window was stationary: the mean loss over its first half against its
/// second half. A run that is still relaxing (or drifting away) when sampling starts shows a
/// difference of many standard errors; a stationary one a difference of order one. The halves
/// share their paths, so their errors are positively correlated and the combined SE
/// `√(se₁² + se₂²)` overstates the SE of the difference: the check errs toward "converged".
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct StationarityCheck {
    /// The step that divides the halves (`None`: window too short to split).
    pub split: Option<u64>,
    pub first_loss: f64,
    pub first_se: f64,
    pub second_loss: f64,
    pub second_se: f64,
    /// |second − first| / √(se₁² + se₂²).
    pub z: f64,
    /// `z <= STATIONARITY_Z`; `None` when the difference has no standard error (a half with
    /// fewer than 2 batches, or no samples).
    pub converged: Option<bool>,
}

impl StationarityCheck {
    pub fn new(split: Option<u64>, first: &StationaryEstimate, second: &StationaryEstimate) -> Self {
        let se = first.loss_se.hypot(second.loss_se);
        let z = (second.loss_mean - first.loss_mean).abs() / se;
        let converged = (split.is_some() && z.is_finite()).then_some(z <= STATIONARITY_Z);
        StationarityCheck {
            split,
            first_loss: first.loss_mean,
            first_se: first.loss_se,
            second_loss: second.loss_mean,
            second_se: second.loss_se,
            z,
            converged,
        }
    }
}

/// Histogram counts of one quantity: `bins` regular bins on [lo, hi) plus under/overflow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
    pub underflow: u64,
    pub overflow: u64,
}

impl Histogram {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.underflow + self.overflow
    }
    /// Add one kernel histogram block (bins, then underflow, then overflow).
    pub fn add_block(&mut self, block: &[u32]) {
        let bins = self.counts.len();
        for (c, v) in self.counts.iter_mut().zip(&block[..bins]) {
            *c += u64::from(*v);
        }
        self.underflow += u64::from(block[bins]);
        self.overflow += u64::from(block[bins + 1]);
    }
}
