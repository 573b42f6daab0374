//! Stationary histograms on the CPU: the bin of a value (the twin of the WGSL `bin_of`) and the
//! counting of a block's lanes (the twin of `hist_add`).

use super::LANES;
use crate::layout::Coef;

#[inline(always)]
pub(super) fn bin_of(v: f32, lo: f32, inv_w: f32, bins: u32) -> u32 {
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

/// Twin of the WGSL `pair_bin`: the bin of (x_i, x_j) in a 2-D histogram of `pb` bins per axis
/// (x slow), `pb²` outside the box, from the coordinates' 1-D histogram ranges in `ci`, `cj`.
#[inline(always)]
pub(super) fn pair_bin(xi: f32, ci: &Coef, xj: f32, cj: &Coef, pb: u32, scale: f32) -> u32 {
    let u = (xi - ci.hist_lo) * (ci.hist_inv_w * scale);
    let v = (xj - cj.hist_lo) * (cj.hist_inv_w * scale);
    let b = pb as f32;
    let inside = (u >= 0.0) & (u < b) & (v >= 0.0) & (v < b);
    if inside { (u as u32) * pb + v as u32 } else { pb * pb }
}

/// The largest histogram buffer (words, every group) that the CPU twin counts in two copies
/// (`hist_add`). Each rayon fold clears and merges its copies once per dispatch: with many bins
/// and a record every step (1-step dispatches) that merge costs more than a second copy saves,
/// while with few bins the chains it breaks are what costs (see `hist_add`; the figures are in
/// benches/NOTES.md, "The bench's order and warm-up, and the CPU twin's histogram counts").
pub(super) const TWO_COPIES_MAX_WORDS: usize = 8192;

/// Add the first `n` lanes' bins (where `ok`) to one quantity's histogram. Lanes near a
/// stationary distribution mostly fall in a few bins, so with one count per bin each increment
/// waits for the previous one's store; even lanes count into `h` and odd lanes into `h2`, a
/// second copy of the histograms that `advance_model` adds to the first once per dispatch
/// (per rayon fold, like the first, not per workgroup), where the histograms are small
/// ([`TWO_COPIES_MAX_WORDS`]); `h2` is empty otherwise and every lane counts into `h`. Same
/// counts either way.
#[inline(always)]
pub(super) fn hist_add(h: &mut [u32], h2: &mut [u32], bin: &[u32; LANES], ok: &[bool; LANES], n: usize) {
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
pub(super) fn copy_of(h2: &mut [u32], r: std::ops::Range<usize>) -> &mut [u32] {
    if h2.is_empty() { h2 } else { &mut h2[r] }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bin of the cast-free `bin_of` against the plain definition (bin ⌊u⌋ of [0, bins),
    // `bins` for underflow, `bins + 1` for overflow), at the edges and on a dense sweep.
    #[test]
    fn bin_of_matches_the_definition() {
        const _: () = assert!(crate::experiment::MAX_BINS < 1 << 23, "bin_of needs bins < 2^23");
        let reference = |u: f32, bins: u32| -> u32 {
            if u < 0.0 {
                bins
            } else if u >= bins as f32 {
                bins + 1
            } else {
                u.floor() as u32
            }
        };
        for bins in [1u32, 2, 7, 128, crate::experiment::MAX_BINS] {
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
