// Float32 special functions: twin of src/math.rs (same polynomials, same order).
// Branch-free; WGSL has no erf, and builtin log/sin/cos/exp vary between drivers.
// Every multiply-add of math.rs (`madd`) is an fma() here: a GPU that fuses computes the CPU's
// fused arithmetic (its default), and lavapipe, which lowers fma to a multiply and an add
// (gallivm's lower_ffma32), computes the split one, bit for bit (src/cpu/mod.rs Arith).

const LN2_HI: f32 = 0.69314575;
const LN2_LO: f32 = 1.4286068e-6;
const LOG2E: f32 = 1.4426950;
const FRAC_PI_2: f32 = 1.5707964;

// ln(u) for u in (0, 1].
fn ln_unit(u: f32) -> f32 {
    let bits = bitcast<u32>(u);
    let adj = bits - 0x3F3504F3u;
    let e = bitcast<i32>(adj) >> 23u;
    let m = bitcast<f32>(bits - (bitcast<u32>(e) << 23u));
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = fma(z, fma(z, fma(z, fma(z, 0.22222222, 0.2857143), 0.4), 0.6666667), 2.0);
    return fma(f32(e), LN2_HI, fma(s, p, f32(e) * LN2_LO));
}

// (cos, sin) of 2*pi*(w / 2^32), exact quadrant from the top two bits.
fn sincos_quarter(w: u32) -> vec2<f32> {
    let q = w >> 30u;
    let frac = f32(i32((w >> 7u) & 0x7FFFFFu)) + 0.5;
    let phi = frac * (FRAC_PI_2 / 8388608.0);
    let z = phi * phi;
    let s = phi * fma(z, fma(z, fma(z, fma(z, fma(z, fma(z, 1.6059044e-10, -2.5052108e-8), 2.755732e-6), -1.984127e-4), 8.333334e-3), -1.6666667e-1), 1.0);
    let c = fma(z, fma(z, fma(z, fma(z, fma(z, fma(z, 2.087676e-9, -2.755732e-7), 2.4801587e-5), -1.3888889e-3), 4.1666668e-2), -0.5), 1.0);
    let swap = (q & 1u) == 1u;
    let c1 = select(c, s, swap);
    let s1 = select(s, c, swap);
    let cos_neg = q == 1u || q == 2u;
    let sin_neg = q >= 2u;
    return vec2<f32>(select(c1, -c1, cos_neg), select(s1, -s1, sin_neg));
}

fn exp_f32(y_in: f32) -> f32 {
    var y = select(y_in, -87.0, y_in < -87.0);
    y = select(y, 88.0, y > 88.0);
    let n = floor(fma(y, LOG2E, 0.5));
    let r = fma(-n, LN2_LO, fma(-n, LN2_HI, y));
    let p = fma(r, fma(r, fma(r, fma(r, fma(r, fma(r, fma(r, 1.984127e-4, 1.3888889e-3), 8.333334e-3), 4.1666668e-2), 1.6666667e-1), 0.5), 1.0), 1.0);
    let scale = bitcast<f32>(u32(i32(n) + 127) << 23u);
    return p * scale;
}

fn erfc_nr(a: f32) -> f32 {
    let t = 1.0 / fma(0.5, a, 1.0);
    let poly = fma(t, fma(t, fma(t, fma(t, fma(t, fma(t, fma(t, fma(t, fma(t, 0.17087276, -0.8221522), 1.4885159), -1.135204), 0.27886807), -0.18628806), 0.09678418), 0.37409196), 1.0000237), -1.2655122);
    return t * exp_f32(fma(-a, a, poly));
}

