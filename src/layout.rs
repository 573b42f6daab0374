//! Structs shared with WGSL (`shaders/shared/layout.wgsl`): `#[repr(C)]`, bytemuck `Pod`,
//! 4-byte fields only, with size and offset asserts here and a test against naga's layout.

use bytemuck::{Pod, Zeroable};
use std::mem::{offset_of, size_of};

use crate::kernel::WG;

/// Per-dispatch parameters (uniform buffer, binding 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Global index of the chunk's first path (low, high 32 bits).
    pub path_lo: u32,
    pub path_hi: u32,
    /// Paths in this chunk (threads beyond it idle).
    pub n_paths: u32,
    /// The segment advances from optimizer step `k_begin` to `k_end`.
    pub k_begin: u32,
    pub k_end: u32,
    /// Index of the first normal of the segment, `k_begin * refine * dim` (low, high).
    pub m0_lo: u32,
    pub m0_hi: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub refine: u32,
    /// 1: initialise the state from x0 (first segment of a chunk).
    pub init: u32,
    /// 1: reduce the record moments of the state at `k_end`.
    pub record: u32,
    /// Stationary sampling at steps `stat_start + j * stat_every` (u32::MAX disables).
    pub stat_start: u32,
    pub stat_every: u32,
    /// 1: the V drift includes (∇f)² (P1); 0: noise only (P7).
    pub gsq: f32,
    /// Paths per parameter group of a sweep (a multiple of the workgroup size; 0: one group).
    /// Global path p belongs to group p / group_paths and draws the random numbers of path
    /// p mod group_paths, so every grid point replicates its separate run exactly.
    pub group_paths: u32,
}

/// Per-group scalars (storage buffer, binding 6): one entry per sweep point (one for a plain
/// run).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Group {
    /// Rates of the Adam time factors per substep (see `crate::model::adaptive`).
    pub tf_a: f32,
    pub tf_b: f32,
    /// Loss histogram: bin = floor((loss - lo) * inv_w).
    pub loss_lo: f32,
    pub loss_inv_w: f32,
    /// A live path whose |x_i| exceeds this (or turns non-finite) at the end of a step is
    /// frozen and counted as diverged.
    pub div_bound: f32,
    /// The group's first word in the objective buffer (binding 7): its dense Hessian or its
    /// formula's parameters (`crate::objective::Stage::words` per group).
    pub obj_base: u32,
    /// 0, read by the kernel at run time (shaders/shared/formula_math.wgsl `fx_keep`: a value
    /// the shader compiler cannot see through).
    pub zero: u32,
    /// The learning-rate schedule's reals and milestones (`crate::experiment::ScheduleWords`;
    /// unused by a constant rate).
    pub sched: [f32; 5],
    pub milestones: [u32; 4],
}

/// Per-coordinate coefficients (storage buffer, binding 1), derived on the host in f64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Coef {
    /// Hessian diagonal entry h_i.
    pub h: f32,
    /// Minimizer c_i.
    pub c: f32,
    /// The kernel's coefficient slots (`crate::kernel::coefs` names them per kernel).
    pub p0: f32,
    pub p1: f32,
    pub p2: f32,
    pub p3: f32,
    pub p4: f32,
    pub p5: f32,
    pub p6: f32,
    pub p7: f32,
    pub p8: f32,
    /// Initial value.
    pub x0: f32,
    /// Histogram: bin = floor((x - hist_lo) * hist_inv_w).
    pub hist_lo: f32,
    pub hist_inv_w: f32,
    /// Student-t noise (see `crate::noise`): ν, √ν, 2/ν, and the word offset of this
    /// coordinate's CDF table in binding 5 (−1: closed form for integer ν). Zero for Gaussian.
    pub nu: f32,
    pub sqrt_nu: f32,
    pub two_over_nu: f32,
    pub tab: f32,
}

const _: () = assert!(size_of::<Params>() == 64);
const _: () = assert!(offset_of!(Params, gsq) == 56);
const _: () = assert!(size_of::<Group>() == 64);
const _: () = assert!(offset_of!(Params, k_begin) == 12);
const _: () = assert!(offset_of!(Params, refine) == 36);
const _: () = assert!(offset_of!(Params, stat_start) == 48);

const _: () = assert!(size_of::<Coef>() == 72);
const _: () = assert!(offset_of!(Coef, tab) == 68);
const _: () = assert!(offset_of!(Params, group_paths) == 60);
const _: () = assert!(offset_of!(Coef, x0) == 44);
const _: () = assert!(offset_of!(Coef, hist_inv_w) == 52);

