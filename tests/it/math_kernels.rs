//! Float32 special functions of `src/math.rs` against f64 references (docs/numerics.md,
//! docs/oracles.md T8/T9). Each test prints the largest error it found, and a failing assertion prints
//! x, actual, expected, difference and tolerance. Every function is checked in both
//! arithmetics (`optsde::cpu::Arith`): multiply-adds split (`FMA` false, what lavapipe computes)
//! and fused (`FMA` true, the CPU backend's default), against the same bounds.

use optsde::math::*;
use optsde::rng::open_unit;
use statrs::function::erf::{erf, erfc};

/// T8 (docs/oracles.md): erf abs error ≤ 2e-7 on [−6, 6].
const ERF_ABS_TOL: f64 = 2e-7;
/// T8: erf relative error ≤ 5e-7 for x ≠ 0.
const ERF_REL_TOL: f64 = 5e-7;
/// 1 − erf² relative error on [0, 6] (docs/numerics.md measures 2.8e-6, from rounding −x² in erfc).
const ONE_MINUS_SQ_REL_TOL: f64 = 1e-5;
/// √(1 − erf²) from `erf_and_diffusion` for |x| < 0.5: its degree-4 polynomial (fit 4.0e-9,
/// f32 evaluation measured ≤ 6.4e-8 relative) with margin for a few f32 roundings (2^-22).
const DIFFUSION_SMALL_REL_TOL: f64 = 2.4e-7;
/// √(1 − erf²) for |x| ≥ 0.5: half the relative error of 1 − erf² (the square root halves it).
const DIFFUSION_REL_TOL: f64 = ONE_MINUS_SQ_REL_TOL / 2.0;
/// T9: relative error of sqrt(1 − erf²) at x = 4.5.
const T9_REL_TOL: f64 = 1e-5;
/// sin/cos abs error for the Box–Muller angle: two ulp of 1 (2^-22). Both polynomials are
/// evaluated as 1 + (small terms) in f32 (cos near π/2 cancels to ~0.1 from terms of size 1),
/// so a couple of roundings at ulp(1) = 2^-23 is the floor; the truncation is < 3e-9.
const SINCOS_ABS_TOL: f64 = 1.0 / 4_194_304.0;
/// exp relative error on [−87, 88].
const EXP_REL_TOL: f64 = 3e-7;
/// ln_unit: |error| ≤ LN_REL_TOL · |ln u|. ln_unit's result is a handful of correctly rounded
/// f32 operations (s = (m−1)/(m+1), a Horner polynomial, one product, one sum), each adding at
/// most 2^-24 relative; the final e·ln2 + s·p can cancel by a factor ≤ 2 (u just below
/// sqrt(1/2)/2^k). Two units of 2^-23 (2.4e-7) bound that with margin, and relative is the
/// right measure here: Box–Muller's radius sqrt(−2 ln u) inherits half the relative error of
/// ln u, for u near 1 (tiny radius) as for u near 0 (the tails).
const LN_REL_TOL: f64 = 2.0 / 8_388_608.0;

/// Reference 1 − erf(x)² without cancellation: erfc(|x|)(2 − erfc(|x|)).
fn one_minus_erf_sq(x: f64) -> f64 {
    let c = erfc(x.abs());
    c * (2.0 - c)
}

/// f32 grid points lo, lo + step, ..., hi (computed in f64, rounded once).
fn grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f32> {
    (0..=n).map(move |i| (lo + (hi - lo) * i as f64 / n as f64) as f32)
}

/// Log-spaced |x| from 1e-8 to 0.5, both signs.
fn small_args() -> Vec<f32> {
    let n = 20_000;
    let (a, b) = (1e-8f64.ln(), 0.5f64.ln());
    (0..=n).map(|i| (a + (b - a) * i as f64 / n as f64).exp() as f32).flat_map(|x| [x, -x]).collect()
}

/// T8: erf on a fine grid of [−6, 6] and on log-spaced small |x|, both signs.
#[test]
fn t8_erf_accuracy() {
    t8_erf_accuracy_in::<false>();
    t8_erf_accuracy_in::<true>();
}

