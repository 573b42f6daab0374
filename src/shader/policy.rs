//! Which variant of the advance kernel an adapter runs ([`Variant`]): every variant of a kernel
//! computes the same values (tests compare each with the CPU twin), at different speeds on
//! software adapters (llvmpipe: SIMD lanes of a CPU, see shaders/advance.wgsl, "Shaped for SIMD
//! drivers") and on hardware GPUs. The measurements behind each choice are in benches/NOTES.md,
//! in the sections named below.

use crate::experiment::SCHED_CONSTANT;
use crate::kernel::{CROSS_TILE, Kernel, KernelConsts, WG};
use crate::layout::Params;

/// How a composed advance kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Coefficients in registers, or read from their buffer ([`coef_regs`]).
    pub coef_regs: bool,
    /// Paths per invocation ([`pack_for`]: 1, or one of [`PACK_WIDTHS`] for a [`packable`] kernel).
    pub pack: usize,
    /// Speculative ([`speculable`]).
    pub spec: bool,
    /// The stationary histogram counted per invocation ([`private_hist_for`]).
    pub private_hist: bool,
    /// Compiled with wgpu's runtime checks ([`runtime_checks`]); the WGSL is the same either way.
    pub checks: bool,
}

impl Variant {
    /// One path per invocation, nothing speculative, the histogram counted by atomic adds, wgpu's
    /// runtime checks on.
    pub fn plain(coef_regs: bool) -> Self {
        Variant { coef_regs, pack: 1, spec: false, private_hist: false, checks: true }
    }
}

/// Workgroup memory the kernel may use for its histogram (the WebGPU default limit is 16 KiB;
/// the reduction arrays take 3 × WG words).
const LOCAL_HIST_BUDGET_WORDS: usize = 4096 - 3 * WG;

/// Whether the advance kernel keeps its histogram in workgroup memory (else every count is an
/// atomic add to the global histogram).
pub fn uses_local_hist(k: &KernelConsts) -> bool {
    let cross_tile = if k.cross { CROSS_TILE * WG } else { 0 };
    k.hist_words() + cross_tile <= LOCAL_HIST_BUDGET_WORDS
}

/// Largest d whose per-coordinate coefficients the advance kernel keeps in registers
/// (`ModelCoefs`, eleven arrays of d) on a hardware GPU; above it the kernel reads them from the
/// coefficient buffer where it uses them (the same address for every invocation of a group, so a
/// broadcast load) and leaves the registers to the state and the sums. Faster at d = 16 on an
/// H100, slower on llvmpipe, so software adapters keep the registers at every d (NOTES: "GPU
/// tuning: coefficients from their buffer above d = 4").
pub const COEF_REGS_MAX_DIM: usize = 4;

/// Whether the advance kernel should keep the coefficients in registers on an adapter that is
/// (`software`) or is not a software rasteriser.
pub fn coef_regs(k: &KernelConsts, software: bool) -> bool {
    software || k.dim <= COEF_REGS_MAX_DIM
}

/// Paths each invocation of the d = 1 loop advances on a software adapter ([`default_pack`]).
pub const SOFTWARE_PACK: usize = 8;

/// Paths per invocation that the d = 1 loop can be composed for (shaders/advance/fast1.wgsl).
pub const PACK_WIDTHS: [usize; 4] = [1, 2, 4, 8];

/// Whether the kernel runs the d = 1 loop (`fast1_run`) for dispatches that sample at most once
/// per four substeps, the one loop that may pack several paths per invocation: one coordinate,
/// one normal per substep, none of the multi-draw, compressed, Student-t or scheduled kernels.
pub fn packable(k: &KernelConsts) -> bool {
    k.dim == 1
        && k.draws == 1
        && k.kernel.is_single_agent()
        && !k.tnoise
        && !k.tcdf
        && !k.objective.samples_data()
        && k.schedule == SCHED_CONSTANT
}

/// The paths per invocation an adapter asks for by default: [`SOFTWARE_PACK`] on a software
/// adapter (`software`), one on a hardware GPU. llvmpipe runs each invocation's substeps as one
/// chain of dependent vector operations (a step's erf, its polynomial, the update, the next
/// step's gradient), latency-bound: several paths per invocation give it independent chains to
/// interleave, and the SignSGD SDE's erfc branch is then shared by the packed paths
/// (shaders/advance/fast1.wgsl). A hardware GPU hides latency with other warps and would lose
/// occupancy to the extra registers: one path there (NOTES: "Packed paths on lavapipe", and
/// "Kernel variants on hardware").
pub fn default_pack(software: bool) -> usize {
    if software { SOFTWARE_PACK } else { 1 }
}

