//! Student-t gradient noise (docs/heavy-tails.md): Z_i = s_i T_i with T_i ~ t_ν iid, s_i a *scale* (not a
//! standard deviation). This module holds its sampler and the drift and diffusion it induces in
//! the SignSGD SDE (docs/heavy-tails.md), as f32 twins of `shaders/shared/tdist.wgsl` (same operations in
//! the same order, only +, −, ×, ÷, sqrt, selects and the polynomials of [`crate::math`]), plus
//! the f64 host side: c_ν, a reference CDF and the interpolation tables of docs/heavy-tails.md.
//!
//! # Notation
//! F_ν, f_ν: the t_ν CDF and density; c_ν = f_ν(0) = Γ((ν+1)/2) / (√(νπ) Γ(ν/2)) (docs/heavy-tails.md).
//! With ϑ = atan(|z|/√ν) ∈ [0, π/2] and ψ = π/2 − ϑ = atan(√ν/|z|) (docs/heavy-tails.md):
//!
//! * A(z) = 2F_ν(|z|) − 1 = P(|T| < |z|) = K_ν ∫_0^ϑ cos^{ν−1}φ dφ,   K_ν := 2√ν c_ν,
//! * B(z) = 1 − A = P(|T| > |z|) = K_ν ∫_0^ψ sin^{ν−1}φ dφ = K_ν cos^ν ϑ · H_ν(cos²ϑ),
//!   H_ν(x) = Σ_j a_j x^j/(ν + 2j), a_j = (2j−1)!!/(2j)!! (substitute u = sin φ and expand
//!   (1 − u²)^{−1/2}).
//!
//! # The sign-SDE moments ([`t_sign_moments`])
//! SignSGD with g = ∇f + sT has E sign(g) = P(T > −∇f/s) − P(T < −∇f/s) = 2F_ν(∇f/s) − 1 =: A(z)
//! signed (odd in z, z = ∇f/s) and Var sign(g) = 1 − A² (docs/heavy-tails.md, P1's heavy-tail corollary:
//! A = 2Ξ_ν). The diffusion needs 1 − A² with *relative* accuracy where A → ±1 (docs/heavy-tails.md), so
//! both A and B are carried, each computed directly where it is small, and 1 − A² = B (1 + |A|).
//! Both angles come from one ratio q = min(|z|, √ν)/max(|z|, √ν) ≤ 1 and one `atan_f32(q)`, so
//! the small one of ϑ, ψ is never a difference; sin ϑ, cos ϑ are q/√(1+q²) and 1/√(1+q²) in
//! the order the branch needs (no overflow of z², unlike |z|/√(ν+z²)).
//!
//! * **Closed forms** (integer ν ≤ [`T_CLOSED_MAX_NU`], `tab < 0`; Abramowitz–Stegun
//!   26.7.3/26.7.4, docs/heavy-tails.md), x = cos²ϑ = 1/(1+q²) or q²/(1+q²) and sin ϑ cos ϑ = q/(1+q²)
//!   each rounded once:
//!   odd ν: A = (2/π)(ϑ + sin ϑ cos ϑ P), B = (2/π)(ψ − sin ϑ cos ϑ P),
//!   P = Σ_{k<(ν−1)/2} (2k)!!/(2k+1)!! x^k (P = 0 for ν = 1);
//!   even ν: A = sin ϑ P, B = x/(1 + sin ϑ) − sin ϑ (P − 1), P = Σ_{k<ν/2} (2k−1)!!/(2k)!! x^k.
//!   P − 1 is evaluated nested, x r_1 (1 + x r_2 (1 + ⋯)), r_k = (2k−1+[ν odd])/(2k+[ν odd])
//!   formed in f32, in a loop of ⌊ν/2⌋ − 1 steps. The sums are ill-conditioned in x
//!   (x dP/dx ≈ ν/3 near the median), so A's error grows ≈ 1e-8 ν: measured 4.6e-7 at ν = 30,
//!   7.4e-7 at ν = 64 — hence the closed forms stop at ν = 30 and the table takes over.
//!   ν = 1 (B = 2ψ/π) and ν = 2 (B = cos²ϑ/(1 + sin ϑ)) are exact complements; for ν ≥ 3 B is a
//!   difference of O(ψ)-sized terms, so 1 − A² keeps ≤ 1e-6 absolute error everywhere but
//!   relative accuracy (≤ 5e-5) only while 1 − A² ≥ 1e-2. Use the table where the far tail of
//!   the diffusion matters: it accepts integer ν too.
//! * **Table** (any ν ≥ [`T_NU_MIN`], `tab ≥ 0`; docs/heavy-tails.md): on ϑ_n = nΔϑ,
//!   Δϑ = (π/2)/[`T_TABLE_INTERVALS`], four words per node [A_n, Δϑ A′(ϑ_n), G_n, Δϑ G′(ϑ_n)]
//!   with G := B / cos^ν ϑ = K_ν H_ν(cos²ϑ). Cubic Hermite on ϑ's interval gives A where the
//!   interval's upper node has A ≤ 1/2 (then B = 1 − A), else G, and B = exp(ν ln cos ϑ) · G
//!   with ln cos ϑ = [ϑ > π/4] ln q − ln(1 + q²)/2 (never the ln of a rounded cos ϑ, whose
//!   relative error ν would multiply; then A = 1 − B). Interpolating G instead of B keeps B's
//!   relative accuracy in the tail: B ∝ ψ^ν near ψ = 0, which no cubic follows relatively (for
//!   ν < 2 not even absolutely: A′ has a cusp at π/2), while G is smooth on (0, π/2] (H_ν is
//!   analytic for x < 1). Splitting at A = 1/2, not at ϑ = π/4, matters for large ν: B is
//!   already ~1e-16 at ϑ = π/4 for ν = 100. Measured (`tests/it/student_t.rs`): |A error| ≤ 1.4e-7
//!   for 1 ≤ ν ≤ 1000 (1.5e-6 at ν = 1e4: the Hermite step against A's width 1/√ν, ∝ ν²);
//!   1 − A² relative error ≤ 2.1e-6 while 1 − A² ≥ 1e-4 and ≤ 1.9e-5 down to 1e-30 (rounding of
//!   ν ln cos ϑ, an error ∝ |ln B|).
//!
//! Inputs: |z|/√ν below 2^-100 counts as 0 (then |A| < 2^-100 K_ν) and above 2^100 as ∞ (then
//! B < 2^-100ν); B below e^-80 · G and results below the smallest normal f32 are flushed to 0, so
//! no subnormal is ever produced and devices that flush subnormals agree bit for bit. A, B and
//! 1 − A² are clamped to [0, 1]. NaN in gives NaN out. On lavapipe the WGSL twin is
//! bit-identical; `3.0 * dv − 2.0 * d0` had to become sums there (the driver rewrites it).
//!
//! # Sampling ([`student_t`], docs/heavy-tails.md)
//! Bailey's polar method (R. W. Bailey, "Polar generation of random variates with the
//! t-distribution", Math. Comp. 62 (1994) 779–781): for (U, V) uniform in the unit disk and
//! W = U² + V², T = U √(ν (W^{−2/ν} − 1) / W) ~ t_ν. A uniform point of the disk is
//! (√W cos Θ, √W sin Θ) with W ~ U(0, 1] and Θ ~ U[0, 2π) independent, so the rejection step is
//! not needed: T = cos Θ · √(ν (e^a − 1)), a = (2/ν)(−ln W). This is Box–Muller's t analogue:
//! ν (e^{(2/ν)(−ln W)} − 1) → −2 ln W as ν → ∞. Θ is the quarter-exact angle of
//! `sincos_quarter` from a third word.
//!
//! **The radius needs 48 bits.** The tails are the point of this noise, and they come from
//! small W: a 24-bit W (as Box–Muller's normals use) caps |T| at √(ν(2^{48/ν} − 1)), 1227 at
//! ν = 2.5, which cuts Var T there by 3.4% (the variance converges like c^{2−ν} in the cap c).
//! So W = [`unit48`](w_hi, w_lo) = (w_hi ≫ 8) 2^-24 + (2 (w_lo ≫ 9) + 1) 2^-48 ∈ [2^-48, 1], a
//! 47-bit grid: the cap becomes √(ν(2^{96/ν} − 1)) (9.5e5 at ν = 2.5, Var T short by 0.12%;
//! 1.7e3 at ν = 5, short by 2e-9), and W < 2^-48 has probability 2^-48. One variate takes three words (radius
//! hi, radius lo, angle), so the noise stream gives one Student-t variate per Threefry block.
//! `exp_f32` clamps at 88, i.e. for a = (2/ν) 48 ln 2 > 88, ν < 0.757: for 0.5 ≤ ν < 0.757
//! ([`T_NU_MIN`]) the few draws with W < e^{−44ν} are capped at √(ν(e^{88} − 1)) ≈ 1.3e19 √ν
//! instead (probability ≤ 2.8e-10 at ν = 0.5).