fn t8_erf_accuracy_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    let xs: Vec<f32> = grid(-6.0, 6.0, 1_200_000).chain(small_args()).collect();
    let (mut max_abs, mut at_abs) = (0.0f64, 0.0f32);
    let (mut max_rel, mut at_rel) = (0.0f64, 0.0f32);
    for &x in &xs {
        let actual = erf_f32::<FMA>(x) as f64;
        let expected = erf(x as f64);
        let diff = actual - expected;
        assert!(
            diff.abs() <= ERF_ABS_TOL,
            "erf abs: x = {x:e}, actual {actual:e}, expected {expected:e}, difference {diff:e}, tolerance {ERF_ABS_TOL:e}"
        );
        if diff.abs() > max_abs {
            (max_abs, at_abs) = (diff.abs(), x);
        }
        if x != 0.0 && expected.is_normal() {
            let rel = diff.abs() / expected.abs();
            assert!(
                rel <= ERF_REL_TOL,
                "erf rel: x = {x:e}, actual {actual:e}, expected {expected:e}, difference {diff:e}, \
                 relative {rel:e}, tolerance {ERF_REL_TOL:e}"
            );
            if rel > max_rel {
                (max_rel, at_rel) = (rel, x);
            }
        }
    }
    assert_eq!(erf_f32::<FMA>(0.0), 0.0, "erf(0)");
    println!(
        "({mode}) erf: {} points, max abs error {max_abs:.3e} at x = {at_abs:e}, max rel error {max_rel:.3e} at x = {at_rel:e}",
        xs.len()
    );
}

/// √(1 − erf²) from `erf_and_diffusion` (the SignSGD SDE's diffusion factor, docs/signsgd.md, docs/numerics.md) on
/// [−6, 6] and small |x|, against f64; its erf is `erf_f32` bit for bit, its |x| < 0.5 branch is
/// `erf_small_and_diffusion` bit for bit; T9 through it.
#[test]
fn diffusion_factor_accuracy() {
    diffusion_factor_accuracy_in::<false>();
    diffusion_factor_accuracy_in::<true>();
}

fn diffusion_factor_accuracy_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    let xs: Vec<f32> = grid(0.0, 6.0, 600_000).chain(small_args()).collect();
    let (mut max_small, mut max_big) = (0.0f64, 0.0f64);
    for &x in &xs {
        for x in [x, -x] {
            let (e, s) = erf_and_diffusion::<FMA>(x);
            assert_eq!(
                e.to_bits(),
                erf_f32::<FMA>(x).to_bits(),
                "({mode}) x = {x:e}: erf {e:e} != erf_f32 {:e}",
                erf_f32::<FMA>(x)
            );
            let small = x.abs() < 0.5;
            if small {
                let (es, ss) = erf_small_and_diffusion::<FMA>(x);
                assert_eq!((es.to_bits(), ss.to_bits()), (e.to_bits(), s.to_bits()), "x = {x:e}: small branch differs");
            }
            let expected = one_minus_erf_sq(x as f64).sqrt();
            let diff = s as f64 - expected;
            let rel = diff.abs() / expected;
            let tol = if small { DIFFUSION_SMALL_REL_TOL } else { DIFFUSION_REL_TOL };
            assert!(
                rel <= tol,
                "sqrt(1 - erf^2): x = {x:e}, actual {s:e}, expected {expected:e}, difference {diff:e}, \
                 relative {rel:e}, tolerance {tol:e}"
            );
            if small {
                max_small = max_small.max(rel);
            } else {
                max_big = max_big.max(rel);
            }
        }
    }
    println!("({mode}) sqrt(1 - erf^2): max rel error {max_small:.3e} for |x| < 0.5, {max_big:.3e} on 0.5 <= |x| <= 6");

    // T9 (docs/oracles.md): sqrt(1 − erf²) at x = 4.5 is 1.983e-5.
    let x = 4.5f32;
    let expected = one_minus_erf_sq(x as f64).sqrt();
    assert!(
        (expected - 1.983e-5).abs() <= 0.0005e-5,
        "T9 reference: sqrt(1 - erf^2)(4.5) in f64 = {expected:e}, docs value 1.983e-5 (4 digits)"
    );
    let actual = erf_and_diffusion::<FMA>(x).1 as f64;
    let diff = actual - expected;
    let rel = diff.abs() / expected;
    println!("({mode}) T9: sqrt(1 - erf^2)(4.5) = {actual:.6e}, f64 {expected:.6e}, rel error {rel:.3e}");
    assert!(
        rel < T9_REL_TOL,
        "T9: x = {x}, actual {actual:e}, expected {expected:e}, difference {diff:e}, relative {rel:e}, tolerance {T9_REL_TOL:e}"
    );
}

