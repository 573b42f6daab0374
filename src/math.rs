//! Float32 special functions, bit-for-bit twins of `shaders/shared/math.wgsl`.
//!
//! WGSL has no erf, and its `log`/`sin`/`cos`/`exp` differ between drivers, so both backends
//! evaluate the same polynomials in the same order. All functions are branch-free (selects),
//! so the CPU backend's lane loops vectorise. Accuracy targets are docs/numerics.md.
//!
//! Every function takes `FMA`, how its multiply-adds a·b + c round ([`madd`]): `false` rounds
//! the product and the sum separately, as the WGSL source says and as an adapter that does not
//! contract computes it (lavapipe: bit for bit); `true` rounds once (a fused multiply-add), which
//! is what a GPU that contracts does to the same source, and what the CPU backend runs by
//! default (`crate::cpu::Arith`): one instruction instead of two for every Horner step. Which
//! operations are multiply-adds is fixed here, so each mode is one exact stream.

/// ln 2 split for Cody–Waite reduction (hi part has trailing zero bits).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
const LOG2E: f32 = std::f32::consts::LOG2_E;

#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c { a } else { b }
}

/// a·b + c, rounded once (`FMA`, a fused multiply-add: `f32::mul_add`) or twice (`!FMA`: the
/// product, then the sum, as WGSL's `a * b + c` on an adapter that does not contract).
///
/// `f32::mul_add` is correctly rounded on every target; it is one instruction where the code is
/// compiled with FMA (the CPU backend's AVX2 and AVX-512 kernels, aarch64) and a libm call
/// elsewhere.
#[inline(always)]
pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// ln(u) for u in (0, 1] (finite, normal, positive input).
///
/// u = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m−1)/(m+1), |s| < 0.1716,
/// series to s^9 (truncation < 3e-10 relative).
#[inline(always)]
pub fn ln_unit<const FMA: bool>(u: f32) -> f32 {
    let (s, e) = ln_unit_reduce(u);
    ln_unit_finish::<FMA>(s, e)
}

/// [`ln_unit`]'s first half: (s, e) with u = m 2^e and s = (m − 1)/(m + 1).
#[inline(always)]
pub fn ln_unit_reduce(u: f32) -> (f32, f32) {
    let bits = u.to_bits();
    // Re-centre the mantissa around 1: add the offset of sqrt(1/2) before extracting e.
    let adj = bits.wrapping_sub(0x3F35_04F3);
    let e = (adj as i32) >> 23;
    let m = f32::from_bits(bits.wrapping_sub((e as u32) << 23));
    ((m - 1.0) / (m + 1.0), e as f32)
}

/// [`ln_unit`]'s second half: e ln 2 + 2 atanh(s).
#[inline(always)]
pub fn ln_unit_finish<const FMA: bool>(s: f32, e: f32) -> f32 {
    let m = madd::<FMA>;
    let z = s * s;
    let p = m(z, m(z, m(z, m(z, 0.222_222_22, 0.285_714_3), 0.4), 0.666_666_7), 2.0);
    m(e, LN2_HI, m(s, p, e * LN2_LO))
}

/// (cos θ, sin θ) for θ = 2π × (angle word as a fraction of 2^32), with exact quadrant
/// reduction from the top two bits; Taylor polynomials on (0, π/2) (truncation < 3e-9; the
/// f32 evaluation error dominates, measured ≤ 2e-7 absolute in `tests/it/math_kernels.rs`).
#[inline(always)]
pub fn sincos_quarter<const FMA: bool>(w: u32) -> (f32, f32) {
    let m = madd::<FMA>;
    let q = w >> 30;
    let frac = (((w >> 7) & 0x7F_FFFF) as i32) as f32 + 0.5;
    let phi = frac * (std::f32::consts::FRAC_PI_2 / 8_388_608.0);
    let z = phi * phi;
    let s = phi
        * m(
            z,
            m(
                z,
                m(z, m(z, m(z, m(z, 1.605_904_4e-10, -2.505_210_8e-8), 2.755_732e-6), -1.984_127e-4), 8.333_334e-3),
                -1.666_666_7e-1,
            ),
            1.0,
        );
    let c = m(
        z,
        m(
            z,
            m(z, m(z, m(z, m(z, 2.087_676e-9, -2.755_732e-7), 2.480_158_7e-5), -1.388_888_9e-3), 4.166_666_8e-2),
            -0.5,
        ),
        1.0,
    );
    // Rotate (c, s) by q quarter turns.
    let swap = (q & 1) == 1;
    let c1 = select(swap, s, c);
    let s1 = select(swap, c, s);
    let cos_neg = q == 1 || q == 2;
    let sin_neg = q >= 2;
    (select(cos_neg, -c1, c1), select(sin_neg, -s1, s1))
}