use crate::math::{atan_f32, exp_f32, expm1_pos, ln_unit, ln1p_unit, sincos_quarter};
use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

/// Intervals of the uniform ϑ grid on [0, π/2] (duplicated in `shaders/shared/tdist.wgsl`,
/// checked by a test).
pub const T_TABLE_INTERVALS: usize = 1024;
/// Words per node of a table: [A, Δϑ A′, G, Δϑ G′].
pub const T_TABLE_NODE_WORDS: usize = 4;
/// Words of one table ([`t_table`]); tables are concatenated, a coordinate's `tab` is its
/// table's first word.
pub const T_TABLE_WORDS: usize = T_TABLE_NODE_WORDS * (T_TABLE_INTERVALS + 1);
/// Integer ν up to this use the closed forms (no table); above, their f32 error would pass the
/// 6e-7 of docs/oracles.md T10 (module docs).
pub const T_CLOSED_MAX_NU: f64 = 30.0;
/// Smallest ν the sampler supports (see the module docs) and the tables accept (the sign SDE
/// itself is specified for ν ≥ 1, docs/heavy-tails.md; for ν < 1 the table flushes 1 − A² < 2^-100ν).
pub const T_NU_MIN: f64 = 0.5;

/// 1/Δϑ = T_TABLE_INTERVALS/(π/2), rounded once.
const T_INV_DTHETA: f32 = (T_TABLE_INTERVALS as f64 / FRAC_PI_2) as f32;
/// 2^-100: smaller q = min(|z|, √ν)/max(|z|, √ν) count as 0.
const Q_MIN: f32 = 7.888_609e-31;
/// ν ln cos ϑ below this gives B = 0 (B < e^-80 G, and the product stays a normal f32).
const LN_POW_MIN: f32 = -80.0;

