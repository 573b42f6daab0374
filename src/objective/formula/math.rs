//! The formula language's transcendentals in f32, bit-for-bit twins of
//! `shaders/shared/formula_math.wgsl` (each `madd` here is an `fma` there; see
//! [`crate::math`] for the two arithmetics). Polynomials, never a driver's builtin, so every
//! adapter computes the same bits. Branch-free (selects), so lane loops vectorise.
//!
//! Ranges and special values (the accuracy of each is measured by the module's tests, in both
//! arithmetics, against f64):
//! - `fx_exp`: [`crate::math::exp_f32`] on [−87, 88]; e^(y/2)² above 88 (overflows to +∞ past
//!   ln(f32::MAX) ≈ 88.72); 0 below −87 (e^−87 ≈ 1.6e−38 is the edge of the normal range, and
//!   GPUs may flush denormals).
//! - `fx_log`: the reduction of [`crate::math::ln_unit`] for any positive normal float; 0 and
//!   denormals give −∞, negatives NaN, +∞ → +∞.
//! - `fx_sin`, `fx_cos`: Cody–Waite reduction by π/2 in three parts (the first two with
//!   trailing zero bits, exact for |k| < 2^13), Cephes `sinf`/`cosf` polynomials on
//!   [−π/4, π/4]. Accurate for |x| ≤ 1e4; beyond, the reduction loses about log2(|x|/1e4) bits.
//! - `fx_tanh`: em/(em + 2) with em = e^(2|x|) − 1 by [`crate::math::expm1_pos`] (no
//!   cancellation near 0); ±1 for large |x|.
//! - `fx_sinh`: (em + em/(em + 1))/2 with em = e^|x| − 1 (no cancellation near 0); `fx_cosh`:
//!   (e^|x| + e^−|x|)/2; both e^(|x|/2)·e^(|x|/2)/2 above 88, overflowing to ±∞ past ≈ 89.4.

use crate::math::{exp_f32, expm1_pos, ln_unit_finish, ln_unit_reduce, madd};

#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c { a } else { b }
}

/// Above this, exp and cosh/sinh go through e^(y/2)².
const EXP_SPLIT: f32 = 88.0;
/// Below this, exp is 0.
const EXP_ZERO: f32 = -87.0;

#[inline(always)]
pub fn fx_exp<const FMA: bool>(y: f32) -> f32 {
    let h = exp_f32::<FMA>(0.5 * y);
    let r = select(y > EXP_SPLIT, h * h, exp_f32::<FMA>(y));
    select(y < EXP_ZERO, 0.0, r)
}

#[inline(always)]
pub fn fx_log<const FMA: bool>(u: f32) -> f32 {
    let (s, e) = ln_unit_reduce(u);
    let r = ln_unit_finish::<FMA>(s, e);
    let nonfinite = (u.to_bits() & 0x7F80_0000) == 0x7F80_0000;
    let r = select(nonfinite, u, r);
    let r = select(u < f32::MIN_POSITIVE, f32::NEG_INFINITY, r);
    select(u < 0.0, f32::NAN, r)
}

#[inline(always)]
pub fn fx_sqrt(u: f32) -> f32 {
    u.sqrt()
}

const FRAC_2_PI: f32 = std::f32::consts::FRAC_2_PI;
/// π/2 ≈ PIO2_1 + PIO2_2 + PIO2_3 (Cephes `sinf`'s DP1..DP3, doubled): PIO2_1 has 8
/// significant bits and PIO2_2 11, so k·PIO2_1 and k·PIO2_2 are exact for |k| < 2^13
/// (|x| < 1.28e4).
const PIO2_1: f32 = 1.570_312_5;
#[allow(clippy::excessive_precision)]
const PIO2_2: f32 = 4.837_512_969_970_703_125e-4;
#[allow(clippy::excessive_precision)]
const PIO2_3: f32 = 7.549_789_954_891_882_16e-8;

/// (sin r, cos r, quadrant) with x = r + k·π/2, |r| ≤ π/4, quadrant = k mod 4.
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn sincos_reduced<const FMA: bool>(x: f32) -> (f32, f32, u32) {
    let m = madd::<FMA>;
    let k = m(x, FRAC_2_PI, 0.5).floor();
    let r = m(-k, PIO2_3, m(-k, PIO2_2, m(-k, PIO2_1, x)));
    // k's low bits as an integer without a float-to-int cast (as in exp_f32): exact for
    // |k| < 2^22; beyond, the quadrant is as arbitrary as the reduction.
    let q = (k + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000) & 3;
    let z = r * r;
    let ps = m(m(-1.951_529_6e-4, z, 8.332_160_9e-3), z, -1.666_665_5e-1);
    let s = m(ps * z, r, r);
    let pc = m(m(2.443_315_7e-5, z, -1.388_731_6e-3), z, 4.166_664_6e-2);
    // Horner to the end (1 + z·(−0.5 + z·pc)): lavapipe's NIR rewrites t + (−0.5·z + 1)
    // into this form anyway, so writing it so keeps the twins equal.
    let c = m(z, m(pc, z, -0.5), 1.0);
    (s, c, q)
}

