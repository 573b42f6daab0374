//! The stages of a block of [`LANES`] paths through a dispatch, named like the WGSL functions
//! they mirror (shaders/advance.wgsl, shaders/shared/model.wgsl): [`load_path`], [`sample`],
//! [`gradient`], the coordinate updates [`update_coords`] (the general loop's and
//! `fast4_coords`' calls of `update`), [`dcsgd_step`], [`randk_sde_step`], [`still_live`] and
//! [`store_path`]. Every stage is a loop over lanes, so that LLVM vectorises it across paths, and
//! takes the block's rows as arguments: all are inlined into one function per kernel
//! (`super::advance::block`), whose locals the rows are, the shape that was measured
//! (benches/NOTES.md, "The CPU twin in stages").

use super::LANES;
use super::cursor::Cursor;
use super::hist::{bin_of, copy_of, hist_add, pair_bin};
use super::reduce::Scratch;
use crate::kernel::coefs::{agents, dcsgd, randk_sde, signsgd_sde};
use crate::kernel::{COMP_QSGD, Kernel, KernelConsts, WG};
use crate::layout::{Coef, Params};
use crate::math::{erf_small_and_diffusion, is_finite_bits};
use crate::model::compressed::{compress, randk_sde_update};
use crate::model::distributed::accumulate;
use crate::model::signsgd::sde_update_with;
use crate::model::update;
use crate::noise::t_sign_moments;

pub(super) use super::inputs::{Inputs, Rows};

/// The lanes frozen in this dispatch: how many (0 or 1 each), Σ of their steps, the earliest.
pub(super) struct Frozen {
    pub n: [f32; LANES],
    pub sum: [f32; LANES],
    pub min: [u32; LANES],
}

impl Frozen {
    pub fn new() -> Self {
        Frozen { n: [0.0; LANES], sum: [0.0; LANES], min: [u32::MAX; LANES] }
    }
}

/// Whether every coordinate of lane l is finite and within the divergence bound.
#[inline(always)]
pub(super) fn in_bounds(x: &Rows, bound: f32) -> [bool; LANES] {
    let mut ok = [true; LANES];
    for xi in x {
        for l in 0..LANES {
            ok[l] &= xi[l].abs() <= bound;
        }
    }
    ok
}

/// The state slots of the lanes from `lid0` of the workgroup's block `st` into `x`, `mm`, `vv`:
/// x0 in the first segment, else what the previous segment stored.
#[inline(always)]
pub(super) fn load_path(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    st: &[f32],
    lid0: usize,
    x: &mut Rows,
    mm: &mut Rows,
    vv: &mut Rows,
) {
    let (dim, slots) = (k.dim, k.slots());
    // State slots: x at slot 0; Adam's m at 1; the v of RMSprop/Adam at the last slot.
    let (slot_m, slot_v) = (1, slots - 1);
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
}