/// e^y for y ≤ ~88; arguments below −87 are clamped (result ≈ 1.6e-38, a negligible error for
/// the erfc tails that use it).
#[inline(always)]
pub fn exp_f32<const FMA: bool>(y: f32) -> f32 {
    let m = madd::<FMA>;
    let y = select(y < -87.0, -87.0, y);
    let y = select(y > 88.0, 88.0, y);
    let n = m(y, LOG2E, 0.5).floor();
    let r = m(-n, LN2_LO, m(-n, LN2_HI, y));
    let p = m(
        r,
        m(
            r,
            m(
                r,
                m(r, m(r, m(r, m(r, 1.984_127e-4, 1.388_888_9e-3), 8.333_334e-3), 4.166_666_8e-2), 1.666_666_7e-1),
                0.5,
            ),
            1.0,
        ),
        1.0,
    );
    // n is an integer in [−126, 128]: 1.5·2^23 + n is exact and its low bits are n (two's
    // complement), with no float-to-int cast (Rust's saturating cast is scalarised lane by lane).
    let ni = (n + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000);
    let scale = f32::from_bits(ni.wrapping_add(127) << 23);
    p * scale
}

/// erfc(a) for a ≥ 0.5 (Numerical Recipes Chebyshev form, docs/numerics.md; coefficients as
/// published, rounded to f32 by the compiler exactly as the WGSL twin's literals).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erfc_nr<const FMA: bool>(a: f32) -> f32 {
    let m = madd::<FMA>;
    let t = 1.0 / m(0.5, a, 1.0);
    let mut poly = 0.170_872_77;
    for c in [
        -0.822_152_23,
        1.488_515_87,
        -1.135_203_98,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_7,
        -1.265_512_2,
    ] {
        poly = m(t, poly, c);
    }
    t * exp_f32::<FMA>(m(-a, a, poly))
}

/// The odd Taylor series of erf for |x| < 0.5 (docs/numerics.md; truncation < 2e-8 relative).
#[inline(always)]
fn erf_taylor<const FMA: bool>(x: f32) -> f32 {
    let m = madd::<FMA>;
    let z = x * x;
    x * std::f32::consts::FRAC_2_SQRT_PI
        * m(z, m(z, m(z, m(z, m(z, -0.000_757_575_8, 0.004_629_63), -0.023_809_524), 0.1), -0.333_333_34), 1.0)
}

/// erf(x) without cancellation (docs/numerics.md), with what its complements are built from:
/// (erf(x), erfc(|x|) (at 0.5 for |x| < 0.5), whether |x| < 0.5). Odd Taylor series for
/// |x| < 0.5, erf = ±(1 − erfc(|x|)) above; both branches are evaluated (selects).
#[inline(always)]
fn erf_parts<const FMA: bool>(x: f32) -> (f32, f32, bool) {
    let a = x.abs();
    let taylor = erf_taylor::<FMA>(x);
    let ec = erfc_nr::<FMA>(select(a < 0.5, 0.5, a));
    let big = 1.0 - ec;
    let small = a < 0.5;
    (select(small, taylor, select(x < 0.0, -big, big)), ec, small)
}

/// √(1 − erf(x)²) for |x| < 0.5 as a polynomial in z = x² (degree 4, least squares in relative
/// error on z ∈ [0, 1/4] against 40-digit values; fit error 4.0e-9; in f32, with the rounding of
/// x², 6.4e-8 relative at most, measured by `tests/it/math_kernels.rs` against f64). [DER] The
/// function is even, analytic and in [0.85, 1] there (1 − erf² = 1 − (4/π)z + O(z²)), so a low
/// degree suffices. It replaces `sqrt(1 − T²)` of the Taylor value T: the square root was the
/// costliest instruction of the CPU's signsgd-sde step, and the polynomial has no cancellation.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn diffusion_small<const FMA: bool>(z: f32) -> f32 {
    let m = madd::<FMA>;
    m(z, m(z, m(z, m(z, 0.010_691_133_8, -0.056_601_970_2), 0.221_746_298), -0.636_618_997), 1.0)
}

/// [`erf_and_diffusion`] for |x| < 0.5 only (its Taylor branch, bit for bit): the CPU twin uses
/// it for lane blocks whose arguments are all small.
#[inline(always)]
pub fn erf_small_and_diffusion<const FMA: bool>(x: f32) -> (f32, f32) {
    (erf_taylor::<FMA>(x), diffusion_small::<FMA>(x * x))
}