#[inline(always)]
pub fn fx_sin<const FMA: bool>(x: f32) -> f32 {
    let (s, c, q) = sincos_reduced::<FMA>(x);
    let v = select(q & 1 == 1, c, s);
    select(q & 2 == 2, -v, v)
}

#[inline(always)]
pub fn fx_cos<const FMA: bool>(x: f32) -> f32 {
    let (s, c, q) = sincos_reduced::<FMA>(x);
    let v = select(q & 1 == 1, s, c);
    select((q + 1) & 2 == 2, -v, v)
}

#[inline(always)]
pub fn fx_tanh<const FMA: bool>(x: f32) -> f32 {
    let em = expm1_pos::<FMA>(2.0 * x.abs());
    let t = em / (em + 2.0);
    select(x < 0.0, -t, t)
}

#[inline(always)]
pub fn fx_sinh<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let em = expm1_pos::<FMA>(a);
    let h = exp_f32::<FMA>(0.5 * a);
    let s = select(a > EXP_SPLIT, (0.5 * h) * h, 0.5 * (em + em / (em + 1.0)));
    select(x < 0.0, -s, s)
}

#[inline(always)]
pub fn fx_cosh<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let e = exp_f32::<FMA>(a);
    let h = exp_f32::<FMA>(0.5 * a);
    select(a > EXP_SPLIT, (0.5 * h) * h, madd::<FMA>(0.5, e, 0.5 / e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest relative error of `f` against `reference` over `xs` (skipping reference values
    /// below `floor` in magnitude, where `abs_tol` applies instead), in both arithmetics.
    fn check(
        name: &str,
        f: [fn(f32) -> f32; 2],
        reference: fn(f64) -> f64,
        xs: &[f32],
        rel_tol: f64,
        floor: f64,
        abs_tol: f64,
    ) {
        for (mode, f) in ["split", "fused"].iter().zip(f) {
            let mut worst = (0.0f64, 0.0f32);
            for &x in xs {
                let actual = f(x) as f64;
                let expected = reference(x as f64);
                if expected.is_infinite() || actual.is_infinite() || expected.is_nan() {
                    assert!(
                        actual == expected || (expected.is_nan() && actual.is_nan()),
                        "{name} ({mode}) at {x:e}: actual {actual:e}, expected {expected:e}"
                    );
                    continue;
                }
                let diff = (actual - expected).abs();
                if expected.abs() < floor || expected == 0.0 {
                    assert!(
                        diff <= abs_tol,
                        "{name} ({mode}) at {x:e}: actual {actual:e}, expected {expected:e}, difference {diff:e}, tolerance {abs_tol:e} (absolute)"
                    );
                    continue;
                }
                let rel = diff / expected.abs();
                assert!(
                    rel <= rel_tol,
                    "{name} ({mode}) at {x:e}: actual {actual:e}, expected {expected:e}, relative difference {rel:e}, tolerance {rel_tol:e}"
                );
                if rel > worst.0 {
                    worst = (rel, x);
                }
            }
            eprintln!("{name} ({mode}): max relative error {:e} at x = {:e}", worst.0, worst.1);
        }
    }

    /// `n` points log-spaced in [lo, hi] (lo > 0), both signs, plus 0.
    fn args(lo: f64, hi: f64, n: usize) -> Vec<f32> {
        let (a, b) = (lo.ln(), hi.ln());
        let mut v: Vec<f32> =
            (0..=n).map(|i| (a + (b - a) * i as f64 / n as f64).exp() as f32).flat_map(|x| [x, -x]).collect();
        v.push(0.0);
        v
    }

    // Tolerances: the measured maxima (printed by these tests, both arithmetics) with ~40 %
    // margin, all within the target of a few ulp (2^-23 = 1.19e-7).
    /// Measured 2.1e-7 split (at 88.06, through e^(y/2)²), 1.5e-7 fused, on [−87, 88.72].
    const EXP_REL_TOL: f64 = 3e-7;
    /// Measured 1.7e-7 on (1e-30, 1e30), 2.2e-7 on 1 ± 0.1.
    const LOG_REL_TOL: f64 = 3e-7;
    /// sin/cos for |x| ≤ 1e4, relative where |f| ≥ 1e-3: measured 1.2e-7 (sin), 1.3e-7 (cos).
    const TRIG_REL_TOL: f64 = 2e-7;
    /// Where |f| < 1e-3 (near a zero), absolute: a few ulp of the reduced argument r plus the
    /// reduction's error k·|π/2 − PIO2_1 − PIO2_2 − PIO2_3| ≤ 6.4e3·2e-15.
    const TRIG_ABS_TOL: f64 = 1e-9;
    /// Measured 2.2e-7 (tanh), 2.1e-7 (sinh), 1.5e-7 (cosh) on 1e-8 ≤ |x| ≤ 89.
    const HYP_REL_TOL: f64 = 3e-7;

    #[test]
    fn fx_exp_accuracy_and_specials() {
        let xs: Vec<f32> = (0..=400_000).map(|i| (-87.0 + 175.72 * i as f64 / 400_000.0) as f32).collect();
        check("exp", [fx_exp::<false>, fx_exp::<true>], f64::exp, &xs, EXP_REL_TOL, 0.0, 0.0);
        assert_eq!(fx_exp::<false>(89.0), f32::INFINITY);
        assert_eq!(fx_exp::<true>(f32::INFINITY), f32::INFINITY);
        assert_eq!(fx_exp::<false>(f32::NEG_INFINITY), 0.0);
        assert_eq!(fx_exp::<false>(-100.0), 0.0);
        assert!(fx_exp::<false>(f32::NAN).is_nan());
    }

    #[test]
    fn fx_log_accuracy_and_specials() {
        let xs: Vec<f32> = args(1e-30, 1e30, 200_000).into_iter().filter(|x| *x > 0.0).collect();
        check("log", [fx_log::<false>, fx_log::<true>], f64::ln, &xs, LOG_REL_TOL, 1e-3, 3e-10);
        let near1: Vec<f32> = (1..20_000).map(|i| 1.0 + (i as f32 - 10_000.0) * 1e-5).collect();
        check("log near 1", [fx_log::<false>, fx_log::<true>], f64::ln, &near1, LOG_REL_TOL, 0.0, 0.0);
        assert_eq!(fx_log::<false>(0.0), f32::NEG_INFINITY);
        assert_eq!(fx_log::<false>(-0.0), f32::NEG_INFINITY);
        assert_eq!(fx_log::<false>(1e-40), f32::NEG_INFINITY);
        assert!(fx_log::<false>(-1.0).is_nan());
        assert!(fx_log::<false>(f32::NEG_INFINITY).is_nan());
        assert!(fx_log::<true>(f32::NAN).is_nan());
        assert_eq!(fx_log::<false>(f32::INFINITY), f32::INFINITY);
        assert_eq!(fx_log::<false>(1.0), 0.0);
    }

    #[test]
    fn fx_sin_cos_accuracy() {
        let mut xs = args(1e-6, 1e4, 200_000);
        xs.extend((0..=100_000).map(|i| (-10.0 + 20.0 * i as f64 / 100_000.0) as f32));
        check("sin", [fx_sin::<false>, fx_sin::<true>], f64::sin, &xs, TRIG_REL_TOL, 1e-3, TRIG_ABS_TOL);
        check("cos", [fx_cos::<false>, fx_cos::<true>], f64::cos, &xs, TRIG_REL_TOL, 1e-3, TRIG_ABS_TOL);
        assert!(fx_sin::<false>(f32::INFINITY).is_nan() && fx_cos::<true>(f32::NAN).is_nan());
        assert_eq!(fx_sin::<false>(0.0), 0.0);
        assert_eq!(fx_cos::<false>(0.0), 1.0);
    }

    #[test]
    fn fx_hyperbolic_accuracy() {
        let xs = args(1e-8, 89.0, 200_000);
        check("tanh", [fx_tanh::<false>, fx_tanh::<true>], f64::tanh, &xs, HYP_REL_TOL, 0.0, 0.0);
        check("sinh", [fx_sinh::<false>, fx_sinh::<true>], f64::sinh, &xs, HYP_REL_TOL, 0.0, 0.0);
        check("cosh", [fx_cosh::<false>, fx_cosh::<true>], f64::cosh, &xs, HYP_REL_TOL, 0.0, 0.0);
        assert_eq!(fx_cosh::<false>(90.0), f32::INFINITY);
        assert_eq!(fx_sinh::<false>(-90.0), f32::NEG_INFINITY);
        assert_eq!(fx_tanh::<false>(-100.0), -1.0);
        assert!(fx_tanh::<false>(f32::NAN).is_nan() && fx_sinh::<false>(f32::NAN).is_nan());
    }
}
