//! `[record] trajectories = n`: the state x of the first n paths of a run (of each point of a
//! sweep) at every record step, so that a reader sees single paths (hops between wells, spirals
//! round a minimum) beside the moments, which average them away.
//!
//! The plan hands an engine a [`Watch`] per chunk: the workgroups that hold a point's first
//! paths (the first n lanes of the point's first workgroup; a point's first path starts a
//! workgroup, and n ≤ 64 < [`WG`]). After each record segment the engine copies those paths'
//! x words out of its state buffer, coordinate by coordinate ([`Watch::copies`]: n contiguous
//! words each, never the whole buffer), and hands them to the plan with the partials; without
//! trajectories the watch is empty and nothing is copied. The state read is the one the
//! record's moments are reduced from, the same words on the GPU and on its CPU twin, and a path
//! is the same path whatever the chunking (its random numbers are keyed by its global index).
//!
//! A diverged path is frozen: its state keeps the value of the step at whose end it left
//! `run.divergence_bound` (a coordinate beyond the bound, or non-finite), and every later record
//! holds that value again. It is written as the engine holds it, not replaced by NaN: the frozen
//! state says where the path went, and "beyond the bound or non-finite" says that it diverged
//! (the figure ends such a path at its first record out of bounds).

use crate::kernel::{KernelConsts, WG};
use crate::layout::state_index;

/// The state words an engine reads back after each record segment of a chunk: coordinates
/// `0..dim` of x (state slot 0) of lanes `0..lanes` of each listed workgroup (indices inside the
/// chunk). Empty: nothing is read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    pub workgroups: Vec<usize>,
    pub lanes: usize,
}

impl Watch {
    /// Read nothing.
    pub const NONE: Watch = Watch { workgroups: Vec::new(), lanes: 0 };

    pub fn is_empty(&self) -> bool {
        self.workgroups.is_empty() || self.lanes == 0
    }

    /// Words read back per record segment: workgroups × dim × lanes, in that order (for each
    /// watched workgroup, each coordinate's lanes).
    pub fn words(&self, dim: usize) -> usize {
        if self.is_empty() { 0 } else { self.workgroups.len() * dim * self.lanes }
    }

    /// The copies that read the watched words: (first word in the state buffer, first word in
    /// the read-back block, words), one per watched workgroup and coordinate.
    pub fn copies(&self, k: &KernelConsts) -> Vec<(usize, usize, usize)> {
        if self.is_empty() {
            return Vec::new();
        }
        let (slots, dim) = (k.slots(), k.dim);
        let mut out = Vec::with_capacity(self.workgroups.len() * dim);
        for (j, &wid) in self.workgroups.iter().enumerate() {
            for i in 0..dim {
                out.push((state_index(slots, dim, wid, 0, i, 0), (j * dim + i) * self.lanes, self.lanes));
            }
        }
        out
    }
}

/// The watch of the chunk of global paths `[offset, offset + n)` of a study of `n_points` points
/// of `paths` paths each (point g owns `[g paths, (g + 1) paths)`), recording `traj` paths per
/// point: the workgroups where a point's first path lies in the chunk, and those points, in order.
pub fn watch_chunk(traj: usize, paths: u64, n_points: usize, offset: u64, n: u64) -> (Watch, Vec<usize>) {
    if traj == 0 {
        return (Watch::NONE, Vec::new());
    }
    let points: Vec<usize> = (0..n_points).filter(|&g| (offset..offset + n).contains(&(g as u64 * paths))).collect();
    let workgroups = points.iter().map(|&g| ((g as u64 * paths - offset) / WG as u64) as usize).collect();
    (Watch { workgroups, lanes: traj }, points)
}

/// The states of the first `paths` paths of a run (or sweep point) at its record steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trajectories {
    /// Paths recorded (`record.trajectories`; 0: none).
    pub paths: usize,
    pub dim: usize,
    /// The record steps read so far: the run's record steps, up to the last one that the chunk
    /// holding these paths has finished.
    pub steps: Vec<u64>,
    /// x of path p, coordinate i at record r: `x[(r * paths + p) * dim + i]` (the C order of
    /// the shape (records, paths, dim) that `trajectories.npy` has).
    pub x: Vec<f32>,
}

impl Trajectories {
    pub fn new(paths: usize, dim: usize) -> Self {
        Trajectories { paths, dim, steps: Vec::new(), x: Vec::new() }
    }

    /// Whether none were asked for.
    pub fn is_empty(&self) -> bool {
        self.paths == 0
    }

    /// Records held.
    pub fn records(&self) -> usize {
        self.steps.len()
    }

    /// x_i of path p at record r.
    pub fn at(&self, r: usize, p: usize, i: usize) -> f32 {
        self.x[(r * self.paths + p) * self.dim + i]
    }

    /// Add the record at `step` from a watched workgroup's words (coordinate-major: coordinate
    /// i of path p at `i * paths + p`, as [`Watch::copies`] lays them out).
    pub fn push(&mut self, step: u64, words: &[f32]) {
        let (n, d) = (self.paths, self.dim);
        self.steps.push(step);
        self.x.extend((0..n * d).map(|j| words[(j % d) * n + j / d]));
    }
}