/// √(1 − erf²) is never negative or NaN and at most 1, and erf saturates at ±1.
#[test]
fn diffusion_factor_never_nan_and_erf_saturates() {
    diffusion_factor_never_nan_and_erf_saturates_in::<false>();
    diffusion_factor_never_nan_and_erf_saturates_in::<true>();
}

fn diffusion_factor_never_nan_and_erf_saturates_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    let xs = grid(-20.0, 20.0, 400_000).chain([f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX]);
    for x in xs {
        let (e, s) = erf_and_diffusion::<FMA>(x);
        assert!(
            (0.0..=1.0).contains(&s),
            "({mode}) x = {x:e}: sqrt(1 - erf^2) = {s:e}, expected in [0, 1] and not NaN"
        );
        assert!(!e.is_nan() && e.abs() <= 1.0, "({mode}) x = {x:e}: erf = {e:e}, expected in [-1, 1]");
    }
    // In the far tail (true 1 − erf² ≈ 1e-175 at |x| = 20) the computed 1 − erf² = s² is bounded
    // by the exp clamp at −87: erfc ≤ t·e^−87 ≈ 1.5e-39, which docs/numerics.md calls negligible; at
    // ±inf t = 0.
    const TAIL_TOL: f64 = 1e-37;
    for (x, want) in [(f32::INFINITY, 1.0f32), (f32::NEG_INFINITY, -1.0), (20.0, 1.0), (-20.0, -1.0)] {
        let (e, s) = erf_and_diffusion::<FMA>(x);
        assert_eq!(e, want, "erf({x:e}) = {e:e}, expected {want:e}, difference {:e}", e - want);
        let oms = (s as f64) * (s as f64);
        assert!(
            oms <= TAIL_TOL,
            "1 - erf^2 at x = {x:e}: actual {oms:e}, expected ~0, difference {oms:e}, tolerance {TAIL_TOL:e}"
        );
    }
    for x in [f32::INFINITY, f32::NEG_INFINITY] {
        let s = erf_and_diffusion::<FMA>(x).1;
        assert_eq!(s, 0.0, "sqrt(1 - erf^2) at x = {x:e}: actual {s:e}, expected 0, difference {s:e}, tolerance 0");
    }
}

/// ln_unit on every output of `open_unit` (the 2^23 odd multiples of 2^-24 in (0, 1)).
#[test]
fn ln_unit_on_all_uniforms() {
    ln_unit_on_all_uniforms_in::<false>();
    ln_unit_on_all_uniforms_in::<true>();
}

fn ln_unit_on_all_uniforms_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    let (mut max_rel, mut at_rel) = (0.0f64, 0.0f32);
    let mut max_abs = 0.0f64;
    for k in 0..(1u32 << 23) {
        let u = open_unit(k << 9 | (k & 0x1FF));
        let actual = ln_unit::<FMA>(u) as f64;
        let expected = (u as f64).ln();
        let diff = actual - expected;
        let tol = LN_REL_TOL * expected.abs();
        assert!(
            diff.abs() <= tol,
            "ln_unit: u = {u:e}, actual {actual:e}, expected {expected:e}, difference {diff:e}, \
             relative {:e}, tolerance {tol:e} ({LN_REL_TOL:e} relative)",
            diff.abs() / expected.abs()
        );
        max_abs = max_abs.max(diff.abs());
        let rel = diff.abs() / expected.abs();
        if rel > max_rel {
            (max_rel, at_rel) = (rel, u);
        }
    }
    // The range open_unit spans: 2^-24 and 1 − 2^-24.
    assert_eq!(open_unit(0), 1.0 / 16_777_216.0, "open_unit(0)");
    assert_eq!(open_unit(!0), 1.0 - 1.0 / 16_777_216.0, "open_unit(!0)");
    println!(
        "({mode}) ln_unit: 2^23 uniforms, max rel error {max_rel:.3e} at u = {at_rel:e}, max abs error {max_abs:.3e}"
    );
}

/// sincos_quarter against the exact angle it encodes: quadrant q = top 2 bits, then the next
/// 23 bits `frac` + 0.5 as the position inside the quadrant, θ = (q + (frac + 0.5)/2^23)·π/2.
/// Every `frac` is visited once, cycling through the four quadrants, with junk low bits.
#[test]
fn sincos_quarter_accuracy() {
    sincos_quarter_accuracy_in::<false>();
    sincos_quarter_accuracy_in::<true>();
}

