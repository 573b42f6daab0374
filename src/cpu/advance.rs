//! CPU twin of `shaders/advance.wgsl` (entry point `advance`): same bindings, same state
//! layout, same arithmetic in the same order per path, same workgroup reduction trees.
//!
//! Control flow differs where each target wants it. The shader runs the segment in stretches
//! that end at a sampled step and samples once per stretch, from a snapshot; inside a stretch,
//! d = 1 takes four substeps per random block and d (or N) a multiple of 4 four coordinates (or
//! agents) per block, all written out, with a counter instead of a modulo for the sampling rule
//! (shaders/advance.wgsl says why). Here the loops over lanes vectorise best. The paths see the
//! same operations either way, which the backends tests on lavapipe confirm.
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

use std::cell::RefCell;

use rayon::prelude::*;

use super::LANES;
use super::cursor::Cursor;
use super::data::{LabelKey, data_sde_coords, data_step};
use super::hist::TWO_COPIES_MAX_WORDS;
use super::objective::gradient;
use super::reduce::{Scratch, reduce_partials};
use super::simd::VectorUnit;
use super::step::{
    Frozen, Inputs, dcsgd_step, in_bounds, load_path, randk_sde_step, sample, still_live, store_path, update_coords,
};
use crate::experiment::{SCHED_CONSTANT, SCHED_KIND_MASK, SCHED_NORM_TRUE, SCHED_NORMALIZED, SCHED_PER_COORDINATE};
use crate::kernel::coefs::SLOTS;
use crate::kernel::{Kernel, KernelConsts, WG};
use crate::layout::{Coef, Group, Params, PartialLayout, Upload};
use crate::math::madd;
use crate::model::adaptive::TimeBlocks;
use crate::model::schedule;
use crate::objective::formula::Formula;
use crate::objective::{Stage, registry};
use crate::rng::{STREAM_COMPRESS, STREAM_NOISE};