/// The per-coordinate Student-t constants the kernels read, computed in f64 and rounded once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TParams {
    pub nu: f32,
    pub sqrt_nu: f32,
    pub two_over_nu: f32,
    /// Integer ν ≤ [`T_CLOSED_MAX_NU`]: closed forms, no table (`tab = −1`).
    pub closed: bool,
}

/// The kernel constants of t_ν.
pub fn t_params(nu: f64) -> TParams {
    TParams {
        nu: nu as f32,
        sqrt_nu: nu.sqrt() as f32,
        two_over_nu: (2.0 / nu) as f32,
        closed: nu.fract() == 0.0 && (1.0..=T_CLOSED_MAX_NU).contains(&nu),
    }
}

// ---------------------------------------------------------------------------------------------
// Host side (f64)
// ---------------------------------------------------------------------------------------------

/// ln Γ(x) for x > 0: Stirling's series after shifting x to ≥ 16 (truncation < 3e-16).
fn ln_gamma(x: f64) -> f64 {
    let mut shift = 0.0;
    let mut y = x;
    while y < 16.0 {
        shift += y.ln();
        y += 1.0;
    }
    let r = 1.0 / y;
    let r2 = r * r;
    let series = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0 - r2 / 1188.0))));
    (y - 0.5) * y.ln() - y + 0.5 * (2.0 * PI).ln() + series - shift
}

