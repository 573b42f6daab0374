//! The counter-based generator: pinned output values, the vectorised core against the scalar
//! one, chunk independence, and statistical tests of the normals and raw words.
//!
//! The normals come in two arithmetics (`optsde::cpu::Arith`): multiply-adds split (`FMA`
//! false, what lavapipe computes) and fused (`FMA` true, the CPU backend's default). Both are
//! pinned by golden values, the exact properties (lanes, chunks) are checked in both, the
//! statistical tests run on the fused stream, and `fused_and_split_normals_agree` bounds their
//! difference by the functions' accuracy, so the statistics carry over to the split one.
//!
//! Every statistical test states its significance level `alpha` and derives its critical
//! value from it and the sample size (STYLE habit 6); where one test function makes several
//! comparisons the level is split among them (Bonferroni), so each test function fails by
//! chance with probability at most its `alpha`. The streams are fixed (fixed seeds), so a
//! passing test passes deterministically; `alpha` says how unlucky a correct generator would
//! have to be for the chosen seeds to fail.

use optsde::rng::*;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// splitmix64: test inputs (counters, keys) independent of the generator under test.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Two-sided standard-normal critical value for level `alpha` shared by `tests` comparisons.
fn z_critical(alpha: f64, tests: usize) -> f64 {
    Normal::standard().inverse_cdf(1.0 - alpha / (2.0 * tests as f64))
}

