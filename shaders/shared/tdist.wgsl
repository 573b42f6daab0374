// Student-t noise: the sampler and the sign-SDE moments (A, 1 - A^2), A = 2F_nu(z) - 1.
// Twin of the device functions of src/noise.rs (same operations in the same order; the math
// is documented there). Requires: math.wgsl, rng.wgsl.
// Reads `tcdf`, a module-scope `var<storage, read> tcdf: array<f32>` that the including kernel
// declares: the concatenated tables of noise::t_table (4 words per node [A, dA, G, dG]);
// `tab` is a table's first word (tab < 0: closed forms for integer nu, tcdf not read).

// Duplicates noise::T_TABLE_INTERVALS (a test checks both).
const T_TABLE_INTERVALS: u32 = 1024u;
// 1 / dtheta = T_TABLE_INTERVALS / (pi/2), rounded to f32 as on the host.
const T_INV_DTHETA: f32 = 651.8986;
// 2^-100: smaller q = min(|z|, sqrt nu) / max(|z|, sqrt nu) counts as 0.
const T_Q_MIN: f32 = 7.888609e-31;
const T_LN_POW_MIN: f32 = -80.0;
const T_FRAC_2_PI: f32 = 0.63661975;
const T_MIN_NORMAL: f32 = 1.1754944e-38;

// A uniform in [2^-48, 1) on a 47-bit grid from two words (noise::unit48).
fn unit48(w_hi: u32, w_lo: u32) -> f32 {
    let a = f32(i32(w_hi >> 8u)) * (1.0 / 16777216.0);
    let b = f32(i32(((w_lo >> 9u) << 1u) | 1u)) * (1.0 / 281474976710656.0);
    return a + b;
}

// One t_nu variate from three words (48-bit radius, angle): Bailey's polar method without rejection.
fn student_t(w_hi: u32, w_lo: u32, w_angle: u32, nu: f32, two_over_nu: f32) -> f32 {
    let a = two_over_nu * -ln_unit(unit48(w_hi, w_lo));
    return sincos_quarter(w_angle).x * sqrt(nu * expm1_pos(a));
}

fn t_flush(v: f32) -> f32 {
    return select(v, 0.0, abs(v) < T_MIN_NORMAL);
}

fn t_hermite(s: f32, v0: f32, d0: f32, v1: f32, d1: f32) -> f32 {
    let dv = v1 - v0;
    let c2 = (dv + dv + dv) - (d0 + d0) - d1;
    let c3 = d0 + d1 - (dv + dv);
    return v0 + s * (d0 + s * (c2 + s * c3));
}

// (A, B) of integer nu (Abramowitz-Stegun 26.7.3/26.7.4); x = cos^2, sc = sin cos.
fn t_closed(nu: f32, theta: f32, psi: f32, s: f32, x: f32, sc: f32) -> vec2<f32> {
    let n = u32(nu);
    let odd = n & 1u;
    let kk = n >> 1u;
    // m = P - 1, nested from the inside: k = kk - 1 down to 1.
    var m = 0.0;
    for (var j = kk; j > 1u; j--) {
        let k = j - 1u;
        let num = f32(2u * k - 1u + odd);
        m = (x * (num / (num + 1.0))) * (1.0 + m);
    }
    let p = select(0.0, 1.0 + m, kk >= 1u);
    let scp = sc * p;
    if (odd == 1u) {
        return vec2<f32>((theta + scp) * T_FRAC_2_PI, (psi - scp) * T_FRAC_2_PI);
    }
    return vec2<f32>(s + s * m, x / (1.0 + s) - s * m);
}

// (A, B) from the table at word `tab`: Hermite on A where the interval's upper node has
// A <= 1/2, else B = exp(nu ln cos) * G with ln cos = [theta > pi/4] ln q - ln(1 + q^2)/2.
fn t_tabulated(nu: f32, theta: f32, q: f32, low: bool, tab: u32) -> vec2<f32> {
    let u = theta * T_INV_DTHETA;
    let n = min(u32(floor(u)), T_TABLE_INTERVALS - 1u);
    let s = u - f32(n);
    let i = tab + 4u * n;
    if (tcdf[i + 4u] <= 0.5) {
        let cen = t_hermite(s, tcdf[i], tcdf[i + 1u], tcdf[i + 4u], tcdf[i + 5u]);
        return vec2<f32>(cen, 1.0 - cen);
    }
    let g = t_hermite(s, tcdf[i + 2u], tcdf[i + 3u], tcdf[i + 6u], tcdf[i + 7u]);
    let positive = low || q > 0.0;
    let ln_cos = ln_unit(select(1.0, q, positive && !low)) - 0.5 * ln1p_unit(q * q);
    let lp = nu * ln_cos;
    let tail = select(0.0, exp_f32(lp) * g, positive && lp >= T_LN_POW_MIN);
    return vec2<f32>(1.0 - tail, tail);
}

// (A, 1 - A^2) for the sign SDE with t_nu noise at z = grad / scale; twin of noise::t_sign_moments.
fn t_sign_moments(z: f32, nu: f32, sqrt_nu: f32, tab: f32) -> vec2<f32> {
    let a = abs(z);
    let low = a <= sqrt_nu;
    var q = select(sqrt_nu, a, low) / select(a, sqrt_nu, low);
    q = select(q, 0.0, q < T_Q_MIN);
    let qq = q * q;
    let t = 1.0 + qq;
    let h = sqrt(t);
    let sin_t = select(1.0 / h, q / h, low);
    let x = select(qq / t, 1.0 / t, low);
    let sc = q / t;
    let alpha = atan_f32(q);
    let theta = select(FRAC_PI_2 - alpha, alpha, low);
    let psi = select(alpha, FRAC_PI_2 - alpha, low);
    var ab: vec2<f32>;
    if (tab < 0.0) {
        ab = t_closed(nu, theta, psi, sin_t, x, sc);
    } else {
        ab = t_tabulated(nu, theta, q, low, u32(tab));
    }
    let cen = select(select(ab.x, 0.0, ab.x < 0.0), 1.0, ab.x > 1.0);
    let tail = select(select(ab.y, 0.0, ab.y < 0.0), 1.0, ab.y > 1.0);
    let oms = tail * (1.0 + cen);
    let out = vec2<f32>(t_flush(select(cen, -cen, z < 0.0)), t_flush(select(oms, 1.0, oms > 1.0)));
    // NaN in, NaN out: a hardware driver may resolve the comparisons above with NaN either way
    // (an H100 returned A = 0.5).
    return select(out, vec2<f32>(z, z), vec2<bool>(is_nan_bits(z)));
}
