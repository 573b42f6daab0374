// The formula language's transcendentals: twin of src/objective/formula/math.rs (same
// polynomials, same order; each madd there is an fma here, which lavapipe splits into a
// multiply and an add, as the CPU's FMA = false). Ranges, special values and accuracy are
// documented there. Needs shared/math.wgsl (exp_f32, expm1_pos, LN2_HI, LN2_LO) before it, and
// the kernel's `fx_opaque_zero()`.

const FX_EXP_SPLIT: f32 = 88.0;
const FX_EXP_ZERO: f32 = -87.0;
const FX_FRAC_2_PI: f32 = 0.63661975;
const FX_PIO2_1: f32 = 1.5703125;
const FX_PIO2_2: f32 = 0.0004837513;
const FX_PIO2_3: f32 = 7.54979e-8;
const FX_MIN_POSITIVE: f32 = 1.17549435e-38;

// Infinity and NaN from bits held in a private variable, so that no constant expression is
// non-finite (WGSL forbids that).
var<private> fx_inf_bits: u32 = 0x7F800000u;

// `v` unchanged, but opaque to the shader compiler (src/objective/formula/emit.rs says why):
// fx_opaque_zero() is a word the kernel reads at run time, which the host sets to 0.
fn fx_keep(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ fx_opaque_zero());
}

fn fx_exp(y: f32) -> f32 {
    let h = exp_f32(0.5 * y);
    let r = select(exp_f32(y), h * h, y > FX_EXP_SPLIT);
    return select(r, 0.0, y < FX_EXP_ZERO);
}

fn fx_log(u: f32) -> f32 {
    let bits = bitcast<u32>(u);
    let adj = bits - 0x3F3504F3u;
    let e = bitcast<i32>(adj) >> 23u;
    let m = bitcast<f32>(bits - (bitcast<u32>(e) << 23u));
    let s = (m - 1.0) / (m + 1.0);
    let ef = f32(e);
    let z = s * s;
    let p = fma(z, fma(z, fma(z, fma(z, 0.22222222, 0.2857143), 0.4), 0.6666667), 2.0);
    var r = fma(ef, LN2_HI, fma(s, p, ef * LN2_LO));
    r = select(r, u, (bits & 0x7F800000u) == 0x7F800000u);
    r = select(r, -bitcast<f32>(fx_inf_bits), u < FX_MIN_POSITIVE);
    return select(r, bitcast<f32>(fx_inf_bits | 0x400000u), u < 0.0);
}

fn fx_sqrt(u: f32) -> f32 {
    return sqrt(u);
}

// sin r, cos r and the quadrant k mod 4 for x = r + k pi/2, |r| <= pi/4.
struct FxSinCos {
    s: f32,
    c: f32,
    q: u32,
}

fn fx_sincos_reduced(x: f32) -> FxSinCos {
    let k = floor(fma(x, FX_FRAC_2_PI, 0.5));
    let r = fma(-k, FX_PIO2_3, fma(-k, FX_PIO2_2, fma(-k, FX_PIO2_1, x)));
    let q = (bitcast<u32>(k + 12582912.0) - 0x4B400000u) & 3u;
    let z = r * r;
    let ps = fma(fma(-0.00019515296, z, 0.008332161), z, -0.16666655);
    let s = fma(ps * z, r, r);
    let pc = fma(fma(2.4433157e-5, z, -0.0013887316), z, 0.041666646);
    let c = fma(z, fma(pc, z, -0.5), 1.0);
    return FxSinCos(s, c, q);
}

fn fx_sin(x: f32) -> f32 {
    let t = fx_sincos_reduced(x);
    let v = select(t.s, t.c, (t.q & 1u) == 1u);
    return select(v, -v, (t.q & 2u) == 2u);
}

fn fx_cos(x: f32) -> f32 {
    let t = fx_sincos_reduced(x);
    let v = select(t.c, t.s, (t.q & 1u) == 1u);
    return select(v, -v, ((t.q + 1u) & 2u) == 2u);
}

fn fx_tanh(x: f32) -> f32 {
    let em = expm1_pos(2.0 * abs(x));
    let t = em / (em + 2.0);
    return select(t, -t, x < 0.0);
}

fn fx_sinh(x: f32) -> f32 {
    let a = abs(x);
    let em = expm1_pos(a);
    let h = exp_f32(0.5 * a);
    let s = select(0.5 * (em + em / (em + 1.0)), (0.5 * h) * h, a > FX_EXP_SPLIT);
    return select(s, -s, x < 0.0);
}

fn fx_cosh(x: f32) -> f32 {
    let a = abs(x);
    let e = exp_f32(a);
    let h = exp_f32(0.5 * a);
    return select(fma(0.5, e, 0.5 / e), (0.5 * h) * h, a > FX_EXP_SPLIT);
}