fn sincos_quarter_accuracy_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    // Per output: (largest |difference|, w, theta, actual, expected), and how many exceed.
    let mut worst = [(0.0f64, 0u32, 0.0f64, 0.0f64, 0.0f64); 2];
    let mut over = [0usize; 2];
    for frac in 0..(1u32 << 23) {
        let q = frac.wrapping_mul(0x9E37_79B9) >> 30;
        let junk = frac.wrapping_mul(2_654_435_761) >> 25;
        let w = q << 30 | frac << 7 | junk;
        let theta = (q as f64 + (frac as f64 + 0.5) / 8_388_608.0) * std::f64::consts::FRAC_PI_2;
        let (c, s) = sincos_quarter::<FMA>(w);
        for (k, actual, expected) in [(0, c as f64, theta.cos()), (1, s as f64, theta.sin())] {
            let diff = (actual - expected).abs();
            if diff > SINCOS_ABS_TOL {
                over[k] += 1;
            }
            if diff > worst[k].0 {
                worst[k] = (diff, w, theta, actual, expected);
            }
        }
    }
    for (k, name) in ["cos", "sin"].iter().enumerate() {
        let (diff, w, theta, _, _) = worst[k];
        println!(
            "({mode}) sincos_quarter {name}: max abs error {diff:.3e} at w = {w:#010x} (theta = {theta:.9}); \
             {} of 2^23 angles over {SINCOS_ABS_TOL:e}",
            over[k]
        );
    }
    for (k, name) in ["cos", "sin"].iter().enumerate() {
        let (_, w, theta, actual, expected) = worst[k];
        assert!(
            over[k] == 0,
            "{name}: {} of 2^23 angles exceed the tolerance; worst w = {w:#010x} (theta = {theta:.9}), \
             actual {actual:e}, expected {expected:e}, difference {:e}, tolerance {SINCOS_ABS_TOL:e}",
            over[k],
            actual - expected
        );
    }
}

/// exp_f32: relative error on [−87, 88]; arguments below −87 clamp to e^−87, above 88 to e^88.
#[test]
fn exp_accuracy_and_clamp() {
    exp_accuracy_and_clamp_in::<false>();
    exp_accuracy_and_clamp_in::<true>();
}

fn exp_accuracy_and_clamp_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    let (mut max_rel, mut at) = (0.0f64, 0.0f32);
    let xs = grid(-87.0, 88.0, 2_000_000).chain(grid(-1e-3, 1e-3, 20_000)).chain([0.0, -0.0, -87.0, 88.0]);
    for y in xs {
        let actual = exp_f32::<FMA>(y) as f64;
        let expected = (y as f64).exp();
        let diff = actual - expected;
        let rel = diff.abs() / expected;
        assert!(
            rel <= EXP_REL_TOL,
            "exp: y = {y:e}, actual {actual:e}, expected {expected:e}, difference {diff:e}, relative {rel:e}, \
             tolerance {EXP_REL_TOL:e}"
        );
        if rel > max_rel {
            (max_rel, at) = (rel, y);
        }
    }
    println!("({mode}) exp_f32 on [-87, 88]: max rel error {max_rel:.3e} at y = {at:e}");

    let floor = exp_f32::<FMA>(-87.0);
    for y in [-87.5f32, -100.0, -1e4, f32::MIN, f32::NEG_INFINITY] {
        let v = exp_f32::<FMA>(y);
        assert_eq!(
            v.to_bits(),
            floor.to_bits(),
            "({mode}) exp_f32({y:e}) = {v:e}, expected the clamp value exp_f32(-87) = {floor:e}"
        );
    }
    assert!(floor > 0.0 && floor.is_normal(), "({mode}) exp_f32(-87) = {floor:e}, expected a positive normal float");
    let ceil = exp_f32::<FMA>(88.0);
    for y in [88.5f32, 1e4, f32::INFINITY] {
        let v = exp_f32::<FMA>(y);
        assert_eq!(
            v.to_bits(),
            ceil.to_bits(),
            "({mode}) exp_f32({y:e}) = {v:e}, expected the clamp value exp_f32(88) = {ceil:e}"
        );
    }
    assert!(ceil.is_finite(), "({mode}) exp_f32(88) = {ceil:e}, expected finite");
}

