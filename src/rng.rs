//! The counter-based generator, bit-identical twin of `shaders/shared/rng.wgsl`.
//!
//! Threefry-4x32 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011;
//! the Random123 reference), with [`ROUNDS`] rounds. It is a keyed bijection of a 128-bit
//! counter, so every random word is a pure function of
//! (seed, stream, global path index, block index):
//!
//! * key     = (seed_lo, seed_hi, stream, 0)
//! * counter = (block_lo, block_hi, path_lo, path_hi)
//!
//! Each block gives four words and, through Box–Muller, four standard normals. A path's
//! normals form one sequence indexed by `m = substep * d + coordinate`; normal `m` is lane
//! `m % 4` of block `m / 4`. Nothing depends on chunking, workgroup size or backend.
//!
//! Normals use only integer ops, +, −, ×, ÷ and `sqrt` (all correctly rounded in IEEE f32), with
//! hand-written log and sin/cos polynomials that the WGSL twin evaluates in the same order, so
//! the two backends differ at most by the GPU's fused multiply-adds.

use crate::math::{ln_unit, sincos_quarter};

/// Threefry rounds: 13. Random123's default is 20, a safety margin over the 13 that its
/// authors report as passing BigCrush; both have known-answer vectors in the tests, and the
/// generator passes this crate's statistical tests (`tests/it/rng_stats.rs`) either way. Thirteen
/// rounds do about a third less work per random block (the effect on speed: `benches/NOTES.md`).
pub const ROUNDS: u32 = 13;

/// The version of the random streams, recorded in every run's provenance (`summary.json`): the
/// generator, its rounds, and the date its streams were fixed. It must change whenever the same
/// seed would give other numbers: another generator or round count, another mapping of
/// (seed, stream, path, step) to counters and keys, another Box–Muller or sampler (Student-t,
/// compressors), or another log/sin/cos polynomial. `tests/it/value_stability.rs` pins values
/// of the current streams; a change that moves them moves this too.
pub const STREAM_VERSION: &str = "threefry-4x32-13/2026-11-26";

/// Stream of the gradient noise. Later models use other streams.
pub const STREAM_NOISE: u32 = 0;
/// Stream of the compressors' randomness (DCSGD, `crate::model::compressed`): word m of this
/// stream belongs to the noise variate m of the same path.
pub const STREAM_COMPRESS: u32 = 1;
/// Stream of the host's draws of a random eigenbasis (`basis = "random"`,
/// `crate::objective::dense::haar_orthogonal`), keyed by `basis_seed`.
pub const STREAM_BASIS: u32 = 2;
/// Stream of the host's draw of a regression target x* ~ N(0, I/d) (`target = { seed = s }`,
/// `crate::regression::data::draw_target`), keyed by that seed.
pub const STREAM_TARGET: u32 = 3;
/// Stream of a regression's Student-t label noise (`linear-regression` with `[noise]
/// student-t`, shaders/shared/data.wgsl): one Threefry block per label, counter (optimizer
/// step, agent · B + point), so that a label depends on its step and not on where a segment
/// starts; its words x, y, z make the variate as the noise stream's Student-t sampler does.
pub const STREAM_LABEL: u32 = 4;

const ROT: [[u32; 2]; 8] = [[10, 26], [11, 21], [13, 27], [23, 5], [6, 20], [17, 11], [25, 10], [18, 20]];
const PARITY: u32 = 0x1BD1_1BDA;

/// Threefry-4x32 with `rounds` rounds (a multiple of 4 or not; key injection every 4).
#[inline(always)]
pub fn threefry4x32(ctr: [u32; 4], key: [u32; 4], rounds: u32) -> [u32; 4] {
    let ks = [key[0], key[1], key[2], key[3], PARITY ^ key[0] ^ key[1] ^ key[2] ^ key[3]];
    let mut x = [
        ctr[0].wrapping_add(ks[0]),
        ctr[1].wrapping_add(ks[1]),
        ctr[2].wrapping_add(ks[2]),
        ctr[3].wrapping_add(ks[3]),
    ];
    for r in 0..rounds {
        let rot = ROT[(r % 8) as usize];
        if r % 2 == 0 {
            x[0] = x[0].wrapping_add(x[1]);
            x[1] = x[1].rotate_left(rot[0]) ^ x[0];
            x[2] = x[2].wrapping_add(x[3]);
            x[3] = x[3].rotate_left(rot[1]) ^ x[2];
        } else {
            x[0] = x[0].wrapping_add(x[3]);
            x[3] = x[3].rotate_left(rot[0]) ^ x[0];
            x[2] = x[2].wrapping_add(x[1]);
            x[1] = x[1].rotate_left(rot[1]) ^ x[2];
        }
        if r % 4 == 3 {
            let s = (r / 4 + 1) as usize;
            x[0] = x[0].wrapping_add(ks[s % 5]);
            x[1] = x[1].wrapping_add(ks[(s + 1) % 5]);
            x[2] = x[2].wrapping_add(ks[(s + 2) % 5]);
            x[3] = x[3].wrapping_add(ks[(s + 3) % 5]).wrapping_add(s as u32);
        }
    }
    x
}

