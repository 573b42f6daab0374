//! The random-stream cursor of a block of lanes: the twin of the WGSL cursors `noise_next`,
//! `next_noise_block` and `comp_next` (shaders/advance.wgsl) for [`LANES`] paths at once, with
//! the next block's normals computed in stages while the current one is used.

use super::LANES;
use crate::layout::{Coef, Params};
use crate::noise::student_t;
use crate::rng::{key_schedule, normals_lanes, threefry4x32_lanes_keyed, threefry4x32_lanes_keyed_by};

/// A block of lanes' position in one random stream: Threefry block `blk`, the next variate
/// `lane` inside it, and the block's words (and normals, for Gaussian streams). Variate m of
/// the stream is variate m % per of block m / per.
pub(super) struct Cursor<const FMA: bool, const TF: usize> {
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
    pub(super) zb: [[[f32; LANES]; 4]; 2],
    pub(super) cur: usize,
    /// Block blk + 1 in the making: words, and the radius stages' values.
    wn: [[u32; LANES]; 4],
    sn: [[f32; LANES]; 2],
    en: [[f32; LANES]; 2],
}

impl<const FMA: bool, const TF: usize> Cursor<FMA, TF> {
    // Inlined so that its first fetch is compiled with the caller's target features (as a
    // function of its own it ran as baseline x86-64 code).
    #[inline(always)]
    pub(super) fn new(m0: u64, per: u64, normals: bool, stream: u32, params: &Params, path0: u64) -> Self {
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
        // target features (benches/NOTES.md, "CPU twin on AVX2: a Zen 3 VM").
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
    /// stages as functions of `crate::rng` taking the arrays by reference compiled to slower code
    /// (benches/NOTES.md, "CPU twin: staged generator, fused SignSGD pass, pipelined blocks").
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
    pub(super) fn next(&mut self) -> usize {
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
    pub(super) fn variate(&mut self, q: &Coef) -> [f32; LANES] {
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
    pub(super) fn word(&mut self) -> [u32; LANES] {
        let j = self.next();
        self.words[j]
    }
}