// (erf(x), sqrt(1 - erf(x)^2)), the SignSGD SDE's drift and diffusion factors, without
// cancellation (docs/numerics.md); twin of math::erf_and_diffusion. For |x| < 0.5 the Taylor erf
// and a degree-4 polynomial in x^2 for the square root (its fit: src/math.rs diffusion_small);
// above, erf = 1 - erfc and sqrt(erfc (2 - erfc)). A real branch: near stationarity almost every
// argument is small, so whole SIMD groups skip the exp path.
fn erf_and_diffusion(x: f32) -> vec2<f32> {
    if (abs(x) < 0.5) {
        return erf_small_and_diffusion(x);
    }
    return erf_big_and_diffusion(x);
}

// erf_and_diffusion's branch for |x| < 0.5 (twin of math::erf_small_and_diffusion).
fn erf_small_and_diffusion(x: f32) -> vec2<f32> {
    let z = x * x;
    let taylor = x * 1.1283792 * fma(z, fma(z, fma(z, fma(z, fma(z, -0.0007575758, 0.00462963), -0.023809524), 0.1), -0.33333334), 1.0);
    return vec2<f32>(taylor, fma(z, fma(z, fma(z, fma(z, 0.0106911338, -0.0566019702), 0.221746298), -0.636618997), 1.0));
}

// erf_and_diffusion's branch for |x| >= 0.5.
fn erf_big_and_diffusion(x: f32) -> vec2<f32> {
    let ec = erfc_nr(abs(x));
    let big = 1.0 - ec;
    return vec2<f32>(select(big, -big, x < 0.0), sqrt(max(ec * (2.0 - ec), 0.0)));
}

fn sign_f32(v: f32) -> f32 {
    return select(0.0, 1.0, v > 0.0) - select(0.0, 1.0, v < 0.0);
}

// NaN test on the bits: drivers may fold `v != v` (fast-math) but not integer compares.
fn is_nan_bits(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7FFFFFFFu) > 0x7F800000u;
}

fn is_finite_bits(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7F800000u) != 0x7F800000u;
}

// 1 - e^{-u} for u >= 0 without cancellation (docs/numerics.md).
fn one_minus_exp_neg(u: f32) -> f32 {
    let series = u * fma(u, fma(u, fma(u, fma(u, 8.333334e-3, -4.1666668e-2), 1.6666667e-1), -0.5), 1.0);
    return select(1.0 - exp_f32(-u), series, u < 0.1);
}

const FRAC_PI_4: f32 = 0.7853982;

// atan(x) for any x (Cephes atanf reduction at tan(3pi/8) and tan(pi/8)); twin of math.rs.
fn atan_f32(x: f32) -> f32 {
    let a = abs(x);
    let big = a > 2.4142137;
    let mid = a > 0.41421357;
    let num = select(select(a, a - 1.0, mid), -1.0, big);
    let den = select(select(1.0, a + 1.0, mid), a, big);
    let r = num / den;
    let y0 = select(select(0.0, FRAC_PI_4, mid), FRAC_PI_2, big);
    let z = r * r;
    let p = fma(fma(fma(fma(0.080537446, z, -0.13877685), z, 0.19977711), z, -0.3333295) * z, r, r);
    let y = y0 + p;
    return select(y, -y, x < 0.0);
}

// e^a - 1 for a >= 0: series below 0.5, exp - 1 above (twin of math.rs).
fn expm1_pos(a: f32) -> f32 {
    let series = a * fma(a, fma(a, fma(a, fma(a, fma(a, fma(a, fma(a, 2.4801588e-5, 0.0001984127), 0.0013888889), 0.008333334), 0.041666668), 0.16666667), 0.5), 1.0);
    return select(exp_f32(a) - 1.0, series, a < 0.5);
}

// ln(1 + y) for 0 <= y <= 1: 2 atanh(y / (2 + y)) (twin of math.rs).
fn ln1p_unit(y: f32) -> f32 {
    let w = y / (2.0 + y);
    let v = w * w;
    let p = fma(v, fma(v, fma(v, fma(v, fma(v, fma(v, fma(v, fma(v, 0.05882353, 0.06666667), 0.07692308), 0.09090909), 0.11111111), 0.14285715), 0.2), 0.33333334), 1.0);
    return 2.0 * w * p;
}