/// Threefry-4x32 ([`ROUNDS`] rounds) of `L` counters at once, written lane-innermost so that
/// the CPU backend's compiler vectorises it (same operations as [`threefry4x32`] per lane).
#[inline(always)]
pub fn threefry4x32_lanes<const L: usize>(ctr: [[u32; L]; 4], key: [u32; 4]) -> [[u32; L]; 4] {
    let ks = key_schedule(key);
    let mut x = ctr;
    for (j, xj) in x.iter_mut().enumerate() {
        for v in xj.iter_mut() {
            *v = v.wrapping_add(ks[j]);
        }
    }
    threefry4x32_lanes_keyed(x, &ks)
}

/// The five key words of [`threefry4x32`]: the key and its parity word.
#[inline(always)]
pub fn key_schedule(key: [u32; 4]) -> [u32; 5] {
    [key[0], key[1], key[2], key[3], PARITY ^ key[0] ^ key[1] ^ key[2] ^ key[3]]
}

/// The rounds of [`threefry4x32_lanes`], on counters to which the first key injection
/// (`x[j] += ks[j]`) has already been added: callers whose counter words stay the same from block
/// to block (a path's index) add it once. (By value: the state stays in registers.)
#[inline(always)]
pub fn threefry4x32_lanes_keyed<const L: usize>(x: [[u32; L]; 4], ks: &[u32; 5]) -> [[u32; L]; 4] {
    let [mut x0, mut x1, mut x2, mut x3] = x;
    // Rounds written out (constant rotations, no loop-carried branch): four rounds, then a key
    // injection, as in `threefry4x32`.
    macro_rules! even {
        ($a:expr, $b:expr) => {
            for l in 0..L {
                x0[l] = x0[l].wrapping_add(x1[l]);
                x1[l] = x1[l].rotate_left($a) ^ x0[l];
                x2[l] = x2[l].wrapping_add(x3[l]);
                x3[l] = x3[l].rotate_left($b) ^ x2[l];
            }
        };
    }
    macro_rules! odd {
        ($a:expr, $b:expr) => {
            for l in 0..L {
                x0[l] = x0[l].wrapping_add(x3[l]);
                x3[l] = x3[l].rotate_left($a) ^ x0[l];
                x2[l] = x2[l].wrapping_add(x1[l]);
                x1[l] = x1[l].rotate_left($b) ^ x2[l];
            }
        };
    }
    macro_rules! inject {
        ($s:expr) => {
            let s: usize = $s;
            let inj = [ks[s % 5], ks[(s + 1) % 5], ks[(s + 2) % 5], ks[(s + 3) % 5].wrapping_add(s as u32)];
            for l in 0..L {
                x0[l] = x0[l].wrapping_add(inj[0]);
                x1[l] = x1[l].wrapping_add(inj[1]);
                x2[l] = x2[l].wrapping_add(inj[2]);
                x3[l] = x3[l].wrapping_add(inj[3]);
            }
        };
    }
    const _: () = assert!(ROUNDS == 13, "threefry4x32_lanes is written out for 13 rounds");
    // Rounds 1–12 with their three injections, then round 13 (no injection after it).
    for half in 0..3usize {
        if half % 2 == 0 {
            even!(ROT[0][0], ROT[0][1]);
            odd!(ROT[1][0], ROT[1][1]);
            even!(ROT[2][0], ROT[2][1]);
            odd!(ROT[3][0], ROT[3][1]);
        } else {
            even!(ROT[4][0], ROT[4][1]);
            odd!(ROT[5][0], ROT[5][1]);
            even!(ROT[6][0], ROT[6][1]);
            odd!(ROT[7][0], ROT[7][1]);
        }
        inject!(half + 1);
    }
    even!(ROT[4][0], ROT[4][1]);
    [x0, x1, x2, x3]
}

/// [`threefry4x32_lanes_keyed`] in place, on `L` lanes taken `S` at a time (`S` divides `L`):
/// the same operations per lane, so the same words, bit for bit. With 16 vector registers
/// (AVX2) the four words of 64 lanes (32 registers) do not fit, and every round spilled them to
/// the stack; 16 lanes (8 registers) stay in registers through all the rounds. In place, since
/// 1 KiB arrays passed by value were copied by `memcpy` (`benches/NOTES.md`).
#[inline(always)]
pub fn threefry4x32_lanes_keyed_by<const L: usize, const S: usize>(x: &mut [[u32; L]; 4], ks: &[u32; 5]) {
    const { assert!(S > 0 && L.is_multiple_of(S), "the sub-block width divides the lanes") };
    for b in 0..L / S {
        let mut sub = [[0u32; S]; 4];
        for (dst, src) in sub.iter_mut().zip(x.iter()) {
            dst.copy_from_slice(&src[b * S..(b + 1) * S]);
        }
        let r = threefry4x32_lanes_keyed::<S>(sub, ks);
        for (dst, src) in x.iter_mut().zip(&r) {
            dst[b * S..(b + 1) * S].copy_from_slice(src);
        }
    }
}

