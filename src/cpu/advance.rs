//! CPU twin of `shaders/advance.wgsl` (entry point `advance`): same bindings, same state
//! layout, same arithmetic in the same order per path, same workgroup reduction trees.
//!
//! Control flow differs where each target wants it. The shader runs the segment in stretches
//! that end at a sampled step and samples once per stretch, from a snapshot; inside a stretch,
//! d = 1 takes four substeps per random block and d (or N) a multiple of 4 four coordinates (or
//! agents) per block, all written out, with a counter instead of a modulo for the sampling rule.
//! SIMD drivers such as llvmpipe (Mesa 22) execute both sides of every branch and each loop body
//! at least once, so any code in the step loop costs every step whether it runs or not. Here
//! the loops over lanes vectorise best. The paths see the same operations either way, which the
//! backends tests on lavapipe confirm.
//!
//! Each workgroup of [`WG`] paths is one rayon task; inside it, blocks of [`LANES`] paths are
//! advanced together with every operation written as a loop over lanes, so LLVM vectorises
//! the random-number generation and the model update across paths.
//!
//! Divergence: a path whose |x_i| exceeds `Params::div_bound` for some i, or turns non-finite,
//! at the end of an optimizer step is frozen (its state no longer changes) and counted in the
//! partials with that step; frozen paths are excluded from every moment, sample and histogram.
//! Whether a path is frozen is a function of its state (out of bounds), so a segment that
//! resumes a chunk knows without extra state.

use rayon::prelude::*;

use crate::kernel::coefs::{SLOTS, agents, dcsgd, randk_sde, signsgd_sde};
use crate::kernel::{COMP_QSGD, Kernel, KernelConsts, WG};
use crate::layout::{Coef, Group, Params, PartialLayout, Upload, partial_words};
use crate::math::{erf_small_and_diffusion, is_finite_bits};
use crate::model::adaptive::TimeBlocks;
use crate::model::compressed::{compress, randk_sde_update};
use crate::model::distributed::accumulate;
use crate::model::signsgd::sde_update_with;
use crate::model::update;
use crate::noise::{student_t, t_sign_moments};
use crate::rng::{
    STREAM_COMPRESS, STREAM_NOISE, key_schedule, normals_lanes, threefry4x32_lanes_keyed, threefry4x32_lanes_keyed_by,
};

/// Paths advanced together on one core.
pub const LANES: usize = 64;
/// Lanes whose Threefry rounds the AVX2 kernel runs together: the four words of 16 lanes fill 8
/// of AVX2's 16 vector registers, while those of all [`LANES`] (32 registers) spilled every
/// round. AVX-512 (32 registers of 16 lanes) and the baseline take all lanes at once.
#[cfg(target_arch = "x86_64")]
const AVX2_THREEFRY_LANES: usize = 16;

/// Twin of the `advance` entry point. `state` holds `ceil(n_paths / WG)` workgroups of
/// `dim × WG` words (coordinate-major inside a workgroup), `partials` as many blocks of
/// [`partial_words`], and `hist` receives atomic-style increments. `fused`: the special
/// functions' multiply-adds are fused ([`super::Arith`]).
pub fn advance(
    k: &KernelConsts,
    params: &Params,
    up: &Upload,
    state: &mut [f32],
    partials: &mut [f32],
    hist: &mut [u32],
    fused: bool,
) {
    macro_rules! go {
        ($($kernel:ident)*) => {
            match k.kernel {
                $(Kernel::$kernel => if fused {
                    advance_model::<{ Kernel::$kernel.id() }, true>(k, params, up, state, partials, hist)
                } else {
                    advance_model::<{ Kernel::$kernel.id() }, false>(k, params, up, state, partials, hist)
                },)*
            }
        };
    }
    go!(SgdSde Sgd SignsgdSde Signsgd Rmsprop Adam RmspropSde AdamSde Dsgd Dsignsgd Dcsgd BernoulliSde RandkSde)
}

/// What one workgroup reads: its group's coefficients and scalars, the CDF tables, and how far
/// its paths' random-number index is shifted (the group's first path).
#[derive(Clone, Copy)]
struct Ctx<'a> {
    coef: &'a [Coef],
    tcdf: &'a [f32],
    group: Group,
    shift: u64,
}

fn advance_model<const M: u32, const FMA: bool>(
    k: &KernelConsts,
    params: &Params,
    up: &Upload,
    state: &mut [f32],
    partials: &mut [f32],
    hist: &mut [u32],
) {
    let dim = k.dim;
    let n_wg = (params.n_paths as usize).div_ceil(WG);
    let pw = partial_words(dim);
    let hw = k.hist_words();
    let n_groups = up.groups.len();
    let ppg = u64::from(params.group_paths);
    let base = u64::from(params.path_hi) << 32 | u64::from(params.path_lo);
    let wg_fn = select_workgroup::<M, FMA>();
    let copies = if hw * n_groups <= TWO_COPIES_MAX_WORDS { 2 } else { 1 };
    let sw = k.slots() * dim * WG;
    let local = state[..n_wg * sw]
        .par_chunks_mut(sw)
        .zip(partials[..n_wg * pw].par_chunks_mut(pw))
        .enumerate()
        .fold(
            // Two copies of the histograms where they are small: even and odd lanes count into one
            // each (`count_bins`); else one, and the second slice is empty.
            || vec![0u32; copies * hw * n_groups],
            |mut h, (wid, (st, part))| {
                // Every workgroup lies inside one group (group sizes are multiples of WG).
                let g = (base + (wid * WG) as u64).checked_div(ppg).unwrap_or(0) as usize;
                let ctx = Ctx {
                    coef: &up.coef[g * dim..(g + 1) * dim],
                    tcdf: &up.tcdf,
                    group: up.groups[g],
                    shift: g as u64 * ppg,
                };
                let (h1, h2) = h.split_at_mut(hw * n_groups);
                let h2 = if copies == 2 { &mut h2[g * hw..(g + 1) * hw] } else { &mut [][..] };
                wg_fn(k, params, &ctx, wid, st, part, &mut h1[g * hw..(g + 1) * hw], h2);
                h
            },
        )
        .reduce(
            || vec![0u32; copies * hw * n_groups],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x = x.wrapping_add(*y));
                a
            },
        );
    for part in local.chunks_exact(hw * n_groups) {
        hist.iter_mut().zip(part).for_each(|(x, y)| *x = x.wrapping_add(*y));
    }
}