/// K_ν = 2√ν c_ν = 2Γ((ν+1)/2) / (√π Γ(ν/2)) = 1 / ∫_0^{π/2} cos^{ν−1}φ dφ.
fn k_nu(nu: f64) -> f64 {
    2.0 * (ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu)).exp() / PI.sqrt()
}

/// The t_ν density at 0, c_ν = Γ((ν+1)/2) / (√(νπ) Γ(ν/2)) (docs/heavy-tails.md; c_3 = 2/(π√3),
/// c_4 = 3/8). The sign-SDE's phase-3 stationary loss is η Tr(Σ^{1/2}) / (8c_ν) (docs/heavy-tails.md).
pub fn c_nu(nu: f64) -> f64 {
    k_nu(nu) / (2.0 * nu.sqrt())
}

/// H_ν(x) = Σ_j a_j x^j/(ν+2j) and its derivative, for 0 ≤ x ≤ 1/2 (to f64 rounding).
fn h_series(nu: f64, x: f64) -> (f64, f64) {
    let (mut a, mut h, mut dh) = (1.0f64, 1.0 / nu, 0.0f64);
    let mut j = 0.0f64;
    loop {
        j += 1.0;
        // a_j x^{j−1}, so that the derivative term needs no division by x.
        a *= (2.0 * j - 1.0) / (2.0 * j);
        let d = a * j / (nu + 2.0 * j);
        let t = a * x / (nu + 2.0 * j);
        h += t;
        dh += d;
        a *= x;
        if t <= 1e-18 * h && d * x <= 1e-18 * dh.max(1e-300) {
            return (h, dh);
        }
    }
}

/// 8-point Gauss–Legendre quadrature of f over [a, b].
pub(crate) fn gauss8(a: f64, b: f64, f: impl Fn(f64) -> f64) -> f64 {
    const X: [f64; 4] =
        [0.183_434_642_495_649_8, 0.525_532_409_916_329, 0.796_666_477_413_626_7, 0.960_289_856_497_536_3];
    const W: [f64; 4] =
        [0.362_683_783_378_362, 0.313_706_645_877_887_3, 0.222_381_034_453_374_5, 0.101_228_536_290_376_3];
    let (m, r) = (0.5 * (a + b), 0.5 * (b - a));
    let mut s = 0.0;
    for k in 0..4 {
        s += W[k] * (f(m - r * X[k]) + f(m + r * X[k]));
    }
    s * r
}

/// ∫_a^b cos^{ν−1}φ dφ for 0 ≤ a ≤ b ≤ π/4, in panels short against the integrand's width
/// ~1/√ν.
fn cos_pow_integral(nu: f64, a: f64, b: f64) -> f64 {
    let panels = ((b - a) * (1.0 + nu.sqrt()) * 3.0).ceil().max(1.0) as usize;
    let w = (b - a) / panels as f64;
    (0..panels).map(|i| gauss8(a + i as f64 * w, a + (i + 1) as f64 * w, |p| p.cos().powf(nu - 1.0))).sum()
}

/// (P(|T| < |x|), P(|T| > |x|)) = (A, B) for T ~ t_ν, each to ~1e-15 relative, for ν > 0: the
/// series K_ν cos^ν ϑ H_ν(cos²ϑ) for B where ϑ ≥ π/4, Gauss–Legendre integrals of cos^{ν−1}
/// (sums of positive terms) below.
pub fn t_central_tail(x: f64, nu: f64) -> (f64, f64) {
    let k = k_nu(nu);
    let a = x.abs();
    let psi = nu.sqrt().atan2(a);
    if psi <= FRAC_PI_4 {
        let c = psi.sin();
        let b = k * c.powf(nu) * h_series(nu, c * c).0;
        return (1.0 - b, b);
    }
    let theta = a.atan2(nu.sqrt());
    let b_mid = k * 0.5f64.powf(0.5 * nu) * h_series(nu, 0.5).0;
    let cen = k * cos_pow_integral(nu, 0.0, theta);
    let tail = b_mid + k * cos_pow_integral(nu, theta, FRAC_PI_4);
    (cen, tail)
}