/// One stationary sample of the first `n_active` lanes (live lanes with a finite loss): the
/// sums `s1` (of x − c, and of the loss in the last row), `s2` (of (x − c)²) and `ns` (the count),
/// and the histograms. Vectorised over lanes; only the histogram increments are scalar.
#[inline(always)]
pub(super) fn sample<const FMA: bool>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    n_active: usize,
    x: &Rows,
    alive: &[bool; LANES],
    s1: &mut Rows,
    s2: &mut Rows,
    s12: &mut Rows,
    ns: &mut [f32; LANES],
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    let (dim, bins) = (k.dim, k.bins);
    let hs = bins as usize + 2;
    let c = inp.c;
    let mut loss = [0.0f32; LANES];
    super::objective::loss::<FMA>(k, inp, x, &mut loss);
    let mut ok = [false; LANES];
    for l in 0..LANES {
        ok[l] = alive[l] && is_finite_bits(loss[l]) && l < n_active;
        ns[l] += if ok[l] { 1.0 } else { 0.0 };
    }
    let mut bin = [0u32; LANES];
    for i in 0..dim {
        let (lo, iw) = (inp.coef[i].hist_lo, inp.coef[i].hist_inv_w);
        for l in 0..LANES {
            let y = x[i][l] - c[i];
            s1[i][l] += if ok[l] { y } else { 0.0 };
            s2[i][l] += if ok[l] { y * y } else { 0.0 };
            bin[l] = bin_of(x[i][l], lo, iw, bins);
        }
        hist_add(&mut hist[i * hs..(i + 1) * hs], copy_of(hist2, i * hs..(i + 1) * hs), &bin, &ok, n_active);
    }
    // The 2-D histograms (twin of the `#for p in 0..HIST_PAIRS` lines of shared/hist.wgsl).
    let (pb, scale, ps) = (k.pair_bins(), k.pair_scale(), k.pair_hist_words());
    for (p, [i, j]) in k.pairs.iter().enumerate() {
        let (ci, cj) = (&inp.coef[i], &inp.coef[j]);
        for l in 0..LANES {
            bin[l] = pair_bin(x[i][l], ci, x[j][l], cj, pb, scale);
        }
        let r = k.pair_hist_base() + p * ps..k.pair_hist_base() + (p + 1) * ps;
        hist_add(&mut hist[r.clone()], copy_of(hist2, r), &bin, &ok, n_active);
    }
    // The pair products (twin of shaders/shared/cross.wgsl `cross_add`).
    if !s12.is_empty() {
        let mut pairs = s12.iter_mut();
        for i in 0..dim {
            for j in i + 1..dim {
                let row = pairs.next().expect("a pair sum per pair i < j");
                for l in 0..LANES {
                    let (yi, yj) = (x[i][l] - c[i], x[j][l] - c[j]);
                    row[l] += if ok[l] { yi * yj } else { 0.0 };
                }
            }
        }
    }
    for l in 0..LANES {
        s1[dim][l] += if ok[l] { loss[l] } else { 0.0 };
        bin[l] = bin_of(loss[l], inp.group.loss_lo, inp.group.loss_inv_w, bins);
    }
    hist_add(&mut hist[dim * hs..(dim + 1) * hs], copy_of(hist2, dim * hs..(dim + 1) * hs), &bin, &ok, n_active);
}

/// DCSGD: agents outside, coordinates inside (both streams read in order); each agent's noisy
/// gradient (`va`) is compressed with its own words, summed over agents (`acc`), and the server
/// averages.
#[inline(always)]
pub(super) fn dcsgd_step<const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    cw: &mut Cursor<FMA, TF>,
    x: &mut Rows,
    g: &Rows,
    va: &mut Rows,
    acc: &mut Rows,
    alive: &[bool; LANES],
) {
    let (dim, p) = (k.dim, inp.p);
    for a in acc.iter_mut() {
        *a = [0.0; LANES];
    }
    for _ in 0..k.draws {
        for i in 0..dim {
            let z = noise.variate(&inp.coef[i]);
            for l in 0..LANES {
                va[i][l] = g[i][l] + p[i][dcsgd::SCALE] * z[l];
            }
        }
        compress_into(k, inp, cw, va, acc);
    }
    for i in 0..dim {
        for l in 0..LANES {
            let nx = x[i][l] - p[i][dcsgd::ETA] * (acc[i][l] * p[i][dcsgd::INV_AGENTS]);
            x[i][l] = if alive[l] { nx } else { x[i][l] };
        }
    }
}

