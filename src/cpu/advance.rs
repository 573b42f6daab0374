//! CPU twin of `shaders/advance.wgsl` (entry point `advance`): same bindings, same state
//! layout, same arithmetic in the same order per path, same workgroup reduction trees.
//!
//! Control flow differs where each target wants it: the shader runs one flat loop over the
//! segment's substeps (with a four-substep unrolled path for d = 1, and a counter instead of a
//! modulo for the sampling rule), because SIMD drivers such as llvmpipe pay heavily for nested
//! loops and integer division; here nested loops vectorise best. The paths see the same
//! operations either way, which the bit-identity tests on lavapipe confirm.
//!
//! Each workgroup of [`WG`] paths is one rayon task; inside it, blocks of [`LANES`] paths are
//! advanced together with every operation written as a loop over lanes, so LLVM vectorises
//! the random-number generation and the model update across paths.

use rayon::prelude::*;

use crate::layout::{Coef, Params, PartialLayout, partial_words};
use crate::math::is_finite_bits;
use crate::model::adaptive::time_factors;
use crate::model::distributed::accumulate;
use crate::model::update;
use crate::rng::{STREAM_NOISE, box_muller, threefry4x32_lanes};
use crate::spec::{BATCH, ModelKind};

/// Invocations per workgroup (= paths per statistics batch).
pub const WG: usize = BATCH as usize;
/// Paths advanced together on one core.
pub const LANES: usize = 32;

/// The constants the WGSL kernel receives by injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelConsts {
    pub model: ModelKind,
    pub dim: usize,
    pub bins: u32,
    /// Normals per coordinate per substep (the agents of DSGD/DSignSGD, else 1).
    pub draws: u32,
}

impl KernelConsts {
    /// The kernel constants of an experiment with `bins` histogram bins.
    pub fn new(exp: &crate::spec::Experiment, bins: u32) -> Self {
        let draws = if matches!(exp.model.name.id(), 8 | 9) { exp.model.agents } else { 1 };
        KernelConsts { model: exp.model.name, dim: exp.dim, bins, draws }
    }

    /// State words per coordinate (x, then the EMAs).
    pub fn slots(&self) -> usize {
        self.model.slots()
    }

    /// Length of the histogram buffer: (dim + 1) quantities × (bins, underflow, overflow).
    pub fn hist_words(&self) -> usize {
        (self.dim + 1) * (self.bins as usize + 2)
    }
}

/// Twin of the `advance` entry point. `state` holds `ceil(n_paths / WG)` workgroups of
/// `dim × WG` words (coordinate-major inside a workgroup), `partials` as many blocks of
/// [`partial_words`], and `hist` receives atomic-style increments.
pub fn advance(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    state: &mut [f32],
    partials: &mut [f32],
    hist: &mut [u32],
) {
    match k.model.id() {
        0 => advance_model::<0>(k, params, coef, state, partials, hist),
        1 => advance_model::<1>(k, params, coef, state, partials, hist),
        2 => advance_model::<2>(k, params, coef, state, partials, hist),
        3 => advance_model::<3>(k, params, coef, state, partials, hist),
        4 => advance_model::<4>(k, params, coef, state, partials, hist),
        5 => advance_model::<5>(k, params, coef, state, partials, hist),
        6 => advance_model::<6>(k, params, coef, state, partials, hist),
        7 => advance_model::<7>(k, params, coef, state, partials, hist),
        8 => advance_model::<8>(k, params, coef, state, partials, hist),
        9 => advance_model::<9>(k, params, coef, state, partials, hist),
        id => unreachable!("kernel id {id}"),
    }
}

fn advance_model<const M: u32>(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    state: &mut [f32],
    partials: &mut [f32],
    hist: &mut [u32],
) {
    let dim = k.dim;
    let n_wg = (params.n_paths as usize).div_ceil(WG);
    let pw = partial_words(dim);
    let hw = k.hist_words();
    let wg_fn = select_workgroup::<M>();
    let sw = k.slots() * dim * WG;
    let local = state[..n_wg * sw]
        .par_chunks_mut(sw)
        .zip(partials[..n_wg * pw].par_chunks_mut(pw))
        .enumerate()
        .fold(
            || vec![0u32; hw],
            |mut h, (wid, (st, part))| {
                wg_fn(k, params, coef, wid, st, part, &mut h);
                h
            },
        )
        .reduce(
            || vec![0u32; hw],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x = x.wrapping_add(*y));
                a
            },
        );
    hist.iter_mut().zip(&local).for_each(|(x, y)| *x = x.wrapping_add(*y));
}

#[inline(always)]
fn is_sample(params: &Params, k: u32) -> bool {
    k >= params.stat_start && (k - params.stat_start).is_multiple_of(params.stat_every)
}

#[inline(always)]
fn bin_of(v: f32, lo: f32, inv_w: f32, bins: u32) -> u32 {
    let u = (v - lo) * inv_w;
    let idx = (u.clamp(0.0, bins as f32) as i32) as u32;
    let idx = if u >= bins as f32 { bins + 1 } else { idx };
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
}

type WorkgroupFn = fn(&KernelConsts, &Params, &[Coef], usize, &mut [f32], &mut [f32], &mut [u32]);