/// What a chunk's kernel reads besides `Params`: the per-coordinate coefficients of every group
/// (binding 1; group g's coordinate i at `g * dim + i`), the Student-t CDF tables (binding 5,
/// never empty), the per-group scalars (binding 6) and the objective's words of every group
/// (binding 7, never empty; group g's from `groups[g].obj_base`).
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    pub coef: Vec<Coef>,
    pub tcdf: Vec<f32>,
    pub groups: Vec<Group>,
    pub objective: Vec<f32>,
}

/// The word of state slot `slot` (x, then the EMAs) of coordinate `i` of the path at `lane` of
/// workgroup `wid` in a state buffer of `slots` slots of dimension `dim`: twin of
/// `state_index` in `shaders/shared/paths.wgsl` (slot-major rows of [`WG`] words inside a
/// workgroup, so neighbouring paths hold neighbouring words).
pub const fn state_index(slots: usize, dim: usize, wid: usize, slot: usize, i: usize, lane: usize) -> usize {
    ((wid * slots + slot) * dim + i) * WG + lane
}

/// Words of one workgroup's partials for dimension `dim` with `cross` pair sums (see
/// [`PartialLayout`]).
pub const fn partial_words(dim: usize, cross: usize) -> usize {
    4 * dim + 9 + cross
}

/// Offsets inside one workgroup's partials (f32 words). Quantities `q < dim` are coordinates,
/// `q == dim` is the loss.
///
/// * `rec_n`: finite paths at the record; `rec_mean[q]`, `rec_m2[q]`: their mean and sum of
///   squared deviations (Chan et al. merge inside the workgroup).
/// * `stat_n`: stationary samples of finite states; `stat_s1[q]`: Σ (x_q − c_q) for
///   coordinates and Σ loss for the loss; `stat_s2[i]`: Σ (x_i − c_i)².
/// * `div_n`: paths that diverged (were frozen) during this segment; `div_sum`: Σ of the steps
///   at which they did (f32); `div_min_hi`, `div_min_lo`: the earliest such step as two exact
///   16-bit halves (hi = 65536 when none).
/// * `stat_s12[p]`: Σ (x_i − c_i)(x_j − c_j) over the stationary samples for the p-th pair
///   i < j in row order ((0,1), (0,2), …, (1,2), …), when the kernel keeps them (`cross` pairs).
#[derive(Clone, Copy, Debug)]
pub struct PartialLayout {
    pub dim: usize,
    /// Pair sums kept (0, or d(d − 1)/2).
    pub cross: usize,
}

impl PartialLayout {
    /// The partials of kernel `k`.
    pub fn of(k: &crate::kernel::KernelConsts) -> Self {
        PartialLayout { dim: k.dim, cross: k.cross_pairs() }
    }
    pub fn words(&self) -> usize {
        partial_words(self.dim, self.cross)
    }
    pub fn rec_n(&self) -> usize {
        0
    }
    pub fn rec_mean(&self, q: usize) -> usize {
        1 + q
    }
    pub fn rec_m2(&self, q: usize) -> usize {
        2 + self.dim + q
    }
    pub fn stat_n(&self) -> usize {
        3 + 2 * self.dim
    }
    pub fn stat_s1(&self, q: usize) -> usize {
        4 + 2 * self.dim + q
    }
    pub fn stat_s2(&self, i: usize) -> usize {
        5 + 3 * self.dim + i
    }
    pub fn div_n(&self) -> usize {
        5 + 4 * self.dim
    }
    pub fn div_sum(&self) -> usize {
        6 + 4 * self.dim
    }
    pub fn div_min_hi(&self) -> usize {
        7 + 4 * self.dim
    }
    pub fn div_min_lo(&self) -> usize {
        8 + 4 * self.dim
    }
    pub fn stat_s12(&self, pair: usize) -> usize {
        9 + 4 * self.dim + pair
    }
}

/// The index of pair (i, j), i < j, among the pairs of `dim` coordinates in row order.
pub fn pair_index(dim: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < dim);
    i * (2 * dim - i - 1) / 2 + (j - i - 1)
}

/// Parameters of the `rng_words` test kernel (a grid of paths × blocks).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct RngParams {
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub path_lo: u32,
    pub path_hi: u32,
    pub block_lo: u32,
    pub block_hi: u32,
    pub n_paths: u32,
    pub n_blocks: u32,
}

const _: () = assert!(size_of::<RngParams>() == 32);