/// `paths` × `per_path` normals of `seed`, path-major, starting at path `path0`, normal 0
/// (fused multiply-adds, the CPU backend's default).
fn normals(seed: u64, path0: u64, paths: u64, per_path: u64) -> Vec<f32> {
    assert_eq!(per_path % 4, 0);
    let mut out = Vec::with_capacity((paths * per_path) as usize);
    for p in path0..path0 + paths {
        for b in 0..per_path / 4 {
            out.extend_from_slice(&normals4::<true>(block_words(seed, STREAM_NOISE, p, b)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Golden values
// ---------------------------------------------------------------------------------------------

/// These values pin the stream: any change to the generator (key/counter layout, rounds,
/// uniform or Box–Muller mapping, log/sincos polynomials) changes them and is noticed here,
/// since runs with the same seed must stay reproducible across versions and backends. The
/// Threefry core itself is checked against the Random123 known-answer vectors in `src/rng.rs`;
/// the values below were computed once by running this code.
#[test]
fn golden_words_and_normals() {
    let words = block_words(1, 0, 0, 0);
    let expected_words: [u32; 4] = GOLDEN_WORDS;
    assert_eq!(
        words, expected_words,
        "block_words(seed 1, stream 0, path 0, block 0): actual {words:08x?}, expected {expected_words:08x?}"
    );

    type NormalAt = fn(u64, u64, u64) -> f32;
    let modes: [(&str, NormalAt, [u32; 9]); 2] =
        [("split", normal_at::<false>, GOLDEN_SEED1_PATH0), ("fused", normal_at::<true>, GOLDEN_SEED1_PATH0_FUSED)];
    for (mode, normal_at, golden) in modes {
        for (m, &bits) in golden.iter().enumerate() {
            let z = normal_at(1, 0, m as u64);
            assert_eq!(
                z.to_bits(),
                bits,
                "({mode}) normal_at(seed 1, path 0, m {m}): actual {z:e} ({:#010x}), expected {:e} ({bits:#010x})",
                z.to_bits(),
                f32::from_bits(bits)
            );
        }

        let (seed, path, m) = (42u64, (1u64 << 33) + 7, 12345u64);
        let z = normal_at(seed, path, m);
        assert_eq!(
            z.to_bits(),
            GOLDEN_SEED42,
            "({mode}) normal_at(seed {seed}, path {path}, m {m}): actual {z:e} ({:#010x}), expected {:e} ({GOLDEN_SEED42:#010x})",
            z.to_bits(),
            f32::from_bits(GOLDEN_SEED42)
        );
    }
}

const GOLDEN_WORDS: [u32; 4] = [0xb04f_b59a, 0xf9eb_31f3, 0xf511_0239, 0xcef2_0df4];

/// normal_at(seed 1, path 0, m) for m = 0..=8 (0.8540252, −0.12842418, 0.105965585,
/// −0.27580315, −0.6358202, −0.46641922, −0.09754316, 2.2452717, 1.0707387), with
/// Threefry-4x32-13. Cross-check: Box–Muller of the first two words in f64 gives 0.85402524 and
/// −0.12842422.
const GOLDEN_SEED1_PATH0: [u32; 9] = [
    0x3f5a_a165,
    0xbe03_81a1,
    0x3dd9_047c,
    0xbe8d_3612,
    0xbf22_c51d,
    0xbeee_ce80,
    0xbdc7_c4b5,
    0x400f_b288,
    0x3f89_0df7,
];

/// The same with fused multiply-adds: m = 1 is −0.12842417 (one ulp from the split value), the
/// others the same bits.
const GOLDEN_SEED1_PATH0_FUSED: [u32; 9] = [
    0x3f5a_a165,
    0xbe03_81a0,
    0x3dd9_047c,
    0xbe8d_3612,
    0xbf22_c51d,
    0xbeee_ce80,
    0xbdc7_c4b5,
    0x400f_b288,
    0x3f89_0df7,
];

/// normal_at(seed 42, path 2^33 + 7, m 12345) = −0.53254855 (both arithmetics).
const GOLDEN_SEED42: u32 = 0xbf08_551a;

// ---------------------------------------------------------------------------------------------
// Vectorised core and chunk independence
// ---------------------------------------------------------------------------------------------

/// The lane-innermost core (whole or by sub-blocks of lanes) and Box–Muller (used by the CPU
/// backend) are bit-identical to the scalar ones.
#[test]
fn lanes_match_scalar() {
    lanes_match_scalar_in::<false>();
    lanes_match_scalar_in::<true>();
}

fn lanes_match_scalar_in<const FMA: bool>() {
    const L: usize = 32;
    let mut state = 0x5EED_0001_u64;
    for trial in 0..256 {
        let k = splitmix64(&mut state);
        let k2 = splitmix64(&mut state);
        // A few structured keys (all zero, all ones) among the random ones.
        let key = match trial {
            0 => [0; 4],
            1 => [!0; 4],
            _ => [k as u32, (k >> 32) as u32, k2 as u32, (k2 >> 32) as u32],
        };
        let mut ctr = [[0u32; L]; 4];
        for l in 0..L {
            let a = splitmix64(&mut state);
            let b = splitmix64(&mut state);
            ctr[0][l] = a as u32;
            ctr[1][l] = (a >> 32) as u32;
            ctr[2][l] = b as u32;
            ctr[3][l] = (b >> 32) as u32;
        }
        let out = threefry4x32_lanes::<L>(ctr, key);
        // The CPU kernels' form: counters keyed once, the rounds by sub-blocks of lanes.
        let ks = key_schedule(key);
        let mut keyed = ctr;
        for (j, xj) in keyed.iter_mut().enumerate() {
            xj.iter_mut().for_each(|v| *v = v.wrapping_add(ks[j]));
        }
        let by = |f: fn(&mut [[u32; L]; 4], &[u32; 5])| {
            let mut x = keyed;
            f(&mut x, &ks);
            x
        };
        assert_eq!(by(threefry4x32_lanes_keyed_by::<L, 8>), out, "trial {trial}: sub-blocks of 8 lanes");
        assert_eq!(by(threefry4x32_lanes_keyed_by::<L, 16>), out, "trial {trial}: sub-blocks of 16 lanes");
        assert_eq!(by(threefry4x32_lanes_keyed_by::<L, L>), out, "trial {trial}: all lanes at once");
        // The staged Box–Muller of the lanes against `normals4` of each lane's words.
        let mut z = [[0.0f32; L]; 4];
        normals_lanes::<L, FMA>(&out, &mut z);
        for l in 0..L {
            let c = [ctr[0][l], ctr[1][l], ctr[2][l], ctr[3][l]];
            let want = threefry4x32(c, key, ROUNDS);
            let got = [out[0][l], out[1][l], out[2][l], out[3][l]];
            assert_eq!(
                got, want,
                "trial {trial}, lane {l}: counter {c:08x?}, key {key:08x?}: lanes {got:08x?}, scalar {want:08x?}"
            );
            let zs = normals4::<FMA>(want).map(f32::to_bits);
            let zl = [z[0][l], z[1][l], z[2][l], z[3][l]].map(f32::to_bits);
            assert_eq!(zl, zs, "trial {trial}, lane {l}: normals of words {want:08x?}");
        }
    }
}

/// A normal depends only on (seed, path, m): `normal_at` is lane `m % 4` of block `m / 4`,
/// computing a path's normals in chunks of any size (through the lane core, as the CPU
/// backend does) gives the same bits, and the high halves of the 64-bit path and block
/// indices take part (indices above 2^32 do not alias their low 32 bits).
#[test]
fn determinism_and_chunk_independence() {
    determinism_and_chunk_independence_in::<false>();
    determinism_and_chunk_independence_in::<true>();
}

fn determinism_and_chunk_independence_in<const FMA: bool>() {
    let seeds = [1u64, 42, 0xDEAD_BEEF_0000_0001];
    let paths = [0u64, 5, (1 << 32) - 1, 1 << 32, (1 << 33) + 7, u64::MAX];
    let ms = [0u64, 3, 4, 12345, (1 << 32) + 3, (1 << 34) + 17, u64::MAX - 2];
    for &seed in &seeds {
        for &path in &paths {
            for &m in &ms {
                let z = normal_at::<FMA>(seed, path, m);
                let lane = normals4::<FMA>(block_words(seed, 0, path, m / 4))[(m % 4) as usize];
                assert_eq!(
                    z.to_bits(),
                    lane.to_bits(),
                    "seed {seed}, path {path}, m {m}: normal_at {z:e}, block lane {lane:e}"
                );
                let again = normal_at::<FMA>(seed, path, m);
                assert_eq!(z.to_bits(), again.to_bits(), "seed {seed}, path {path}, m {m}: {z:e} then {again:e}");
            }
        }
    }

    // High index bits matter: path p + 2^32 and block b + 2^32 give other words than p and b.
    for &(path, block) in &[(7u64, 3u64), (0, 0), (123_456, 1 << 20)] {
        let base = block_words(1, 0, path, block);
        let hi_path = block_words(1, 0, path + (1 << 32), block);
        let hi_block = block_words(1, 0, path, block + (1 << 32));
        let other_stream = block_words(1, 1, path, block);
        let hi_seed = block_words(1 + (1 << 32), 0, path, block);
        for (what, w) in
            [("path + 2^32", hi_path), ("block + 2^32", hi_block), ("stream 1", other_stream), ("seed + 2^32", hi_seed)]
        {
            assert_ne!(base, w, "path {path}, block {block}: {what} gives the same words {w:08x?}");
        }
    }

    // Chunked generation through the lane core: path above 2^32, blocks straddling 2^32.
    const L: usize = 32;
    let (seed, path) = (42u64, (1u64 << 33) + 7);
    let key = [seed as u32, (seed >> 32) as u32, STREAM_NOISE, 0];
    let first_block = (1u64 << 32) - 40;
    let total_blocks = 200u64;
    for chunk in [1usize, 3, 7, 32] {
        let mut b = first_block;
        while b < first_block + total_blocks {
            let n = chunk.min((first_block + total_blocks - b) as usize);
            let mut ctr = [[0u32; L]; 4];
            for l in 0..L {
                let bl = b + (l.min(n - 1)) as u64;
                ctr[0][l] = bl as u32;
                ctr[1][l] = (bl >> 32) as u32;
                ctr[2][l] = path as u32;
                ctr[3][l] = (path >> 32) as u32;
            }
            let out = threefry4x32_lanes::<L>(ctr, key);
            for l in 0..n {
                let zs = normals4::<FMA>([out[0][l], out[1][l], out[2][l], out[3][l]]);
                for (lane, &z) in zs.iter().enumerate() {
                    let m = 4 * (b + l as u64) + lane as u64;
                    let want = normal_at::<FMA>(seed, path, m);
                    assert_eq!(
                        z.to_bits(),
                        want.to_bits(),
                        "chunk {chunk}, path {path}, m {m}: chunked {z:e}, normal_at {want:e}"
                    );
                }
            }
            b += n as u64;
        }
    }
}

/// The fused and split streams (`optsde::cpu::Arith`) are the same normals up to the special
/// functions' rounding, over 2^20 blocks (2^22 normals): |z_fused − z_split| ≤ TOL · r, r the
/// pair's radius (f64 hypot of the split pair).
///
/// Bound [DER]: each stream's z = r cos θ (or sin) with ln u within LN_REL_TOL relative
/// (`tests/it/math_kernels.rs`, both arithmetics), so r = √(−2 ln u) within LN_REL_TOL/2 plus the
/// square root's and the product's roundings (2^-24 each), and cos, sin within 2^-22 absolute
/// (SINCOS_ABS_TOL there). The two streams' errors add: TOL = LN_REL_TOL + 2·2^-22 + 4·2^-24
/// (≈ 9.5e-7). The statistical tests below run on the fused stream; this carries them to the
/// split one, whose differences are far below what they resolve (KS: 2e-3).
#[test]
fn fused_and_split_normals_agree() {
    const LN_REL_TOL: f64 = 2.0 / 8_388_608.0;
    const TOL: f64 = LN_REL_TOL + 2.0 / 4_194_304.0 + 4.0 / 16_777_216.0;
    let (mut identical, mut worst, mut total) = (0usize, 0.0f64, 0usize);
    for p in 0..1024u64 {
        for b in 0..1024u64 {
            let w = block_words(9, STREAM_NOISE, p, b);
            let (f, sp) = (normals4::<true>(w), normals4::<false>(w));
            for pair in 0..2 {
                let r = f64::from(sp[2 * pair]).hypot(f64::from(sp[2 * pair + 1]));
                for i in [2 * pair, 2 * pair + 1] {
                    let d = (f64::from(f[i]) - f64::from(sp[i])).abs();
                    assert!(
                        d <= TOL * r,
                        "path {p}, block {b}, normal {i}: fused {:e}, split {:e}, difference {d:e}, tolerance {:e} (r = {r:e})",
                        f[i],
                        sp[i],
                        TOL * r
                    );
                    worst = worst.max(d / r.max(f64::MIN_POSITIVE));
                    identical += usize::from(f[i].to_bits() == sp[i].to_bits());
                    total += 1;
                }
            }
        }
    }
    println!(
        "fused vs split normals: {identical}/{total} bit-identical, max |difference|/r {worst:.3e} (bound {TOL:.3e})"
    );
    // The modes must differ somewhere, or one of them is not what it says.
    assert!(identical < total, "fused and split normals are identical on all {total}: is FMA ignored?");
}

// ---------------------------------------------------------------------------------------------
// Statistical tests
// ---------------------------------------------------------------------------------------------

/// Kolmogorov–Smirnov test of 2^20 normals (1024 paths × 1024 normals, i.e. across paths and
/// across 256 blocks each) against the standard normal CDF.
///
/// alpha = 1e-4; asymptotic critical value D_crit = sqrt(−ln(alpha/2)/2)/sqrt(n)
/// (≈ 2.17e-3 at n = 2^20). Box–Muller in f32 caps |z| at ≈ 5.77 (docs/numerics.md), a missing
/// probability ≈ 8e-9, far below the KS resolution at this n.
#[test]
fn ks_standard_normal() {
    let alpha = 1e-4;
    let mut z: Vec<f64> = normals(7, 1000, 1024, 1024).into_iter().map(f64::from).collect();
    let n = z.len();
    assert!(z.iter().all(|v| v.is_finite()), "non-finite normal");
    z.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let nd = n as f64;
    let phi = Normal::standard();
    let mut d = 0.0f64;
    let mut at = 0.0;
    for (i, &x) in z.iter().enumerate() {
        let f = phi.cdf(x);
        let lo = f - i as f64 / nd;
        let hi = (i + 1) as f64 / nd - f;
        if lo.max(hi) > d {
            d = lo.max(hi);
            at = x;
        }
    }
    let d_crit = (-(alpha / 2.0f64).ln() / 2.0).sqrt() / nd.sqrt();
    println!("KS: n = {n}, D = {d:.3e} at z = {at:.4}, D_crit(alpha {alpha:e}) = {d_crit:.3e}");
    assert!(
        d < d_crit,
        "KS: n = {n}, D = {d:e} at z = {at}, critical {d_crit:e} (alpha {alpha:e}), excess {:e}",
        d - d_crit
    );
}

/// z-tests of the first four moments of 2^24 normals (16384 paths × 1024 normals), in f64:
/// mean (SE 1/sqrt n), variance (SE sqrt(2/n)), skewness (SE sqrt(6/n)), excess kurtosis
/// (SE sqrt(24/n)). alpha = 1e-6 two-sided for the four together (Bonferroni: 1e-6/4 each).
#[test]
fn moment_z_tests() {
    let alpha = 1e-6;
    let tests = 4;
    let z_crit = z_critical(alpha, tests);
    let (paths, per_path) = (16384u64, 1024u64);
    let n = (paths * per_path) as f64;
    let (mut s1, mut s2, mut s3, mut s4) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for p in 0..paths {
        for b in 0..per_path / 4 {
            for z in normals4::<true>(block_words(3, STREAM_NOISE, p, b)) {
                let z = z as f64;
                let z2 = z * z;
                s1 += z;
                s2 += z2;
                s3 += z2 * z;
                s4 += z2 * z2;
            }
        }
    }
    let mean = s1 / n;
    // Central moments from raw ones (mean ~ 1e-3, so no cancellation worth noting in f64).
    let m2 = s2 / n - mean * mean;
    let m3 = s3 / n - 3.0 * mean * s2 / n + 2.0 * mean.powi(3);
    let m4 = s4 / n - 4.0 * mean * s3 / n + 6.0 * mean * mean * s2 / n - 3.0 * mean.powi(4);
    let skew = m3 / m2.powf(1.5);
    let kurt = m4 / (m2 * m2) - 3.0;
    let checks = [
        ("mean", mean, 0.0, (1.0 / n).sqrt()),
        ("variance", m2, 1.0, (2.0 / n).sqrt()),
        ("skewness", skew, 0.0, (6.0 / n).sqrt()),
        ("excess kurtosis", kurt, 0.0, (24.0 / n).sqrt()),
    ];
    for (name, actual, expected, se) in checks {
        let zs = (actual - expected) / se;
        println!("{name}: {actual:.6e} (expected {expected}), z = {zs:+.3}, |z| limit {z_crit:.3}");
        assert!(
            zs.abs() < z_crit,
            "{name}: n = {n}, actual {actual:e}, expected {expected}, difference {:e}, SE {se:e}, z = {zs}, \
             limit {z_crit} (alpha {alpha:e} over {tests} tests)",
            actual - expected
        );
    }
}

/// Chi-square test of the top 8 bits (256 cells) of 2^24 raw words (4096 paths × 1024 blocks ×
/// 4 words). alpha = 1e-6, critical value ChiSquared(255) quantile at 1 − alpha.
#[test]
fn raw_words_uniform_top_byte() {
    let alpha = 1e-6;
    let mut counts = [0u64; 256];
    let (paths, blocks) = (4096u64, 1024u64);
    for p in 0..paths {
        for b in 0..blocks {
            for w in block_words(11, STREAM_NOISE, p, b) {
                counts[(w >> 24) as usize] += 1;
            }
        }
    }
    let n = (paths * blocks * 4) as f64;
    let e = n / 256.0;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    let crit = ChiSquared::new(255.0).unwrap().inverse_cdf(1.0 - alpha);
    println!("chi-square top byte: n = {n}, chi2 = {chi2:.2}, critical {crit:.2} (alpha {alpha:e}, 255 dof)");
    let (cell, &worst) = counts
        .iter()
        .enumerate()
        .max_by(|a, b| (*a.1 as f64 - e).abs().partial_cmp(&(*b.1 as f64 - e).abs()).unwrap())
        .unwrap();
    assert!(
        chi2 < crit,
        "chi-square top byte: n = {n}, chi2 = {chi2}, critical {crit} (alpha {alpha:e}), difference {}; \
         worst cell {cell}: {worst} vs expected {e}",
        chi2 - crit
    );
}

/// Pearson correlation; under independence (finite fourth moments) corr·sqrt(n) → N(0, 1).
fn corr(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (a, b) = (a - mx, b - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    sxy / (sxx * syy).sqrt()
}

/// Correlations that should vanish: normal m vs m + 1 within a path (inside a Box–Muller pair
/// and across lane/block boundaries), the same m on paths p and p + 1, seeds 1 and 2 at the
/// same (path, m), and the squares of the two normals of one Box–Muller pair (which share the
/// radius: exact Box–Muller makes them independent, a radius/angle defect would not).
/// alpha = 1e-6 for the four together (Bonferroni); |corr|·sqrt(n) < z_crit.
#[test]
fn independence_correlations() {
    let alpha = 1e-6;
    let tests = 4;
    let z_crit = z_critical(alpha, tests);
    let (paths, per_path) = (1025u64, 1024u64);
    let a: Vec<f64> = normals(1, 0, paths, per_path).into_iter().map(f64::from).collect();
    let b: Vec<f64> = normals(2, 0, paths, per_path).into_iter().map(f64::from).collect();
    let pp = per_path as usize;
    let np = paths as usize;

    // m vs m + 1 within each path.
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for p in 0..np - 1 {
        let row = &a[p * pp..(p + 1) * pp];
        x.extend_from_slice(&row[..pp - 1]);
        y.extend_from_slice(&row[1..]);
    }
    let lag_m = (corr(&x, &y), x.len());

    // Same m, paths p and p + 1.
    let lag_path = (corr(&a[..(np - 1) * pp], &a[pp..]), (np - 1) * pp);

    // Seeds 1 and 2, same (path, m).
    let seeds = (corr(&a, &b), a.len());

    // Squares of the two normals of each Box–Muller pair (lanes 0,1 and 2,3).
    let sq_x: Vec<f64> = a.chunks_exact(2).map(|c| c[0] * c[0]).collect();
    let sq_y: Vec<f64> = a.chunks_exact(2).map(|c| c[1] * c[1]).collect();
    let squares = (corr(&sq_x, &sq_y), sq_x.len());

    for (name, (r, n)) in [
        ("m vs m+1 (same path)", lag_m),
        ("path p vs p+1 (same m)", lag_path),
        ("seed 1 vs seed 2 (same path, m)", seeds),
        ("z^2 of a Box-Muller pair", squares),
    ] {
        let zs = r * (n as f64).sqrt();
        println!("{name}: n = {n}, corr = {r:+.3e}, z = {zs:+.3}, |z| limit {z_crit:.3}");
        assert!(
            zs.abs() < z_crit,
            "{name}: n = {n}, corr {r:e}, expected 0, z = corr*sqrt(n) = {zs}, limit {z_crit} \
             (alpha {alpha:e} over {tests} tests)"
        );
    }
}