/// The t_ν CDF F_ν(x) (f64 reference, ~1e-15 absolute and, for x < 0, relative; ν > 0).
pub fn t_cdf(x: f64, nu: f64) -> f64 {
    if x.is_nan() || nu.is_nan() {
        return f64::NAN;
    }
    let (cen, tail) = t_central_tail(x, nu);
    if x < 0.0 {
        0.5 * tail
    } else if cen <= 0.5 {
        0.5 + 0.5 * cen
    } else {
        1.0 - 0.5 * tail
    }
}

/// The interpolation table of t_ν for [`t_sign_moments`] (docs/heavy-tails.md, layout in the module
/// docs): [`T_TABLE_WORDS`] words, nodes ϑ_n = n (π/2)/[`T_TABLE_INTERVALS`], n = 0..=N, four
/// words each: A_n, Δϑ A′(ϑ_n) = Δϑ K_ν cos^{ν−1}ϑ_n, G_n = B_n / cos^ν ϑ_n, Δϑ G′(ϑ_n).
///
/// A_n: cumulative Gauss–Legendre sums for ϑ_n ≤ π/4, 1 − B_n above. G_n: the series K_ν H_ν
/// where cos²ϑ_n ≤ 1/2, below that the recurrence G_n = G_{n+1} (cos ϑ_{n+1}/cos ϑ_n)^ν +
/// (K_ν/cos ϑ_n) ∫ (cos φ/cos ϑ_n)^{ν−1} over [ϑ_n, ϑ_{n+1}] (positive terms, no underflow of
/// cos^ν). G′ = (ν sin ϑ G − K_ν)/cos ϑ, or the series' derivative −2K_ν cos ϑ sin ϑ H_ν′.
///
/// # Panics
/// If ν < [`T_NU_MIN`] or is not finite (the experiment's validation rejects those first).
pub fn t_table(nu: f64) -> Vec<f32> {
    assert!(nu.is_finite() && nu >= T_NU_MIN, "t_table: nu = {nu} is outside [{T_NU_MIN}, inf)");
    const N: usize = T_TABLE_INTERVALS;
    let dt = FRAC_PI_2 / N as f64;
    let k = k_nu(nu);
    // cos ϑ_n = sin ψ_n and sin ϑ_n = cos ψ_n, ψ_n = (N − n) Δϑ: exact 0 and 1 at the top.
    let cos_n = |n: usize| if n == N { 0.0 } else { ((N - n) as f64 * dt).sin() };
    let sin_n = |n: usize| if n == 0 { 0.0 } else { ((N - n) as f64 * dt).cos() };
    let half = N / 2;
    let mut g = vec![0.0f64; N + 1];
    let mut dg = vec![0.0f64; N + 1];
    for n in half..=N {
        let (c, s) = (cos_n(n), sin_n(n));
        let (h, dh) = h_series(nu, c * c);
        g[n] = k * h;
        dg[n] = -2.0 * k * c * s * dh;
    }
    for n in (0..half).rev() {
        let (c, s) = (cos_n(n), sin_n(n));
        let step = gauss8(n as f64 * dt, (n + 1) as f64 * dt, |p| (p.cos() / c).powf(nu - 1.0));
        g[n] = g[n + 1] * (cos_n(n + 1) / c).powf(nu) + k / c * step;
        dg[n] = (nu * s * g[n] - k) / c;
    }
    let mut out = Vec::with_capacity(T_TABLE_WORDS);
    let mut cum = 0.0f64;
    for n in 0..=N {
        let c = cos_n(n);
        if n > 0 && n <= half {
            cum += k * gauss8((n - 1) as f64 * dt, n as f64 * dt, |p| p.cos().powf(nu - 1.0));
        }
        let a = if n <= half { cum } else { 1.0 - c.powf(nu) * g[n] };
        // At the top cos^{ν−1} is 1 (ν = 1), 0 (ν > 1) or infinite (ν < 1, kept finite: the
        // Hermite value there is then huge, and the B branch is taken).
        let da = (dt * k * c.powf(nu - 1.0)).min(1e30);
        out.extend_from_slice(&[a as f32, da as f32, g[n] as f32, (dt * dg[n]) as f32]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Device twins (f32), bit-identical to shaders/shared/tdist.wgsl
// ---------------------------------------------------------------------------------------------

#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c { a } else { b }
}

/// Subnormal results become 0 (devices may flush them; the twins must agree).
#[inline(always)]
fn flush(v: f32) -> f32 {
    select(v.abs() < f32::MIN_POSITIVE, 0.0, v)
}

/// A uniform in [2^-48, 1] on a 47-bit grid from two words: (hi ≫ 8) 2^-24 + (2 (lo ≫ 9) + 1)
/// 2^-48 (each term exact in f32, the second below 2^-24, the sum rounded once; never 0; the
/// rounding gives exactly 1 with probability 2^-25, where the variate is 0, harmlessly). On
/// [0.5, 1) the f32 sum lies on the 2^-24 lattice; the fine grid matters only near 0.
#[inline(always)]
pub fn unit48(w_hi: u32, w_lo: u32) -> f32 {
    let a = ((w_hi >> 8) as i32) as f32 * (1.0 / 16_777_216.0);
    let b = ((((w_lo >> 9) << 1) | 1) as i32) as f32 * (1.0 / 281_474_976_710_656.0);
    a + b
}

/// One t_ν variate from three random words (Bailey's polar method without rejection, 48-bit
/// radius; module docs).
#[inline(always)]
pub fn student_t<const FMA: bool>(w_hi: u32, w_lo: u32, w_angle: u32, nu: f32, two_over_nu: f32) -> f32 {
    let a = two_over_nu * -ln_unit::<FMA>(unit48(w_hi, w_lo));
    sincos_quarter::<FMA>(w_angle).0 * (nu * expm1_pos::<FMA>(a)).sqrt()
}

/// Cubic Hermite on [0, 1] from values v0, v1 and derivatives d0, d1 (per unit of s).
#[inline(always)]
fn hermite(s: f32, v0: f32, d0: f32, v1: f32, d1: f32) -> f32 {
    // Sums, not 3.0 * dv − 2.0 * d0 (same roundings): lavapipe rewrites that expression and
    // differs in the last bit.
    let dv = v1 - v0;
    let c2 = (dv + dv + dv) - (d0 + d0) - d1;
    let c3 = d0 + d1 - (dv + dv);
    v0 + s * (d0 + s * (c2 + s * c3))
}

/// (A, B) of integer ν by Abramowitz–Stegun 26.7.3/26.7.4 (module docs).
#[inline(always)]
fn t_closed(nu: f32, theta: f32, psi: f32, s: f32, x: f32, sc: f32) -> (f32, f32) {
    let n = nu as u32;
    let odd = n & 1;
    let kk = n >> 1;
    // m = P − 1 = x r_1 (1 + x r_2 (1 + ⋯ (1 + x r_{kk−1}))), r_k = (2k−1+odd)/(2k+odd), nested
    // from the inside: each level's rounding is damped by the factors outside it (a forward
    // sum of the terms accumulates kk roundings).
    let mut m = 0.0f32;
    for k in (1..kk).rev() {
        let num = (2 * k - 1 + odd) as f32;
        m = (x * (num / (num + 1.0))) * (1.0 + m);
    }
    let p = select(kk >= 1, 1.0 + m, 0.0);
    let scp = sc * p;
    let frac_2_pi = std::f32::consts::FRAC_2_PI;
    let cen_odd = (theta + scp) * frac_2_pi;
    let tail_odd = (psi - scp) * frac_2_pi;
    let cen_even = s + s * m;
    let tail_even = x / (1.0 + s) - s * m;
    let is_odd = odd == 1;
    (select(is_odd, cen_odd, cen_even), select(is_odd, tail_odd, tail_even))
}

/// (A, B) from the table at word `tab` (module docs): A by Hermite where the interval's upper
/// node has A ≤ 1/2, else B = exp(ν ln cos ϑ) G with ln cos ϑ = [ϑ > π/4] ln q − ln(1 + q²)/2
/// (not ln of a rounded cos ϑ, whose relative error ν would multiply).
#[inline(always)]
fn t_tabulated<const FMA: bool>(nu: f32, theta: f32, q: f32, low: bool, tab: usize, table: &[f32]) -> (f32, f32) {
    let u = theta * T_INV_DTHETA;
    let n = (u.floor() as u32).min(T_TABLE_INTERVALS as u32 - 1);
    let s = u - n as f32;
    let i = tab + T_TABLE_NODE_WORDS * n as usize;
    let w = &table[i..i + 2 * T_TABLE_NODE_WORDS];
    let cen = hermite(s, w[0], w[1], w[4], w[5]);
    let g = hermite(s, w[2], w[3], w[6], w[7]);
    let positive = low || q > 0.0;
    let ln_cos = ln_unit::<FMA>(select(positive && !low, q, 1.0)) - 0.5 * ln1p_unit::<FMA>(q * q);
    let lp = nu * ln_cos;
    let tail = select(positive && lp >= LN_POW_MIN, exp_f32::<FMA>(lp) * g, 0.0);
    let use_cen = w[4] <= 0.5;
    (select(use_cen, cen, 1.0 - tail), select(use_cen, 1.0 - cen, tail))
}

/// (A, 1 − A²) for the sign SDE with t_ν noise at z = ∇f/s: A = 2F_ν(z) − 1 = E sign(z + T)
/// (odd in z), 1 − A² = Var sign(z + T) = (1 − |A|)(1 + |A|) ≥ 0 (module docs).
///
/// `tab < 0`: closed forms for integer ν (`table` is not read). `tab ≥ 0`: the word offset of
/// this coordinate's [`t_table`] inside `table` (the concatenated tables; exact as f32 below
/// 2^24 words).
#[inline(always)]
pub fn t_sign_moments<const FMA: bool>(z: f32, nu: f32, sqrt_nu: f32, tab: f32, table: &[f32]) -> (f32, f32) {
    let a = z.abs();
    let low = a <= sqrt_nu;
    let q = select(low, a, sqrt_nu) / select(low, sqrt_nu, a);
    let q = select(q < Q_MIN, 0.0, q);
    // One rounding each for x = cos²ϑ and sin ϑ cos ϑ = q/(1 + q²): the closed forms' sums
    // in x are sensitive to it (x dP/dx ≈ ν/3 near the median for even ν).
    let qq = q * q;
    let t = 1.0 + qq;
    let h = t.sqrt();
    let sin_t = select(low, q / h, 1.0 / h);
    let x = select(low, 1.0 / t, qq / t);
    let sc = q / t;
    let alpha = atan_f32::<FMA>(q);
    let theta = select(low, alpha, std::f32::consts::FRAC_PI_2 - alpha);
    let psi = select(low, std::f32::consts::FRAC_PI_2 - alpha, alpha);
    let (cen, tail) = if tab < 0.0 {
        t_closed(nu, theta, psi, sin_t, x, sc)
    } else {
        t_tabulated::<FMA>(nu, theta, q, low, tab as usize, table)
    };
    let cen = select(cen > 1.0, 1.0, select(cen < 0.0, 0.0, cen));
    let tail = select(tail > 1.0, 1.0, select(tail < 0.0, 0.0, tail));
    // (1 − |A|)(1 + |A|) ≤ 1, but rounded factors (B = 1 at tiny |z|) can exceed it.
    let oms = tail * (1.0 + cen);
    if z.is_nan() {
        // NaN in, NaN out (the shader says so explicitly: drivers may resolve NaN compares
        // either way).
        return (z, z);
    }
    (flush(select(z < 0.0, -cen, cen)), flush(select(oms > 1.0, 1.0, oms)))
}