#[test]
fn sign_f32_cases() {
    let cases = [
        (0.0f32, 0.0f32),
        (-0.0, 0.0),
        (f32::NAN, 0.0),
        (-f32::NAN, 0.0),
        (1e-45, 1.0),
        (-1e-45, -1.0),
        (f32::MIN_POSITIVE, 1.0),
        (2.5, 1.0),
        (-2.5, -1.0),
        (f32::MAX, 1.0),
        (f32::MIN, -1.0),
        (f32::INFINITY, 1.0),
        (f32::NEG_INFINITY, -1.0),
    ];
    for (x, want) in cases {
        let s = sign_f32(x);
        assert_eq!(s, want, "sign_f32({x:e}): actual {s:e}, expected {want:e}, difference {:e}", s - want);
    }
}

#[test]
fn is_finite_bits_cases() {
    let cases = [
        (f32::INFINITY, false),
        (f32::NEG_INFINITY, false),
        (f32::NAN, false),
        (-f32::NAN, false),
        (f32::from_bits(0x7F80_0001), false), // signalling NaN
        (f32::MAX, true),
        (f32::MIN, true),
        (f32::MIN_POSITIVE, true),
        (f32::from_bits(1), true),           // smallest subnormal
        (f32::from_bits(0x007F_FFFF), true), // largest subnormal
        (-f32::from_bits(0x007F_FFFF), true),
        (0.0, true),
        (-0.0, true),
        (1.0, true),
    ];
    for (x, want) in cases {
        let got = is_finite_bits(x);
        assert_eq!(got, want, "is_finite_bits({x:e}, bits {:#010x}): actual {got}, expected {want}", x.to_bits());
        assert_eq!(got, x.is_finite(), "is_finite_bits({x:e}) disagrees with f32::is_finite");
    }
}

/// Bias corrections ι(n) = 1 − e^{−a n} by blocks of four substeps (src/model/adaptive.rs
/// `TimeBlocks`: ι(n_b + j) = (1 − e^{−a j}) + e^{−a j} ι(n_b)) against f64, for the rates of
/// Adam (−ln β) and of its SDE ((1 − β)/r) and the first 20 000 substeps plus late ones, through
/// the optimizer's factors 1/ι. Bound: one_minus_exp_neg's own error, ≤ 3e-7 · e^{−u}/(1 − e^{−u})
/// from exp_f32 (EXP_REL_TOL), at most 2.9e-6 at its series switch u = 0.1; the block form adds
/// at most four roundings of 2^-24 (the product, the sum, and the two terms' own errors weighted
/// by their shares) and the reciprocal one more, so 3.2e-6.
#[test]
fn bias_corrections_by_blocks() {
    bias_corrections_by_blocks_in::<false>();
    bias_corrections_by_blocks_in::<true>();
}

fn bias_corrections_by_blocks_in<const FMA: bool>() {
    let mode = if FMA { "fused" } else { "split" };
    const TOL: f64 = 3.2e-6;
    // The SDE's (1 − β)/r, then the optimizer's −ln β for β = 0.9, 0.999, 0.5, 0.1.
    let sde = [0.1f32, 1e-3, 1e-4, 5e-2, 5e-4];
    let rates: Vec<f32> = sde.into_iter().chain([0.9f64, 0.999, 0.5, 0.1].map(|b| -b.ln() as f32)).collect();
    let mut worst = (0.0f64, 0.0f32, 0u64);
    for &a in &rates {
        let tb = optsde::model::adaptive::TimeBlocks::new::<FMA>(a, a);
        for refine in [1u32, 3] {
            let ks = (0..20_000 / refine).chain([100_000, 1_000_000, 5_592_404]);
            for k in ks {
                for j in 0..refine {
                    let n = u64::from(k) * u64::from(refine) + u64::from(j) + 1;
                    let [r, _] = tb.factors::<5, FMA>(k, j, refine);
                    // ι as the device sees it: the f32 rate times the substep number, in f64.
                    let u = f64::from(a) * (n as f64);
                    let expected = -(-u).exp_m1();
                    let rel = (1.0 / f64::from(r) - expected).abs() / expected;
                    assert!(
                        rel <= TOL,
                        "a = {a:e}, n = {n}: 1/factor {:e}, expected {expected:e}, relative {rel:e}, tolerance {TOL:e}",
                        1.0 / f64::from(r)
                    );
                    if rel > worst.0 {
                        worst = (rel, a, n);
                    }
                }
            }
        }
    }
    println!(
        "({mode}) bias corrections by blocks: max rel error {:.3e} at a = {:e}, n = {}",
        worst.0, worst.1, worst.2
    );
}