#[inline(always)]
fn is_sample(params: &Params, k: u32) -> bool {
    k >= params.stat_start && (k - params.stat_start).is_multiple_of(params.stat_every)
}

#[inline(always)]
fn bin_of(v: f32, lo: f32, inv_w: f32, bins: u32) -> u32 {
    let u = (v - lo) * inv_w;
    let b = bins as f32;
    // The shader's u32(clamp(u, 0, bins)) without a float-to-int cast: Rust's saturating cast
    // (NaN → 0) is scalarised lane by lane. uc lies in [0, bins] ⊂ [0, 2^23) (NaN maps to 0;
    // the caller never counts a non-finite value), so floor(uc) + 2^23 is exact and its mantissa
    // is the bin.
    let uc = if u > 0.0 { u.min(b) } else { 0.0 };
    let idx = (uc.floor() + 8_388_608.0).to_bits() - 0x4B00_0000;
    let idx = if u >= b { bins + 1 } else { idx };
    if u < 0.0 { bins } else { idx }
}

/// Per-workgroup scratch: what each invocation holds in registers at the end of the segment.
struct Scratch {
    ok: Vec<bool>,
    loss: Vec<f32>,
    ns: Vec<f32>,
    /// (dim + 1) × WG
    s1: Vec<f32>,
    /// dim × WG
    s2: Vec<f32>,
    /// Paths frozen in this segment, Σ of their steps, earliest step (u32::MAX: none).
    dn: Vec<f32>,
    dsum: Vec<f32>,
    dmin: Vec<u32>,
}

type WorkgroupFn = fn(&KernelConsts, &Params, &Ctx<'_>, usize, &mut [f32], &mut [f32], &mut [u32], &mut [u32]);

/// The vector instructions the CPU kernels are compiled for on this CPU, detected at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorUnit {
    /// AVX-512 (F, VL, DQ, BW): 32 registers of 16 lanes.
    Avx512,
    /// AVX2 with FMA: 16 registers of 8 lanes.
    Avx2,
    /// The target's baseline (SSE2 on x86-64, NEON on aarch64).
    Baseline,
}

impl VectorUnit {
    /// The widest this CPU has.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                return VectorUnit::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return VectorUnit::Avx2;
            }
        }
        VectorUnit::Baseline
    }

    /// Its name in the bench table, bench.json and the CPU backend's driver string.
    pub fn name(self) -> &'static str {
        match self {
            VectorUnit::Avx512 => "AVX-512",
            VectorUnit::Avx2 => "AVX2",
            VectorUnit::Baseline => "baseline",
        }
    }
}