/// The workgroup body compiled for the widest vector unit this CPU has (AVX-512, AVX2+FMA or
/// the baseline). No fast-math: every variant computes bit-identical results.
fn select_workgroup<const M: u32>() -> WorkgroupFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: the features were detected at run time.
            return |k, p, c, w, st, part, h| unsafe { workgroup_avx512::<M>(k, p, c, w, st, part, h) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the features were detected at run time.
            return |k, p, c, w, st, part, h| unsafe { workgroup_avx2::<M>(k, p, c, w, st, part, h) };
        }
    }
    workgroup::<M>
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2")]
fn workgroup_avx512<const M: u32>(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
) {
    workgroup::<M>(k, params, coef, wid, st, part, hist)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2")]
fn workgroup_avx2<const M: u32>(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
) {
    workgroup::<M>(k, params, coef, wid, st, part, hist)
}

#[inline(always)]
fn workgroup<const M: u32>(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
) {
    let dim = k.dim;
    let mut sc = Scratch {
        ok: vec![false; WG],
        loss: vec![0.0; WG],
        ns: vec![0.0; WG],
        s1: vec![0.0; (dim + 1) * WG],
        s2: vec![0.0; dim * WG],
    };
    for b in 0..WG / LANES {
        block::<M>(k, params, coef, wid, b * LANES, st, &mut sc, hist);
    }
    reduce_partials(k, params, part, &sc, st);
}

#[inline(always)]
fn normals_lanes(blk: u64, path0: u64, key: [u32; 4]) -> [[f32; LANES]; 4] {
    let mut ctr = [[blk as u32; LANES], [(blk >> 32) as u32; LANES], [0; LANES], [0; LANES]];
    for l in 0..LANES {
        let path = path0.wrapping_add(l as u64);
        ctr[2][l] = path as u32;
        ctr[3][l] = (path >> 32) as u32;
    }
    let w = threefry4x32_lanes(ctr, key);
    let mut out = [[0.0f32; LANES]; 4];
    for l in 0..LANES {
        let a = box_muller(w[0][l], w[1][l]);
        let b = box_muller(w[2][l], w[3][l]);
        out[0][l] = a[0];
        out[1][l] = a[1];
        out[2][l] = b[0];
        out[3][l] = b[1];
    }
    out
}

#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn block<const M: u32>(
    k: &KernelConsts,
    params: &Params,
    coef: &[Coef],
    wid: usize,
    lid0: usize,
    st: &mut [f32],
    sc: &mut Scratch,
    hist: &mut [u32],
) {
    let dim = k.dim;
    let bins = k.bins;
    let hs = bins as usize + 2;
    let first_local = wid * WG + lid0;
    let n_active = (params.n_paths as usize).saturating_sub(first_local).min(LANES);
    if n_active == 0 {
        return;
    }
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
    let p: Vec<[f32; 9]> = coef.iter().map(|q| [q.p0, q.p1, q.p2, q.p3, q.p4, q.p5, q.p6, q.p7, q.p8]).collect();
    let mut g = vec![[0.0f32; LANES]; dim];
    let mut s1 = vec![[0.0f32; LANES]; dim + 1];
    let mut s2 = vec![[0.0f32; LANES]; dim];
    let mut ns = [0.0f32; LANES];

    let path0 = (u64::from(params.path_hi) << 32 | u64::from(params.path_lo)) + first_local as u64;
    let key = [params.seed_lo, params.seed_hi, STREAM_NOISE, 0];
    let m0 = u64::from(params.m0_hi) << 32 | u64::from(params.m0_lo);
    let mut blk = m0 >> 2;
    let mut lane = (m0 & 3) as usize;
    let mut buf = normals_lanes(blk, path0, key);

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
                ok[l] = is_finite_bits(loss[l]) && l < n_active;
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
                for l in 0..n_active {
                    if ok[l] {
                        hist[i * hs + bin[l] as usize] += 1;
                    }
                }
            }
            for l in 0..LANES {
                s1[dim][l] += if ok[l] { loss[l] } else { 0.0 };
                bin[l] = bin_of(loss[l], params.loss_lo, params.loss_inv_w, bins);
            }
            for l in 0..n_active {
                if ok[l] {
                    hist[dim * hs + bin[l] as usize] += 1;
                }
            }
        }
        if kk >= params.k_end {
            break;
        }
        for j in 0..params.refine {
            let nn = kk as f32 * params.refine as f32 + j as f32 + 1.0;
            let tf = time_factors::<M>(nn, params.tf_a, params.tf_b);
            for i in 0..dim {
                let (hi, ci) = (h[i], c[i]);
                for l in 0..LANES {
                    g[i][l] = hi * (x[i][l] - ci);
                }
            }
            for i in 0..dim {
                let pi = &p[i];
                // One normal per agent; the multi-draw kernels aggregate them first.
                let mut xi = [0.0f32; LANES];
                for _ in 0..k.draws {
                    if lane == 4 {
                        blk += 1;
                        buf = normals_lanes(blk, path0, key);
                        lane = 0;
                    }
                    if M < 8 {
                        xi = buf[lane];
                    } else {
                        let gs = &g[i];
                        for l in 0..LANES {
                            xi[l] = accumulate::<M>(xi[l], gs[l], buf[lane][l], pi[1]);
                        }
                    }
                    lane += 1;
                }
                let (xs, ms, vs) = (&mut x[i], &mut mm[i], &mut vv[i]);
                let gs = &g[i];
                for l in 0..LANES {
                    update::<M>(&mut xs[l], &mut ms[l], &mut vs[l], gs[l], xi[l], pi, tf, params.gsq);
                }
            }
        }
        kk += 1;
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
        sc.ok[t] = is_finite_bits(sc.loss[t]);
        sc.ns[t] = ns[l];
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
}