/// One agent's vector `va` compressed with the compressor stream's next d words (in coordinate
/// order), added to `acc` (`compress_into` of shared/model.wgsl; QSGD's norm first).
#[inline(always)]
pub(super) fn compress_into<const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    cw: &mut Cursor<FMA, TF>,
    va: &Rows,
    acc: &mut Rows,
) {
    let (dim, p) = (k.dim, inp.p);
    let mut norm = [0.0f32; LANES];
    if k.comp == COMP_QSGD {
        for vi in va.iter().take(dim) {
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
                    acc[i][l] += compress::<{ $id }>(va[i][l], w[l], c3, c4, &mut kept[l], left, norm[l]);
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

/// The rand-k SDE: z₂ for every coordinate (into `va`) and its mean, then z₁ and the update.
#[inline(always)]
pub(super) fn randk_sde_step<const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    x: &mut Rows,
    g: &Rows,
    va: &mut Rows,
    alive: &[bool; LANES],
) {
    let dim = k.dim;
    let zbar = randk_z2(k, inp, noise, va);
    for i in 0..dim {
        let z1 = noise.variate(&inp.coef[i]);
        let pi = &inp.p[i];
        for l in 0..LANES {
            let (dt, noise, grad_noise) = (pi[randk_sde::DT], pi[randk_sde::NOISE], pi[randk_sde::GRAD_NOISE]);
            let nx = randk_sde_update(x[i][l], g[i][l], z1[l], va[i][l] - zbar[l], dt, noise, grad_noise);
            x[i][l] = if alive[l] { nx } else { x[i][l] };
        }
    }
}

/// The rand-k SDE's z₂ (`randk_z2`): d normals of the noise stream into `z2`; returns each
/// lane's mean of them.
#[inline(always)]
pub(super) fn randk_z2<const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    z2: &mut Rows,
) -> [f32; LANES] {
    let dim = k.dim;
    let mut sum = [0.0f32; LANES];
    for i in 0..dim {
        let z = noise.variate(&inp.coef[i]);
        z2[i] = z;
        for l in 0..LANES {
            sum[l] += z[l];
        }
    }
    let mut zbar = [0.0f32; LANES];
    for l in 0..LANES {
        zbar[l] = sum[l] / dim as f32;
    }
    zbar
}

/// One substep's update of every coordinate (`update`), its variates drawn in order: one per
/// coordinate, or one per agent aggregated first. `tf`: the substep's time factors; `last`: the
/// step's last substep, in which lanes out of bounds are recorded in `fused_inb`; `all_alive`:
/// whether every lane of `alive` is.
///
/// `sign_fast`: the SignSGD SDE with every lane alive (the common case) takes a fused pass per
/// coordinate: gradient, erf argument, the Taylor-branch update and, in the last substep, the
/// divergence bound, all while the lane is in registers; the caller skips the gradient pass, and
/// a coordinate with some argument ≥ 0.5 falls back to the general code. Same operations per
/// lane, so the same values.
#[inline(always)]
pub(super) fn update_coords<const M: u32, const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    params: &Params,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    tf: [f32; 2],
    sign_fast: bool,
    last: bool,
    fused_inb: &mut [bool; LANES],
    x: &mut Rows,
    mm: &mut Rows,
    vv: &mut Rows,
    g: &mut Rows,
    alive: &[bool; LANES],
    all_alive: bool,
) {
    let kernel = const { Kernel::from_id(M) };
    let (coef, tcdf, h, c, p) = (inp.coef, inp.tcdf, inp.h, inp.c, inp.p);
    let bound = inp.group.div_bound;
    for i in 0..k.dim {
        let pi = &p[i];
        // One variate per agent; the multi-draw kernels aggregate them first. A single
        // Gaussian draw is read where the cursor holds it: copying its lanes out cost a load
        // and a store per lane and step (benches/NOTES.md, "CPU twin on AVX2: a Zen 3 VM").
        // The aggregate's buffer is initialised only where it is used, for the same reason.
        let xi_own: [f32; LANES];
        let xi: &[f32; LANES] = if !kernel.aggregates_agents() && !k.tnoise {
            debug_assert_eq!(k.draws, 1, "the kernels that do not aggregate agents take one draw");
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
            // Some argument is large: this coordinate takes the general code, which needs its
            // gradient.
            for l in 0..LANES {
                g[i][l] = hi * (xs[l] - ci);
            }
        }
        let (xs, ms, vs) = (&mut x[i], &mut mm[i], &mut vv[i]);
        let gs = &g[i];
        // The SignSGD SDE near stationarity: when every lane's erf argument is below 0.5, only
        // the Taylor branch of `erf_and_diffusion` is live, so the erfc/exp branch is skipped
        // for the whole block (the same values: the selects would pick the Taylor results).
        // The GPU kernel branches the same way per path.
        let all_small = kernel == Kernel::SignsgdSde && !k.tcdf && {
            let mut small = true;
            for l in 0..LANES {
                small &= (gs[l] * pi[signsgd_sde::INV_SCALE]).abs() < 0.5;
            }
            small
        };
        // `live!(l)`: whether lane l is updated. When every lane is alive (the common case) the
        // loops store unconditionally, without the select. Each loop also checks the
        // divergence bound while the lane is in registers (`all_in`); only when some lane is
        // out does the last substep record which.
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
                        let nx = sde_update_with(xs[l], e, s, xi[l], pi[signsgd_sde::DT], pi[signsgd_sde::NOISE]);
                        xs[l] = if live!(l) { nx } else { xs[l] };
                        all_in &= xs[l].abs() <= bound;
                    }
                } else if kernel == Kernel::SignsgdSde && k.tcdf {
                    let q = &coef[i];
                    for l in 0..LANES {
                        let u = gs[l] * pi[signsgd_sde::INV_SCALE];
                        let (e, oms) = t_sign_moments::<FMA>(u, q.nu, q.sqrt_nu, q.tab, tcdf);
                        let s = oms.sqrt();
                        let nx = sde_update_with(xs[l], e, s, xi[l], pi[signsgd_sde::DT], pi[signsgd_sde::NOISE]);
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

/// After optimizer step `step`: a live lane out of bounds (`inb` false) is frozen and counted
/// with the step. Paths rarely diverge: the bookkeeping runs only in steps where some lane did.
#[inline(always)]
pub(super) fn still_live(
    inb: &[bool; LANES],
    step: u32,
    alive: &mut [bool; LANES],
    all_alive: &mut bool,
    frozen: &mut Frozen,
) {
    let mut any_new = false;
    for l in 0..LANES {
        any_new |= alive[l] & !inb[l];
    }
    if any_new {
        for l in 0..LANES {
            let newly = alive[l] && !inb[l];
            frozen.n[l] += if newly { 1.0 } else { 0.0 };
            frozen.sum[l] += if newly { step as f32 } else { 0.0 };
            frozen.min[l] = if newly { frozen.min[l].min(step) } else { frozen.min[l] };
            alive[l] &= inb[l];
        }
        *all_alive = alive.iter().all(|&a| a);
    }
}

/// The first `n_active` lanes' state slots back into the workgroup's block `st`, and what the
/// workgroup's reductions read into `sc`: their loss, whether they count, their sums and counts.
#[inline(always)]
pub(super) fn store_path<const FMA: bool>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    st: &mut [f32],
    sc: &mut Scratch,
    lid0: usize,
    n_active: usize,
    x: &Rows,
    mm: &Rows,
    vv: &Rows,
    alive: &[bool; LANES],
    s1: &Rows,
    s2: &Rows,
    s12: &Rows,
    ns: &[f32; LANES],
    frozen: &Frozen,
) {
    let (dim, slots) = (k.dim, k.slots());
    let mut losses = [0.0f32; LANES];
    super::objective::loss::<FMA>(k, inp, x, &mut losses);
    let (slot_m, slot_v) = (1, slots - 1);
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
        sc.loss[t] = losses[l];
        sc.ok[t] = alive[l] && is_finite_bits(sc.loss[t]);
        sc.ns[t] = ns[l];
        sc.dn[t] = frozen.n[l];
        sc.dsum[t] = frozen.sum[l];
        sc.dmin[t] = frozen.min[l];
        for q in 0..=dim {
            sc.s1[q * WG + t] = s1[q][l];
        }
        for i in 0..dim {
            sc.s2[i * WG + t] = s2[i][l];
        }
        for (p, row) in s12.iter().enumerate() {
            sc.s12[p * WG + t] = row[l];
        }
    }
}