/// Twin of the `advance` entry point. `state` holds `ceil(n_paths / WG)` workgroups of
/// `dim × WG` words (coordinate-major inside a workgroup), `partials` as many blocks of
/// [`crate::layout::partial_words`], and `hist` receives atomic-style increments. `fused`: the special
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
pub(super) struct Ctx<'a> {
    coef: &'a [Coef],
    tcdf: &'a [f32],
    objective: &'a [f32],
    formula: Option<&'a Formula>,
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
    let pw = PartialLayout::of(k).words();
    let hw = k.hist_words();
    let n_groups = up.groups.len();
    let ppg = u64::from(params.group_paths);
    let base = u64::from(params.path_hi) << 32 | u64::from(params.path_lo);
    let wg_fn = select_workgroup::<M, FMA>();
    let formula = match k.objective {
        Stage::Formula(key) => Some(registry::by_key(key).expect("a formula kernel's formula is registered")),
        _ => None,
    };
    // Words per group of the objective buffer (a registry lookup for a formula: once per dispatch).
    let ow = k.objective_words();
    let copies = if hw * n_groups <= TWO_COPIES_MAX_WORDS { 2 } else { 1 };
    let sw = k.slots() * dim * WG;
    let local = state[..n_wg * sw]
        .par_chunks_mut(sw)
        .zip(partials[..n_wg * pw].par_chunks_mut(pw))
        .enumerate()
        .fold(
            // Two copies of the histograms where they are small: even and odd lanes count into one
            // each (`hist_add`); else one, and the second slice is empty.
            || vec![0u32; copies * hw * n_groups],
            |mut h, (wid, (st, part))| {
                // Every workgroup lies inside one group (group sizes are multiples of WG).
                let g = (base + (wid * WG) as u64).checked_div(ppg).unwrap_or(0) as usize;
                let ob = up.groups[g].obj_base as usize;
                let ctx = Ctx {
                    coef: &up.coef[g * dim..(g + 1) * dim],
                    tcdf: &up.tcdf,
                    objective: &up.objective[ob..ob + ow],
                    formula: formula.as_deref(),
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

/// Lanes whose Threefry rounds the AVX2 kernel runs together: the four words of 16 lanes fill 8
/// of AVX2's 16 vector registers, while those of all [`LANES`] (32 registers) spilled every
/// round. AVX-512 (32 registers of 16 lanes) and the baseline take all lanes at once.
#[cfg(target_arch = "x86_64")]
const AVX2_THREEFRY_LANES: usize = 16;

/// A workgroup's body (`workgroup`) compiled for one vector unit.
pub(super) type WorkgroupFn =
    fn(&KernelConsts, &Params, &Ctx<'_>, usize, &mut [f32], &mut [f32], &mut [u32], &mut [u32]);

/// The workgroup body compiled for the widest vector unit this CPU has ([`VectorUnit`]). No
/// fast-math: every variant computes bit-identical results.
pub(super) fn select_workgroup<const M: u32, const FMA: bool>() -> WorkgroupFn {
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

/// Whether optimizer step `k` is sampled (twin of the WGSL `is_sample`).
#[inline(always)]
fn is_sample(params: &Params, k: u32) -> bool {
    k >= params.stat_start && (k - params.stat_start).is_multiple_of(params.stat_every)
}

/// One workgroup: its blocks of [`LANES`] paths, then its reductions (twin of one workgroup of
/// the `advance` entry point).
#[inline(always)]
pub(super) fn workgroup<const M: u32, const FMA: bool, const TF: usize>(
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
        s12: vec![0.0; k.cross_pairs() * WG],
        dn: vec![0.0; WG],
        dsum: vec![0.0; WG],
        dmin: vec![u32::MAX; WG],
    };
    for b in 0..WG / LANES {
        block::<M, FMA, TF>(k, params, ctx, wid, b * LANES, st, &mut sc, hist, hist2);
    }
    reduce_partials(k, params, part, &sc, st);
}

/// The paths at lanes `lid0 .. lid0 + LANES` of workgroup `wid` through the dispatch's steps:
/// the shader's step loop for [`LANES`] invocations, stage by stage (`super::step`).
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
    let first_local = wid * WG + lid0;
    let n_active = (params.n_paths as usize).saturating_sub(first_local).min(LANES);
    if n_active == 0 {
        return;
    }
    let dim = k.dim;
    let (h, c): (Vec<f32>, Vec<f32>) = ctx.coef.iter().map(|q| (q.h, q.c)).unzip();
    let p: Vec<[f32; SLOTS]> =
        ctx.coef.iter().map(|q| [q.p0, q.p1, q.p2, q.p3, q.p4, q.p5, q.p6, q.p7, q.p8]).collect();
    let regs = RefCell::new(Vec::new());
    let inp = Inputs {
        coef: ctx.coef,
        tcdf: ctx.tcdf,
        group: &ctx.group,
        h: &h,
        c: &c,
        p: &p,
        objective: ctx.objective,
        formula: ctx.formula,
        regs: &regs,
    };
    // The block's rows (one per coordinate): state slots, gradient, the steps of their own of
    // DCSGD and the rand-k SDE (an agent's noisy gradient or z₂, DCSGD's sum over agents), and
    // the stationary sums.
    let mut x = vec![[0.0f32; LANES]; dim];
    let mut mm = vec![[0.0f32; LANES]; dim];
    let mut vv = vec![[0.0f32; LANES]; dim];
    load_path(k, params, ctx.coef, st, lid0, &mut x, &mut mm, &mut vv);
    let mut g = vec![[0.0f32; LANES]; dim];
    let mut va = vec![[0.0f32; LANES]; if kernel.has_own_step() { dim } else { 0 }];
    let mut acc = vec![[0.0f32; LANES]; if kernel == Kernel::Dcsgd { dim } else { 0 }];
    // On sampled data, scratch: a discrete model's agents' sum, one agent's gradient, a data
    // point and its normals; an SDE's normals z and M z (rotated K), and rand-k's z2.
    let data = k.objective.samples_data();
    let discrete_data = data && !k.model.is_sde();
    let mut data_rows = vec![vec![[0.0f32; LANES]; if data { dim } else { 0 }]; 4];
    let mut s1 = vec![[0.0f32; LANES]; dim + 1];
    let mut s2 = vec![[0.0f32; LANES]; dim];
    let mut s12 = vec![[0.0f32; LANES]; k.cross_pairs()];
    let mut ns = [0.0f32; LANES];
    let bound = ctx.group.div_bound;
    let mut alive = in_bounds(&x, bound);
    let mut all_alive = alive.iter().all(|&a| a);
    let mut frozen = Frozen::new();

    // The random numbers are keyed by the path's index inside its group.
    let path0 = (u64::from(params.path_hi) << 32 | u64::from(params.path_lo)) + first_local as u64 - ctx.shift;
    let m0 = u64::from(params.m0_hi) << 32 | u64::from(params.m0_lo);
    let mut noise = Cursor::<FMA, TF>::new(m0, k.per_block(), !k.tnoise, STREAM_NOISE, params, path0);
    let mut cw = if kernel == Kernel::Dcsgd {
        Some(Cursor::<FMA, TF>::new(m0, 4, false, STREAM_COMPRESS, params, path0))
    } else {
        None
    };

    // A scheduled kernel scales each substep's increment of x (`crate::model::schedule`).
    let scheduled = k.schedule != SCHED_CONSTANT;
    let sched_kind = k.schedule & SCHED_KIND_MASK;
    let norm_true = sched_kind >= SCHED_NORMALIZED && k.schedule & SCHED_NORM_TRUE != 0;
    let per_coordinate = k.schedule & SCHED_PER_COORDINATE != 0;
    let mut x_before = vec![[0.0f32; LANES]; if scheduled { dim } else { 0 }];
    let mut g_norm = vec![[0.0f32; LANES]; if norm_true { dim } else { 0 }];
    let time_blocks = TimeBlocks::new::<FMA>(ctx.group.tf_a, ctx.group.tf_b);
    let mut tf_ahead = time_blocks.factors::<M, FMA>(params.k_begin, 0, params.refine);
    let mut kk = params.k_begin;
    let mut sample_now = params.init == 1 && is_sample(params, 0);
    loop {
        if sample_now {
            sample::<FMA>(k, &inp, n_active, &x, &alive, &mut s1, &mut s2, &mut s12, &mut ns, hist, hist2);
        }
        if kk >= params.k_end {
            break;
        }
        // The fused pass computes the diagonal quadratic's gradient itself.
        let sign_fast =
            kernel == Kernel::SignsgdSde && !k.tcdf && all_alive && k.objective == Stage::Diagonal && !scheduled;
        let mut fused_inb = [true; LANES];
        for j in 0..params.refine {
            // Adam's time factors, computed a substep ahead: their chain of dependent operations
            // (an exponential, a square root, a division) then overlaps a substep's lanes
            // instead of delaying them.
            let tf = tf_ahead;
            let (k_next, j_next) = if j + 1 == params.refine { (kk + 1, 0) } else { (kk, j + 1) };
            tf_ahead = time_blocks.factors::<M, FMA>(k_next, j_next, params.refine);
            let last = j + 1 == params.refine;
            if scheduled {
                x_before.copy_from_slice(&x);
            }
            'substep: {
                if discrete_data {
                    let [r0, r1, r2, r3] = &mut data_rows[..] else { unreachable!("four scratch rows") };
                    let gsq = params.gsq;
                    let key = LabelKey { step: kk, params, path0 };
                    data_step::<M, FMA, TF>(
                        k,
                        &inp,
                        &mut noise,
                        key,
                        tf,
                        gsq,
                        &mut x,
                        &mut mm,
                        &mut vv,
                        [r0, r1, r2, r3],
                        &alive,
                    );
                    break 'substep;
                }
                if !sign_fast {
                    gradient::<FMA>(k, &inp, &x, &mut g);
                }
                if norm_true {
                    g_norm.copy_from_slice(&g);
                }
                if data {
                    let [z, mz, z2, _] = &mut data_rows[..] else { unreachable!("four scratch rows") };
                    data_sde_coords::<M, FMA, TF>(
                        k,
                        &inp,
                        &mut noise,
                        tf,
                        params.gsq,
                        &mut x,
                        &mut mm,
                        &mut vv,
                        &g,
                        [z, mz, z2],
                        &alive,
                    );
                } else if kernel == Kernel::Dcsgd {
                    let cw = cw.as_mut().expect("DCSGD has a compressor stream");
                    dcsgd_step(k, &inp, &mut noise, cw, &mut x, &g, &mut va, &mut acc, &alive);
                } else if kernel == Kernel::RandkSde {
                    randk_sde_step(k, &inp, &mut noise, &mut x, &g, &mut va, &alive);
                } else {
                    update_coords::<M, FMA, TF>(
                        k,
                        params,
                        &inp,
                        &mut noise,
                        tf,
                        sign_fast,
                        last,
                        &mut fused_inb,
                        &mut x,
                        &mut mm,
                        &mut vv,
                        &mut g,
                        &alive,
                        all_alive,
                    );
                }
            }
            if sched_kind >= SCHED_NORMALIZED {
                let norm = NormRows { kind: sched_kind, w: &ctx.group.sched, norm_true, per_coordinate };
                norm.scale::<FMA>(&mut x, &x_before, &g_norm, &alive);
            } else if scheduled {
                let s = schedule::factor::<FMA>(k.schedule, &ctx.group, kk, j, params.refine);
                for (xi, bi) in x.iter_mut().zip(&x_before) {
                    for l in 0..LANES {
                        if alive[l] {
                            xi[l] = schedule::scaled::<FMA>(bi[l], xi[l], s);
                        }
                    }
                }
            }
        }
        kk += 1;
        // The kernels with a step of their own, the data stage and a schedule (which scales x
        // after the update) update in passes, without the fused bound check.
        let inb = if kernel.has_own_step() || data || scheduled { in_bounds(&x, bound) } else { fused_inb };
        still_live(&inb, kk, &mut alive, &mut all_alive, &mut frozen);
        sample_now = is_sample(params, kk);
    }
    store_path::<FMA>(k, &inp, st, sc, lid0, n_active, &x, &mm, &vv, &alive, &s1, &s2, &s12, &ns, &frozen);
}

/// A gradient-norm schedule as a block applies it: its kind (`SCHED_NORMALIZED` or
/// `SCHED_CLIPPED`), the group's words (β or c, then 1/η), and whose norm, per coordinate or not.
struct NormRows<'a> {
    kind: u32,
    w: &'a [f32; 5],
    norm_true: bool,
    per_coordinate: bool,
}

impl NormRows<'_> {
    /// A substep's increment of x scaled (twin of `lr_scaled_by_norm` in
    /// shaders/shared/lr_schedule.wgsl): s from the norm of the gradient of f (`g_norm`, with
    /// `norm_true`) or of the increment times 1/η, per coordinate or of the whole vector in
    /// coordinate order; live lanes only.
    #[inline(always)]
    fn scale<const FMA: bool>(
        &self,
        x: &mut [[f32; LANES]],
        before: &[[f32; LANES]],
        g_norm: &[[f32; LANES]],
        alive: &[bool; LANES],
    ) {
        let norm_of = |i: usize, l: usize, d: f32| if self.norm_true { g_norm[i][l] } else { d * self.w[1] };
        for l in (0..LANES).filter(|&l| alive[l]) {
            if self.per_coordinate {
                for i in 0..x.len() {
                    let d = x[i][l] - before[i][l];
                    let s = schedule::norm_factor(self.kind, self.w, norm_of(i, l, d).abs());
                    x[i][l] = madd::<FMA>(s, d, before[i][l]);
                }
            } else {
                let mut sum = 0.0f32;
                for i in 0..x.len() {
                    let v = norm_of(i, l, x[i][l] - before[i][l]);
                    sum = madd::<FMA>(v, v, sum);
                }
                let s = schedule::norm_factor(self.kind, self.w, sum.sqrt());
                for i in 0..x.len() {
                    x[i][l] = schedule::scaled::<FMA>(before[i][l], x[i][l], s);
                }
            }
        }
    }
}