/// Paths per invocation of the advance kernel for a run with these substeps per step and
/// sampling interval, when `width` paths per invocation are asked for ([`default_pack`], or an
/// engine's setting). The packed loop needs the d = 1 loop's block structure: at most one sample
/// per random block (refine × stat_every ≥ 4, or a dispatch that samples nothing, stat_start =
/// u32::MAX), the condition under which shaders/advance.wgsl takes that loop; other kernels and
/// dispatches get one path per invocation.
pub fn pack_for(k: &KernelConsts, width: usize, p: &Params) -> usize {
    let one_sample_per_block = p.stat_start == u32::MAX || u64::from(p.refine) * u64::from(p.stat_every) >= 4;
    if width > 1 && packable(k) && one_sample_per_block { width } else { 1 }
}

/// Whether kernel `k` has a speculative variant (`spec`): the SignSGD SDE with Gaussian noise.
/// Its drift and diffusion factors come from erf, whose argument |u| ≥ 0.5 takes a branch with
/// an exponential and a division (math.wgsl `erf_big_and_diffusion`), which a software adapter
/// pays for at every substep although near stationarity no path needs it. The speculative
/// kernel takes the small-argument branch alone and flags a dispatch in which some live path met
/// |u| ≥ 0.5; the engine then runs the chunk again with the full kernel (src/gpu/engine.rs).
/// Where no path meets it, both kernels do the same operations on every path, so the results
/// are the same bit for bit. Software adapters only: a hardware GPU's branch is a real one
/// (NOTES: "Lavapipe: a speculative SignSGD SDE kernel").
pub fn speculable(k: &KernelConsts) -> bool {
    k.kernel == Kernel::SignsgdSde && !k.tcdf
}

/// Whether wgpu compiles kernel `k` with its runtime checks (index clamps on every array and
/// buffer access, a counter that bounds every loop; `wgpu::ShaderRuntimeChecks`) on an adapter
/// that is (`software`) or is not a software rasteriser. The kernels are composed by this crate
/// from fixed sources: their indices stay in range by construction (coordinates below DIM,
/// histogram bins clamped by `bin_of`, paths below the chunk) and their loops are bounded by
/// step and coordinate counts, so the checks guard against nothing here. Hardware GPUs run
/// without them, faster, except DCSGD with a compressor (`Kernel::Dcsgd`), which ran slower
/// without them; on llvmpipe they made no measurable difference, so software adapters keep them
/// (NOTES: "Kernel variants on hardware").
pub fn runtime_checks(k: &KernelConsts, software: bool) -> bool {
    software || k.kernel == Kernel::Dcsgd
}

/// Largest histogram (words, [`KernelConsts::hist_words`]) that an invocation counts in private
/// memory ([`private_hist_for`]): the merge at the end of a dispatch reads every word.
pub const PRIVATE_HIST_MAX_WORDS: usize = 1024;

/// Whether a kernel advancing `pack` paths per invocation counts its stationary histogram in
/// private memory, one histogram per invocation added to the workgroup's (or the global one) at
/// the end of the dispatch, instead of one atomic add per sample. llvmpipe runs an atomic add as
/// a locked instruction per lane, and eight packed paths make 16 of them per lane at a sampled
/// step; a private array indexed by the bin is a plain load and store per lane there (NOTES:
/// "Lavapipe: histogram atomics and Adam's bias corrections"). Packed kernels (software
/// adapters) with a histogram of at most [`PRIVATE_HIST_MAX_WORDS`] words; a hardware GPU's
/// workgroup atomics are cheap, and its private arrays are slow.
pub fn private_hist_for(k: &KernelConsts, pack: usize) -> bool {
    pack > 1 && private_hist_fits(k)
}

/// Whether kernel `k`'s histogram fits an invocation's private memory ([`PRIVATE_HIST_MAX_WORDS`]).
pub fn private_hist_fits(k: &KernelConsts) -> bool {
    k.hist_words() <= PRIVATE_HIST_MAX_WORDS
}

/// Largest d × draws for which the FAST4 substep (shaders/advance/fast4.wgsl `fast4_coords`) is
/// written out with constant indices rather than looped: llvmpipe neither unrolls a loop body
/// this large nor knows that a loop index is the same in every lane, so each dynamic index into
/// a private array costs a lane-by-lane access.
pub const UNROLL_MAX_VARIATES: usize = 64;

/// Whether `fast4_coords` is written out (else it calls the looped form): the substep consumes
/// whole blocks ([`KernelConsts::whole_blocks`]) and d × draws ≤ [`UNROLL_MAX_VARIATES`].
pub fn fast4_written_out(k: &KernelConsts) -> bool {
    k.whole_blocks() && k.dim * k.draws as usize <= UNROLL_MAX_VARIATES
}