/// The four random words of `block` of path `path`.
#[inline(always)]
pub fn block_words(seed: u64, stream: u32, path: u64, block: u64) -> [u32; 4] {
    threefry4x32(
        [block as u32, (block >> 32) as u32, path as u32, (path >> 32) as u32],
        [seed as u32, (seed >> 32) as u32, stream, 0],
        ROUNDS,
    )
}

/// A uniform in the open interval (0, 1) from the top 23 bits of `w`: the odd multiples of
/// 2^-24, all exact in f32, so `ln` never sees 0 or 1.
#[inline(always)]
pub fn open_unit(w: u32) -> f32 {
    (((w >> 9) * 2 + 1) as i32) as f32 * (1.0 / 16_777_216.0)
}

/// Box–Muller: two standard normals from two words. The radius word gives u in (0,1); the
/// angle word's top two bits pick the quadrant exactly, the next 23 bits the angle inside it.
#[inline(always)]
pub fn box_muller<const FMA: bool>(w_radius: u32, w_angle: u32) -> [f32; 2] {
    let r = (-2.0 * ln_unit::<FMA>(open_unit(w_radius))).sqrt();
    let (c, s) = sincos_quarter::<FMA>(w_angle);
    [r * c, r * s]
}

/// [`normals4`] of `L` blocks at once (the words of lane l are `w[0..4][l]`), stage by stage:
/// each stage is a loop over all lanes with a short dependency chain, so that an out-of-order
/// core overlaps many lanes' chains (one lane's Box–Muller is a chain of about 110 cycles,
/// through a division and a square root). Per lane, the same operations as [`box_muller`] in
/// the same order: bit-identical results.
#[inline(always)]
pub fn normals_lanes<const L: usize, const FMA: bool>(w: &[[u32; L]; 4], z: &mut [[f32; L]; 4]) {
    // Radius words are w[0] and w[2]; angle words w[1] and w[3].
    let mut s = [[0.0f32; L]; 2];
    let mut ef = [[0.0f32; L]; 2];
    for p in 0..2 {
        for l in 0..L {
            let u = open_unit(w[2 * p][l]);
            let (sv, e) = crate::math::ln_unit_reduce(u);
            s[p][l] = sv;
            ef[p][l] = e;
        }
    }
    let mut r = [[0.0f32; L]; 2];
    for p in 0..2 {
        for l in 0..L {
            r[p][l] = crate::math::ln_unit_finish::<FMA>(s[p][l], ef[p][l]);
        }
    }
    for p in 0..2 {
        for l in 0..L {
            r[p][l] = (-2.0 * r[p][l]).sqrt();
        }
    }
    for p in 0..2 {
        for l in 0..L {
            let (c, sn) = sincos_quarter::<FMA>(w[2 * p + 1][l]);
            z[2 * p][l] = r[p][l] * c;
            z[2 * p + 1][l] = r[p][l] * sn;
        }
    }
}

/// Four standard normals from one block of words.
#[inline(always)]
pub fn normals4<const FMA: bool>(w: [u32; 4]) -> [f32; 4] {
    let a = box_muller::<FMA>(w[0], w[1]);
    let b = box_muller::<FMA>(w[2], w[3]);
    [a[0], a[1], b[0], b[1]]
}

/// Normal number `m` of path `path` (slow, scalar: for tests and tools).
pub fn normal_at<const FMA: bool>(seed: u64, path: u64, m: u64) -> f32 {
    normals4::<FMA>(block_words(seed, STREAM_NOISE, path, m / 4))[(m % 4) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 known-answer vectors (kat_vectors, threefry4x32 13 and 20 rounds).
    #[test]
    fn threefry_known_answers() {
        let pi_ctr = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];
        let pi_key = [0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89];
        assert_eq!(threefry4x32([0; 4], [0; 4], 13), [0x531c7e4f, 0x39491ee5, 0x2c855a92, 0x3d6abf9a]);
        assert_eq!(threefry4x32([!0; 4], [!0; 4], 13), [0xc4189358, 0x1c9cc83a, 0xd5881c67, 0x6a0a89e0]);
        assert_eq!(threefry4x32(pi_ctr, pi_key, 13), [0x4aa71d8f, 0x734738c2, 0x431fc6a8, 0xae6debf1]);
        assert_eq!(threefry4x32([0; 4], [0; 4], 20), [0x9c6ca96a, 0xe17eae66, 0xfc10ecd4, 0x5256a7d8]);
        assert_eq!(threefry4x32([!0; 4], [!0; 4], 20), [0x2a881696, 0x57012287, 0xf6c7446e, 0xa16a6732]);
        assert_eq!(threefry4x32(pi_ctr, pi_key, 20), [0x59cd1dbb, 0xb8879579, 0x86b5d00c, 0xac8b6d84]);
    }
}
