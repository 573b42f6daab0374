//! 2-D stationary histograms of coordinate pairs (`[stationary] pairs`): counts on a regular grid
//! over the box of the two coordinates' 1-D histogram ranges, x (the first coordinate) slow.

use serde::{Deserialize, Serialize};

use crate::kernel::KernelConsts;

/// The counts of one pair; `histograms2d.json` holds a list of these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram2d {
    /// The coordinates on the two axes.
    pub x: usize,
    pub y: usize,
    /// The box [lo, hi) per axis (the coordinates' 1-D histogram ranges).
    pub lo: [f64; 2],
    pub hi: [f64; 2],
    /// Bins per axis.
    pub bins: [u32; 2],
    /// bins[0] × bins[1] counts, row-major with x slow: count of bin (a, b) at a · bins[1] + b.
    pub counts: Vec<u64>,
    /// Samples outside the box.
    pub outside: u64,
}

impl Histogram2d {
    pub fn new(x: usize, y: usize, lo: [f64; 2], hi: [f64; 2], bins: u32) -> Self {
        Histogram2d { x, y, lo, hi, bins: [bins, bins], counts: vec![0; (bins * bins) as usize], outside: 0 }
    }

    /// Add one kernel block: the bins, then the outside word.
    pub fn add_block(&mut self, block: &[u32]) {
        let n = self.counts.len();
        for (c, v) in self.counts.iter_mut().zip(&block[..n]) {
            *c += u64::from(*v);
        }
        self.outside += u64::from(block[n]);
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.outside
    }
}

/// The empty 2-D histograms of kernel `k`'s pairs over the coordinates' ranges `ranges`.
pub fn pair_histograms(k: &KernelConsts, ranges: &[(f64, f64)]) -> Vec<Histogram2d> {
    k.pairs
        .iter()
        .map(|[i, j]| Histogram2d::new(i, j, [ranges[i].0, ranges[j].0], [ranges[i].1, ranges[j].1], k.pair_bins()))
        .collect()
}

/// Add a group's histogram words (`KernelConsts::hist_words`) to its 2-D histograms.
pub fn add_pair_blocks(k: &KernelConsts, hists: &mut [Histogram2d], group_words: &[u32]) {
    let (base, ps) = (k.pair_hist_base(), k.pair_hist_words());
    for (p, h) in hists.iter_mut().enumerate() {
        h.add_block(&group_words[base + p * ps..base + (p + 1) * ps]);
    }
}
