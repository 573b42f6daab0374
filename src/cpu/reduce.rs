//! The workgroup's reductions at the end of a dispatch: the twins of the WGSL `reduce_sum`,
//! `reduce_moments` and `reduce_min_step` (same trees, same order), and the partials they fill
//! (`crate::layout::PartialLayout`).

use crate::kernel::{KernelConsts, WG};
use crate::layout::{Params, PartialLayout};

/// Per-workgroup scratch: what each invocation holds in registers at the end of the segment.
pub(super) struct Scratch {
    pub(super) ok: Vec<bool>,
    pub(super) loss: Vec<f32>,
    pub(super) ns: Vec<f32>,
    /// (dim + 1) × WG
    pub(super) s1: Vec<f32>,
    /// dim × WG
    pub(super) s2: Vec<f32>,
    /// The pair sums (`KernelConsts::cross_pairs` × WG).
    pub(super) s12: Vec<f32>,
    /// Paths frozen in this segment, Σ of their steps, earliest step (u32::MAX: none).
    pub(super) dn: Vec<f32>,
    pub(super) dsum: Vec<f32>,
    pub(super) dmin: Vec<u32>,
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
pub(super) fn reduce_partials(k: &KernelConsts, params: &Params, part: &mut [f32], sc: &Scratch, st: &[f32]) {
    let dim = k.dim;
    let lay = PartialLayout::of(k);
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
    reduce_cross(&lay, part, &sc.s12);
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

/// Twin of the WGSL `cross_reduce` (shaders/shared/cross.wgsl): each pair's sums added in lane
/// order.
fn reduce_cross(lay: &PartialLayout, part: &mut [f32], s12: &[f32]) {
    for (p, lanes) in s12.chunks_exact(WG).enumerate() {
        let mut acc = 0.0f32;
        for &v in lanes {
            acc += v;
        }
        part[lay.stat_s12(p)] = acc;
    }
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