/// The workgroup body compiled for the widest vector unit this CPU has ([`VectorUnit`]). No
/// fast-math: every variant computes bit-identical results.
fn select_workgroup<const M: u32, const FMA: bool>() -> WorkgroupFn {
    match VectorUnit::detect() {
        // SAFETY: the features were detected at run time.
        #[cfg(target_arch = "x86_64")]
        VectorUnit::Avx512 => {
            |k, p, c, w, st, part, h, h2| unsafe { workgroup_avx512::<M, FMA>(k, p, c, w, st, part, h, h2) }
        }
        // SAFETY: the features were detected at run time.
        #[cfg(target_arch = "x86_64")]
        VectorUnit::Avx2 => {
            |k, p, c, w, st, part, h, h2| unsafe { workgroup_avx2::<M, FMA>(k, p, c, w, st, part, h, h2) }
        }
        _ => workgroup::<M, FMA, LANES>,
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2")]
fn workgroup_avx512<const M: u32, const FMA: bool>(
    k: &KernelConsts,
    params: &Params,
    ctx: &Ctx<'_>,
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    workgroup::<M, FMA, LANES>(k, params, ctx, wid, st, part, hist, hist2)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2")]
fn workgroup_avx2<const M: u32, const FMA: bool>(
    k: &KernelConsts,
    params: &Params,
    ctx: &Ctx<'_>,
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    workgroup::<M, FMA, AVX2_THREEFRY_LANES>(k, params, ctx, wid, st, part, hist, hist2)
}

#[inline(always)]
fn workgroup<const M: u32, const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    params: &Params,
    ctx: &Ctx<'_>,
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    let dim = k.dim;
    let mut sc = Scratch {
        ok: vec![false; WG],
        loss: vec![0.0; WG],
        ns: vec![0.0; WG],
        s1: vec![0.0; (dim + 1) * WG],
        s2: vec![0.0; dim * WG],
        dn: vec![0.0; WG],
        dsum: vec![0.0; WG],
        dmin: vec![u32::MAX; WG],
    };
    for b in 0..WG / LANES {
        block::<M, FMA, TF>(k, params, ctx, wid, b * LANES, st, &mut sc, hist, hist2);
    }
    reduce_partials(k, params, part, &sc, st);
}

/// A block of lanes' position in one random stream: Threefry block `blk`, the next variate
/// `lane` inside it, and the block's words (and normals, for Gaussian streams). Variate m of
/// the stream is variate m % per of block m / per.
struct Cursor<const FMA: bool, const TF: usize> {
    blk: u64,
    lane: usize,
    per: usize,
    /// A Gaussian stream (four normals per block). Block blk + 1's normals are then computed in
    /// four stages, one per variate taken from block blk (`prefetch`, into `zb[1 − cur]`), so
    /// that each step's update shares the core's out-of-order window with independent generator
    /// work (the update alone is a latency-bound chain per lane).
    normals: bool,
    /// The key schedule ([`key_schedule`]).
    ks: [u32; 5],
    /// The first lane's path index (counter words 2 and 3; lane l has path0 + l).
    path0: u64,
    words: [[u32; LANES]; 4],
    /// The normals of block blk (`zb[cur]`) and of block blk + 1 in the making (`zb[1 − cur]`):
    /// moving to the next block flips `cur` instead of copying 1 KiB.
    zb: [[[f32; LANES]; 4]; 2],
    cur: usize,
    /// Block blk + 1 in the making: words, and the radius stages' values.
    wn: [[u32; LANES]; 4],
    sn: [[f32; LANES]; 2],
    en: [[f32; LANES]; 2],
}

impl<const FMA: bool, const TF: usize> Cursor<FMA, TF> {
    // Inlined so that its first fetch is compiled with the caller's target features (as a
    // function of its own it ran as baseline x86-64 code: 3% of signsgd-sde d = 1).
    #[inline(always)]
    fn new(m0: u64, per: u64, normals: bool, stream: u32, params: &Params, path0: u64) -> Self {
        let ks = key_schedule([params.seed_lo, params.seed_hi, stream, 0]);
        let mut c = Cursor {
            blk: m0 / per,
            lane: (m0 % per) as usize,
            per: per as usize,
            normals,
            ks,
            path0,
            words: [[0; LANES]; 4],
            zb: [[[0.0; LANES]; 4]; 2],
            cur: 0,
            wn: [[0; LANES]; 4],
            sn: [[0.0; LANES]; 2],
            en: [[0.0; LANES]; 2],
        };
        debug_assert!(!normals || per == 4, "a Gaussian block holds four normals");
        c.fetch();
        if c.normals {
            // `next` computes stage j of the next block when it hands out variate j.
            for q in 0..c.lane {
                c.prefetch(q);
            }
        }
        c
    }

    /// Block `blk`'s Threefry words of every lane (path path0 + l) into `out`. The counters get
    /// the first key injection here (`threefry4x32_lanes_keyed`); the 64-bit path sum is taken
    /// in 32-bit halves (lanes of u32 vectorise; the carry is whether the low half wrapped). The
    /// rounds run `TF` lanes at a time, in place (see `AVX2_THREEFRY_LANES`); with all lanes at
    /// once (AVX-512, the baseline) by value, the form measured there.
    #[inline(always)]
    fn words_into(ks: &[u32; 5], path0: u64, blk: u64, out: &mut [[u32; LANES]; 4]) {
        // A function, not a closure: a closure was compiled on its own, without the caller's
        // target features (5% of signsgd-sde d = 1 on AVX2).
        #[inline(always)]
        fn fill(ks: &[u32; 5], path0: u64, blk: u64, x: &mut [[u32; LANES]; 4]) {
            let (lo0, hi0) = (path0 as u32, (path0 >> 32) as u32);
            x[0] = [(blk as u32).wrapping_add(ks[0]); LANES];
            x[1] = [((blk >> 32) as u32).wrapping_add(ks[1]); LANES];
            for l in 0..LANES {
                let lo = lo0.wrapping_add(l as u32);
                x[2][l] = lo.wrapping_add(ks[2]);
                x[3][l] = hi0.wrapping_add(u32::from(lo < lo0)).wrapping_add(ks[3]);
            }
        }
        if TF == LANES {
            let mut x = [[0; LANES]; 4];
            fill(ks, path0, blk, &mut x);
            *out = threefry4x32_lanes_keyed(x, ks);
        } else {
            fill(ks, path0, blk, out);
            threefry4x32_lanes_keyed_by::<LANES, TF>(out, ks);
        }
    }

    /// Block `blk` of every lane: its words and, for a Gaussian stream, its normals.
    #[inline(always)]
    fn fetch(&mut self) {
        Self::words_into(&self.ks, self.path0, self.blk, &mut self.words);
        if self.normals {
            normals_lanes::<LANES, FMA>(&self.words, &mut self.zb[self.cur]);
        }
    }

    /// Stage q of block blk + 1's normals, into `zb[1 − cur]` at the last stage: (0) its Threefry
    /// words, (1) the radius words' logarithm reduction, (2) the radii, (3) the angles and the
    /// normals.
    /// Each stage spans all lanes, so it keeps many independent chains (as `normals_lanes`,
    /// whose stages these are, bit for bit). Written out here on the cursor's fields: the same
    /// stages as functions of `crate::rng` taking the arrays by reference compiled to code that
    /// ran about 10% slower (8 alternated pairs).
    #[inline(always)]
    fn prefetch(&mut self, q: usize) {
        match q {
            0 => Self::words_into(&self.ks, self.path0, self.blk + 1, &mut self.wn),
            1 => {
                for p in 0..2 {
                    for l in 0..LANES {
                        let (sv, e) = crate::math::ln_unit_reduce(crate::rng::open_unit(self.wn[2 * p][l]));
                        self.sn[p][l] = sv;
                        self.en[p][l] = e;
                    }
                }
            }
            2 => {
                for p in 0..2 {
                    for l in 0..LANES {
                        self.sn[p][l] =
                            (-2.0 * crate::math::ln_unit_finish::<FMA>(self.sn[p][l], self.en[p][l])).sqrt();
                    }
                }
            }
            _ => {
                let (wn, r, zn) = (&self.wn, &self.sn, &mut self.zb[self.cur ^ 1]);
                for p in 0..2 {
                    for l in 0..LANES {
                        let (c, sn) = crate::math::sincos_quarter::<FMA>(wn[2 * p + 1][l]);
                        zn[2 * p][l] = r[p][l] * c;
                        zn[2 * p + 1][l] = r[p][l] * sn;
                    }
                }
            }
        }
    }

    /// Move to the next variate (fetching a new block when this one is used up); returns its
    /// lane inside the block.
    #[inline(always)]
    fn next(&mut self) -> usize {
        if self.lane == self.per {
            self.blk += 1;
            if self.normals {
                self.cur ^= 1;
            } else {
                self.fetch();
            }
            self.lane = 0;
        }
        let j = self.lane;
        self.lane += 1;
        if self.normals {
            self.prefetch(j);
        }
        j
    }

    /// The next noise variate of every lane: a normal, or a Student-t variate with coordinate
    /// `q`'s ν (from the block's first three words; one per block).
    #[inline(always)]
    fn variate(&mut self, q: &Coef) -> [f32; LANES] {
        let j = self.next();
        if self.normals {
            self.zb[self.cur][j]
        } else {
            let mut out = [0.0f32; LANES];
            for l in 0..LANES {
                let w = &self.words;
                out[l] = student_t::<FMA>(w[0][l], w[1][l], w[2][l], q.nu, q.two_over_nu);
            }
            out
        }
    }

    /// The next raw word of every lane.
    #[inline(always)]
    fn word(&mut self) -> [u32; LANES] {
        let j = self.next();
        self.words[j]
    }
}

/// Whether every coordinate of lane l is finite and within the divergence bound.
#[inline(always)]
fn in_bounds(x: &[[f32; LANES]], bound: f32) -> [bool; LANES] {
    let mut ok = [true; LANES];
    for xi in x {
        for l in 0..LANES {
            ok[l] &= xi[l].abs() <= bound;
        }
    }
    ok
}

/// The largest histogram buffer (words, every group) that the CPU twin counts in two copies
/// (`count_bins`). Each rayon fold clears and merges its copies once per dispatch: with 65 536
/// bins and a record every step (a 1-step dispatch) a second copy made runs 2.1× slower, while
/// with few bins the chains it breaks are what costs (see `count_bins`).
const TWO_COPIES_MAX_WORDS: usize = 8192;

/// Add the first `n` lanes' bins (where `ok`) to one quantity's histogram. Lanes near a
/// stationary distribution mostly fall in a few bins, so with one count per bin each increment
/// waits for the previous one's store; even lanes count into `h` and odd lanes into `h2`, a
/// second copy of the histograms that `advance_model` adds to the first once per dispatch
/// (per rayon fold, like the first, not per workgroup), where the histograms are small
/// ([`TWO_COPIES_MAX_WORDS`]); `h2` is empty otherwise and every lane counts into `h`. Same
/// counts either way.
#[inline(always)]
fn count_bins(h: &mut [u32], h2: &mut [u32], bin: &[u32; LANES], ok: &[bool; LANES], n: usize) {
    if h2.is_empty() {
        for l in 0..n {
            h[bin[l] as usize] += u32::from(ok[l]);
        }
        return;
    }
    let mut l = 0;
    while l + 1 < n {
        h[bin[l] as usize] += u32::from(ok[l]);
        h2[bin[l + 1] as usize] += u32::from(ok[l + 1]);
        l += 2;
    }
    if l < n {
        h[bin[l] as usize] += u32::from(ok[l]);
    }
}

/// Quantity `r`'s part of the second histogram copy, or the empty slice where there is none.
#[inline(always)]
fn copy_of(h2: &mut [u32], r: std::ops::Range<usize>) -> &mut [u32] {
    if h2.is_empty() { h2 } else { &mut h2[r] }
}

#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn block<const M: u32, const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    params: &Params,
    ctx: &Ctx<'_>,
    wid: usize,
    lid0: usize,
    st: &mut [f32],
    sc: &mut Scratch,
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    let kernel = const { Kernel::from_id(M) };
    let dim = k.dim;
    let bins = k.bins;
    let hs = bins as usize + 2;
    let first_local = wid * WG + lid0;
    let n_active = (params.n_paths as usize).saturating_sub(first_local).min(LANES);
    if n_active == 0 {
        return;
    }
    let (coef, tcdf, group) = (ctx.coef, ctx.tcdf, &ctx.group);
    let (h, c): (Vec<f32>, Vec<f32>) = coef.iter().map(|q| (q.h, q.c)).unzip();
    // State slots: x at slot 0; Adam's m at 1; the v of RMSprop/Adam at the last slot.
    let slots = k.slots();
    let (slot_m, slot_v) = (1, slots - 1);
    let mut x = vec![[0.0f32; LANES]; dim];
    let mut mm = vec![[0.0f32; LANES]; dim];
    let mut vv = vec![[0.0f32; LANES]; dim];
    for i in 0..dim {
        for l in 0..LANES {
            if params.init == 1 {
                x[i][l] = coef[i].x0;
            } else {
                x[i][l] = st[i * WG + lid0 + l];
                if slots == 3 {
                    mm[i][l] = st[(slot_m * dim + i) * WG + lid0 + l];
                }
                if slots >= 2 {
                    vv[i][l] = st[(slot_v * dim + i) * WG + lid0 + l];
                }
            }
        }
    }
    let p: Vec<[f32; SLOTS]> = coef.iter().map(|q| [q.p0, q.p1, q.p2, q.p3, q.p4, q.p5, q.p6, q.p7, q.p8]).collect();
    let mut g = vec![[0.0f32; LANES]; dim];
    let mut s1 = vec![[0.0f32; LANES]; dim + 1];
    let mut s2 = vec![[0.0f32; LANES]; dim];
    let mut ns = [0.0f32; LANES];
    // The kernels with a step of their own keep a second vector per coordinate (the agent's noisy gradient / z₂)
    // and an accumulator.
    let mut va = vec![[0.0f32; LANES]; if kernel.has_own_step() { dim } else { 0 }];
    let mut acc = vec![[0.0f32; LANES]; if kernel == Kernel::Dcsgd { dim } else { 0 }];

    let bound = group.div_bound;
    let mut alive = in_bounds(&x, bound);
    let mut all_alive = alive.iter().all(|&a| a);
    let (mut dn, mut dsum, mut dmin) = ([0.0f32; LANES], [0.0f32; LANES], [u32::MAX; LANES]);

    // The random numbers are keyed by the path's index inside its group.
    let path0 = (u64::from(params.path_hi) << 32 | u64::from(params.path_lo)) + first_local as u64 - ctx.shift;
    let m0 = u64::from(params.m0_hi) << 32 | u64::from(params.m0_lo);
    let mut noise = Cursor::<FMA, TF>::new(m0, k.per_block(), !k.tnoise, STREAM_NOISE, params, path0);
    let mut cw = if kernel == Kernel::Dcsgd {
        Some(Cursor::<FMA, TF>::new(m0, 4, false, STREAM_COMPRESS, params, path0))
    } else {
        None
    };

    let time_blocks = TimeBlocks::new::<FMA>(group.tf_a, group.tf_b);
    let mut tf_ahead = time_blocks.factors::<M, FMA>(params.k_begin, 0, params.refine);
    let mut kk = params.k_begin;
    let mut sample_now = params.init == 1 && is_sample(params, 0);
    loop {
        if sample_now {
            // Vectorised over lanes; only the histogram increments are scalar.
            let mut loss = [0.0f32; LANES];
            for i in 0..dim {
                for l in 0..LANES {
                    let y = x[i][l] - c[i];
                    loss[l] += h[i] * y * y;
                }
            }
            let mut ok = [false; LANES];
            for l in 0..LANES {
                loss[l] *= 0.5;
                ok[l] = alive[l] && is_finite_bits(loss[l]) && l < n_active;
                ns[l] += if ok[l] { 1.0 } else { 0.0 };
            }
            let mut bin = [0u32; LANES];
            for i in 0..dim {
                let (lo, iw) = (coef[i].hist_lo, coef[i].hist_inv_w);
                for l in 0..LANES {
                    let y = x[i][l] - c[i];
                    s1[i][l] += if ok[l] { y } else { 0.0 };
                    s2[i][l] += if ok[l] { y * y } else { 0.0 };
                    bin[l] = bin_of(x[i][l], lo, iw, bins);
                }
                count_bins(&mut hist[i * hs..(i + 1) * hs], copy_of(hist2, i * hs..(i + 1) * hs), &bin, &ok, n_active);
            }
            for l in 0..LANES {
                s1[dim][l] += if ok[l] { loss[l] } else { 0.0 };
                bin[l] = bin_of(loss[l], group.loss_lo, group.loss_inv_w, bins);
            }
            count_bins(
                &mut hist[dim * hs..(dim + 1) * hs],
                copy_of(hist2, dim * hs..(dim + 1) * hs),
                &bin,
                &ok,
                n_active,
            );
        }
        if kk >= params.k_end {
            break;
        }
        // The SignSGD SDE with every lane alive (the common case) takes a fused pass per
        // coordinate: gradient, erf argument, the Taylor-branch update and, in the last substep,
        // the divergence bound, all while the lane is in registers; the gradient pass and the
        // separate small-argument check are skipped. A coordinate with some argument ≥ 0.5 falls
        // back to the general code. Same operations per lane, so the same values.
        let sign_fast = kernel == Kernel::SignsgdSde && !k.tcdf && all_alive;
        let mut fused_inb = [true; LANES];
        for j in 0..params.refine {
            // Adam's time factors, computed a substep ahead: their chain of dependent operations
            // (an exponential, a square root, a division) then overlaps a substep's lanes
            // instead of delaying them.
            let tf = tf_ahead;
            let (k_next, j_next) = if j + 1 == params.refine { (kk + 1, 0) } else { (kk, j + 1) };
            tf_ahead = time_blocks.factors::<M, FMA>(k_next, j_next, params.refine);
            let last = j + 1 == params.refine;
            if !sign_fast {
                for i in 0..dim {
                    let (hi, ci) = (h[i], c[i]);
                    for l in 0..LANES {
                        g[i][l] = hi * (x[i][l] - ci);
                    }
                }
            }
            if kernel == Kernel::Dcsgd {
                // DCSGD: agents outside, coordinates inside (both streams read in order).
                let cw = cw.as_mut().expect("DCSGD has a compressor stream");
                for a in acc.iter_mut() {
                    *a = [0.0; LANES];
                }
                for _ in 0..k.draws {
                    for i in 0..dim {
                        let z = noise.variate(&coef[i]);
                        for l in 0..LANES {
                            va[i][l] = g[i][l] + p[i][dcsgd::SCALE] * z[l];
                        }
                    }
                    let mut norm = [0.0f32; LANES];
                    if k.comp == COMP_QSGD {
                        for vi in va.iter() {
                            for l in 0..LANES {
                                norm[l] += vi[l] * vi[l];
                            }
                        }
                        for l in 0..LANES {
                            norm[l] = norm[l].sqrt();
                        }
                    }
                    let mut kept = [0u32; LANES];
                    for i in 0..dim {
                        let w = cw.word();
                        let (c3, c4) = (p[i][dcsgd::COMP_PARAM], p[i][dcsgd::COMP_SCALE]);
                        let left = (dim - i) as u32;
                        macro_rules! comp {
                            ($id:expr) => {
                                for l in 0..LANES {
                                    acc[i][l] +=
                                        compress::<{ $id }>(va[i][l], w[l], c3, c4, &mut kept[l], left, norm[l]);
                                }
                            };
                        }
                        match k.comp {
                            1 => comp!(1),
                            2 => comp!(2),
                            3 => comp!(3),
                            4 => comp!(4),
                            _ => comp!(0),
                        }
                    }
                }
                for i in 0..dim {
                    for l in 0..LANES {
                        let nx = x[i][l] - p[i][dcsgd::ETA] * (acc[i][l] * p[i][dcsgd::INV_AGENTS]);
                        x[i][l] = if alive[l] { nx } else { x[i][l] };
                    }
                }
            } else if kernel == Kernel::RandkSde {
                // rand-k SDE: z₂ for every coordinate (and its mean), then z₁ and the update.
                let mut sum = [0.0f32; LANES];
                for i in 0..dim {
                    let z = noise.variate(&coef[i]);
                    va[i] = z;
                    for l in 0..LANES {
                        sum[l] += z[l];
                    }
                }
                let mut zbar = [0.0f32; LANES];
                for l in 0..LANES {
                    zbar[l] = sum[l] / dim as f32;
                }
                for i in 0..dim {
                    let z1 = noise.variate(&coef[i]);
                    let pi = &p[i];
                    for l in 0..LANES {
                        let (dt, noise, grad_noise) =
                            (pi[randk_sde::DT], pi[randk_sde::NOISE], pi[randk_sde::GRAD_NOISE]);
                        let nx = randk_sde_update(x[i][l], g[i][l], z1[l], va[i][l] - zbar[l], dt, noise, grad_noise);
                        x[i][l] = if alive[l] { nx } else { x[i][l] };
                    }
                }
            } else {
                for i in 0..dim {
                    let pi = &p[i];
                    // One variate per agent; the multi-draw kernels aggregate them first. A
                    // single Gaussian draw is read where the cursor holds it: copying its lanes
                    // out cost a load and a store per lane and step (12% of signsgd-sde d = 1
                    // on AVX2). The aggregate's buffer is initialised only where it is used
                    // (zeroing it for every coordinate cost 2.5% of adam-sde d = 1 on AVX2).
                    let xi_own: [f32; LANES];
                    let xi: &[f32; LANES] = if !kernel.aggregates_agents() && !k.tnoise {
                        debug_assert_eq!(k.draws, 1, "kernels below 8 and 11 take one draw");
                        let j = noise.next();
                        &noise.zb[noise.cur][j]
                    } else {
                        let mut sum = [0.0f32; LANES];
                        for _ in 0..k.draws {
                            let z = noise.variate(&coef[i]);
                            if !kernel.aggregates_agents() {
                                sum = z;
                            } else {
                                let gs = &g[i];
                                for l in 0..LANES {
                                    sum[l] = accumulate::<M>(sum[l], gs[l], z[l], pi[agents::SCALE]);
                                }
                            }
                        }
                        xi_own = sum;
                        &xi_own
                    };
                    if sign_fast {
                        let (hi, ci) = (h[i], c[i]);
                        let xs = &mut x[i];
                        let mut nx = [0.0f32; LANES];
                        let (mut all_small, mut all_in) = (true, true);
                        for l in 0..LANES {
                            let a = hi * (xs[l] - ci) * pi[signsgd_sde::INV_SCALE];
                            all_small &= a.abs() < 0.5;
                            let (e, s) = erf_small_and_diffusion::<FMA>(a);
                            nx[l] = sde_update_with(xs[l], e, s, xi[l], pi[signsgd_sde::DT], pi[signsgd_sde::NOISE]);
                            all_in &= nx[l].abs() <= bound;
                        }
                        if all_small {
                            *xs = nx;
                            if last && !all_in {
                                for l in 0..LANES {
                                    fused_inb[l] &= xs[l].abs() <= bound;
                                }
                            }
                            continue;
                        }
                        // Some argument is large: this coordinate takes the general code, which
                        // needs its gradient.
                        for l in 0..LANES {
                            g[i][l] = hi * (xs[l] - ci);
                        }
                    }
                    let (xs, ms, vs) = (&mut x[i], &mut mm[i], &mut vv[i]);
                    let gs = &g[i];
                    // The SignSGD SDE near stationarity: when every lane's erf argument is below
                    // 0.5, only the Taylor branch of `erf_and_diffusion` is live, so skip the
                    // erfc/exp branch for the whole block (the same values: the selects would
                    // pick the Taylor results). The GPU kernel branches the same way per path.
                    let all_small = kernel == Kernel::SignsgdSde && !k.tcdf && {
                        let mut small = true;
                        for l in 0..LANES {
                            small &= (gs[l] * pi[signsgd_sde::INV_SCALE]).abs() < 0.5;
                        }
                        small
                    };
                    // `live!(l)`: whether lane l is updated. When every lane is alive (the
                    // common case) the loops store unconditionally, without the select. Each loop
                    // also checks the divergence bound while the lane is in registers (`all_in`);
                    // only when some lane is out does the last substep record which.
                    let mut all_in = true;
                    macro_rules! updates {
                        ($all:expr) => {{
                            macro_rules! live {
                                ($l:expr) => {
                                    $all || alive[$l]
                                };
                            }
                            if all_small {
                                for l in 0..LANES {
                                    let (e, s) = erf_small_and_diffusion::<FMA>(gs[l] * pi[signsgd_sde::INV_SCALE]);
                                    let nx = sde_update_with(
                                        xs[l],
                                        e,
                                        s,
                                        xi[l],
                                        pi[signsgd_sde::DT],
                                        pi[signsgd_sde::NOISE],
                                    );
                                    xs[l] = if live!(l) { nx } else { xs[l] };
                                    all_in &= xs[l].abs() <= bound;
                                }
                            } else if kernel == Kernel::SignsgdSde && k.tcdf {
                                let q = &coef[i];
                                for l in 0..LANES {
                                    let (e, oms) = t_sign_moments::<FMA>(
                                        gs[l] * pi[signsgd_sde::INV_SCALE],
                                        q.nu,
                                        q.sqrt_nu,
                                        q.tab,
                                        tcdf,
                                    );
                                    let nx = sde_update_with(
                                        xs[l],
                                        e,
                                        oms.sqrt(),
                                        xi[l],
                                        pi[signsgd_sde::DT],
                                        pi[signsgd_sde::NOISE],
                                    );
                                    xs[l] = if live!(l) { nx } else { xs[l] };
                                    all_in &= xs[l].abs() <= bound;
                                }
                            } else {
                                for l in 0..LANES {
                                    let (mut x1, mut m1, mut v1) = (xs[l], ms[l], vs[l]);
                                    update::<M, FMA>(&mut x1, &mut m1, &mut v1, gs[l], xi[l], pi, tf, params.gsq);
                                    xs[l] = if live!(l) { x1 } else { xs[l] };
                                    ms[l] = if live!(l) { m1 } else { ms[l] };
                                    vs[l] = if live!(l) { v1 } else { vs[l] };
                                    all_in &= xs[l].abs() <= bound;
                                }
                            }
                        }};
                    }
                    if all_alive {
                        updates!(true)
                    } else {
                        updates!(false)
                    }
                    if last && !all_in {
                        for l in 0..LANES {
                            fused_inb[l] &= xs[l].abs() <= bound;
                        }
                    }
                }
            }
        }
        kk += 1;
        // Divergence: freeze and count the paths that left the bound in this step.
        // Paths rarely diverge: the bookkeeping runs only in steps where some lane did.
        // The kernels with a step of their own update in passes, without the fused bound check.
        let inb = if kernel.has_own_step() { in_bounds(&x, bound) } else { fused_inb };
        let mut any_new = false;
        for l in 0..LANES {
            any_new |= alive[l] & !inb[l];
        }
        if any_new {
            for l in 0..LANES {
                let newly = alive[l] && !inb[l];
                dn[l] += if newly { 1.0 } else { 0.0 };
                dsum[l] += if newly { kk as f32 } else { 0.0 };
                dmin[l] = if newly { dmin[l].min(kk) } else { dmin[l] };
                alive[l] &= inb[l];
            }
            all_alive = alive.iter().all(|&a| a);
        }
        sample_now = is_sample(params, kk);
    }

    for l in 0..n_active {
        let t = lid0 + l;
        for i in 0..dim {
            st[i * WG + t] = x[i][l];
            if slots == 3 {
                st[(slot_m * dim + i) * WG + t] = mm[i][l];
            }
            if slots >= 2 {
                st[(slot_v * dim + i) * WG + t] = vv[i][l];
            }
        }
        let mut loss = 0.0f32;
        for i in 0..dim {
            let y = x[i][l] - c[i];
            loss += h[i] * y * y;
        }
        sc.loss[t] = 0.5 * loss;
        sc.ok[t] = alive[l] && is_finite_bits(sc.loss[t]);
        sc.ns[t] = ns[l];
        sc.dn[t] = dn[l];
        sc.dsum[t] = dsum[l];
        sc.dmin[t] = dmin[l];
        for q in 0..=dim {
            sc.s1[q * WG + t] = s1[q][l];
        }
        for i in 0..dim {
            sc.s2[i * WG + t] = s2[i][l];
        }
    }
}

/// Twin of the WGSL `reduce_sum`: stride-halving tree.
fn reduce_sum(a: &mut [f32; WG]) -> f32 {
    let mut stride = WG / 2;
    while stride > 0 {
        for lid in 0..stride {
            a[lid] += a[lid + stride];
        }
        stride /= 2;
    }
    a[0]
}

/// Twin of the WGSL `reduce_moments`: Chan et al. merge of (count, mean, M2).
fn reduce_moments(n: &mut [f32; WG], m: &mut [f32; WG], s: &mut [f32; WG]) -> (f32, f32, f32) {
    let mut stride = WG / 2;
    while stride > 0 {
        for lid in 0..stride {
            let na = n[lid];
            let nb = n[lid + stride];
            let nn = na + nb;
            let delta = m[lid + stride] - m[lid];
            let w = if nn > 0.0 { nb / nn } else { 0.0 };
            m[lid] += delta * w;
            s[lid] = s[lid] + s[lid + stride] + delta * delta * na * w;
            n[lid] = nn;
        }
        stride /= 2;
    }
    (n[0], m[0], s[0])
}

#[inline(always)]
fn reduce_partials(k: &KernelConsts, params: &Params, part: &mut [f32], sc: &Scratch, st: &[f32]) {
    let dim = k.dim;
    let lay = PartialLayout { dim };
    if params.record == 1 {
        for q in 0..=dim {
            let mut n = [0.0f32; WG];
            let mut m = [0.0f32; WG];
            let mut s = [0.0f32; WG];
            for t in 0..WG {
                let v = if q < dim { st[q * WG + t] } else { sc.loss[t] };
                n[t] = if sc.ok[t] { 1.0 } else { 0.0 };
                m[t] = if sc.ok[t] { v } else { 0.0 };
            }
            let (rn, rm, rs) = reduce_moments(&mut n, &mut m, &mut s);
            part[lay.rec_n()] = rn;
            part[lay.rec_mean(q)] = rm;
            part[lay.rec_m2(q)] = rs;
        }
    }
    let mut a = [0.0f32; WG];
    a.copy_from_slice(&sc.ns);
    part[lay.stat_n()] = reduce_sum(&mut a);
    for q in 0..=dim {
        a.copy_from_slice(&sc.s1[q * WG..(q + 1) * WG]);
        part[lay.stat_s1(q)] = reduce_sum(&mut a);
    }
    for i in 0..dim {
        a.copy_from_slice(&sc.s2[i * WG..(i + 1) * WG]);
        part[lay.stat_s2(i)] = reduce_sum(&mut a);
    }
    a.copy_from_slice(&sc.dn);
    part[lay.div_n()] = reduce_sum(&mut a);
    a.copy_from_slice(&sc.dsum);
    part[lay.div_sum()] = reduce_sum(&mut a);
    let mut hi = [0.0f32; WG];
    let mut lo = [0.0f32; WG];
    for t in 0..WG {
        (hi[t], lo[t]) = split_step(sc.dmin[t]);
    }
    let (h, l) = reduce_min_step(&mut hi, &mut lo);
    part[lay.div_min_hi()] = h;
    part[lay.div_min_lo()] = l;
}

/// A step as two exact 16-bit halves (u32::MAX, "none", becomes (65536, 0)).
fn split_step(s: u32) -> (f32, f32) {
    if s == u32::MAX { (65536.0, 0.0) } else { ((s >> 16) as f32, (s & 0xFFFF) as f32) }
}

/// Twin of the WGSL `reduce_min_step`: lexicographic minimum of (hi, lo), stride halving.
fn reduce_min_step(hi: &mut [f32; WG], lo: &mut [f32; WG]) -> (f32, f32) {
    let mut stride = WG / 2;
    while stride > 0 {
        for lid in 0..stride {
            let (bh, bl) = (hi[lid + stride], lo[lid + stride]);
            let take = bh < hi[lid] || (bh == hi[lid] && bl < lo[lid]);
            if take {
                hi[lid] = bh;
                lo[lid] = bl;
            }
        }
        stride /= 2;
    }
    (hi[0], lo[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bin of the cast-free `bin_of` against the plain definition (bin ⌊u⌋ of [0, bins),
    // `bins` for underflow, `bins + 1` for overflow), at the edges and on a dense sweep.
    #[test]
    fn bin_of_matches_the_definition() {
        const _: () = assert!(crate::spec::MAX_BINS < 1 << 23, "bin_of needs bins < 2^23");
        let reference = |u: f32, bins: u32| -> u32 {
            if u < 0.0 {
                bins
            } else if u >= bins as f32 {
                bins + 1
            } else {
                u.floor() as u32
            }
        };
        for bins in [1u32, 2, 7, 128, crate::spec::MAX_BINS] {
            let b = bins as f32;
            let mut us = vec![-1e30, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 1.0, b - 1.0, b - 1e-3, b, b + 1.0, 1e30];
            us.extend((0..20_000).map(|i| -3.0 + (b + 6.0) * i as f32 / 20_000.0));
            us.extend([f32::INFINITY, f32::NEG_INFINITY]);
            for u in us {
                // lo = 0, inv_w = 1: u is the scaled value itself.
                assert_eq!(bin_of(u, 0.0, 1.0, bins), reference(u, bins), "u = {u}, bins = {bins}");
            }
            // NaN lands in a valid slot (the caller never counts it).
            assert!(bin_of(f32::NAN, 0.0, 1.0, bins) <= bins + 1);
        }
    }
}