/// (erf(x), √(1 − erf(x)²)), the SignSGD SDE's drift and diffusion factors (docs/signsgd.md), without
/// cancellation: for |x| < 0.5 the Taylor erf and [`diffusion_small`]; above, erf = 1 − erfc and
/// √(erfc (2 − erfc)) (docs/numerics.md).
#[inline(always)]
pub fn erf_and_diffusion<const FMA: bool>(x: f32) -> (f32, f32) {
    let (e, ec, small) = erf_parts::<FMA>(x);
    let s = select(small, diffusion_small::<FMA>(x * x), (ec * (2.0 - ec)).max(0.0).sqrt());
    (e, s)
}

/// erf(x) (docs/numerics.md).
#[inline(always)]
pub fn erf_f32<const FMA: bool>(x: f32) -> f32 {
    erf_parts::<FMA>(x).0
}

/// sign with sign(0) = 0 and sign(NaN) = 0 (WGSL's builtin leaves NaN unspecified).
#[inline(always)]
pub fn sign_f32(v: f32) -> f32 {
    select(v > 0.0, 1.0, 0.0) - select(v < 0.0, 1.0, 0.0)
}

/// Whether a float is finite, by its bits (WGSL has no isFinite).
#[inline(always)]
pub fn is_finite_bits(v: f32) -> bool {
    (v.to_bits() & 0x7F80_0000) != 0x7F80_0000
}

/// 1 − e^{−u} for u ≥ 0 without cancellation (docs/numerics.md): a series for u < 0.1 (relative
/// truncation < 2e-8), `1 − exp(−u)` above.
#[inline(always)]
pub fn one_minus_exp_neg<const FMA: bool>(u: f32) -> f32 {
    let m = madd::<FMA>;
    let series = u * m(u, m(u, m(u, m(u, 8.333_334e-3, -4.166_666_8e-2), 1.666_666_7e-1), -0.5), 1.0);
    select(u < 0.1, series, 1.0 - exp_f32::<FMA>(-u))
}

/// atan(x) for any x (±∞ → ±π/2; NaN → NaN), relative error ≈ 1e-7.
///
/// Cephes `atanf` (S. L. Moshier): reduce |x| > tan(3π/8) to π/2 + atan(−1/|x|) and
/// tan(π/8) < |x| ≤ tan(3π/8) to π/4 + atan((|x| − 1)/(|x| + 1)), so the odd polynomial only
/// sees |r| ≤ tan(π/8). Branch-free: one division picks its numerator and denominator by
/// selects. atan(−0) returns +0.
#[inline(always)]
pub fn atan_f32<const FMA: bool>(x: f32) -> f32 {
    let m = madd::<FMA>;
    let a = x.abs();
    let big = a > 2.414_213_7;
    let mid = a > 0.414_213_57;
    let num = select(big, -1.0, select(mid, a - 1.0, a));
    let den = select(big, a, select(mid, a + 1.0, 1.0));
    let r = num / den;
    let y0 = select(big, std::f32::consts::FRAC_PI_2, select(mid, std::f32::consts::FRAC_PI_4, 0.0));
    let z = r * r;
    let p = m(m(m(m(0.080_537_446, z, -0.138_776_85), z, 0.199_777_11), z, -0.333_329_5) * z, r, r);
    let y = y0 + p;
    select(x < 0.0, -y, y)
}

/// e^a − 1 for a ≥ 0 without cancellation (the Student-t sampler's W^(−2/ν) − 1): Taylor
/// series to a^9/9! for a < 0.5 (relative truncation < a^8/9! ≤ 1.1e-8), `exp(a) − 1` above
/// (exp ≥ 1.65 there, so its rounding is amplified at most 2.6×). Measured relative error in
/// `tests/it/student_t.rs`. Arguments above 88 clamp with `exp_f32`.
#[inline(always)]
pub fn expm1_pos<const FMA: bool>(a: f32) -> f32 {
    let m = madd::<FMA>;
    let mut p = 2.480_158_8e-5;
    for c in [0.000_198_412_7, 0.001_388_888_9, 0.008_333_334, 0.041_666_668, 0.166_666_67, 0.5, 1.0] {
        p = m(a, p, c);
    }
    select(a < 0.5, a * p, exp_f32::<FMA>(a) - 1.0)
}

/// ln(1 + y) for 0 ≤ y ≤ 1 without cancellation: 2 atanh(w), w = y/(2 + y) ≤ 1/3, odd series
/// to w^17 (relative truncation < 3e-10).
#[inline(always)]
pub fn ln1p_unit<const FMA: bool>(y: f32) -> f32 {
    let m = madd::<FMA>;
    let w = y / (2.0 + y);
    let v = w * w;
    let mut p = 0.058_823_53;
    for c in [0.066_666_67, 0.076_923_08, 0.090_909_09, 0.111_111_11, 0.142_857_15, 0.2, 0.333_333_34, 1.0] {
        p = m(v, p, c);
    }
    2.0 * w * p
}
