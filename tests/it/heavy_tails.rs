//! Student-t gradient noise (docs/heavy-tails.md) in the SGD-type models and the S10 comparison of
//! DSignSGD with DCSGD under heavy tails (docs/heavy-tails.md, docs/oracles.md S10), on every engine.
//!
//! **The sampler's law.** The discrete optimizers draw T by Bailey's method as documented in
//! `src/noise.rs`: T = cos Θ · √(ν(W^{−2/ν} − 1)), Θ uniform, W = `unit48` = (w_hi ≫ 8) 2^-24 +
//! (2(w_lo ≫ 9) + 1) 2^-48: uniform on [2^-24, 1) (to f32 rounding, relative 6e-8) plus, with
//! probability 2^-24, the fine grid W_j = (2j+1) 2^-48, j < 2^23, each point with probability
//! 2^-47. So |T| ≤ √(ν(2^{96/ν} − 1)) (9.52e5 at ν = 2.5, 1.14e5 at ν = 3, 1.74e3 at ν = 5) and
//! every moment is finite. The oracles integrate this exact law ([`sampler_tail`]: quadrature on
//! the continuous part, the fine grid summed). Its variance is 0.122% below ν/(ν−2) at ν = 2.5,
//! 1.4e-5 at ν = 3, 2e-9 at ν = 5, and 2.14e5 (not ∞) at ν = 1.5; P(|T| > t) is the t-law's to
//! 1e-10 while (1 + t²/ν)^{−ν/2} > 10 · 2^-24 (|T| < 487 at ν = 2.5; at ν = 2.5 it is 8e-12 off
//! at |T| = 1e3, 2e-8 at 1e4, 2e-5 at 1e5, 7.5e-4 at 3e5). Oracles for the discrete optimizers
//! use the exact variance ([`sampler_var`]); the t-law ratio is printed. The SDEs driven by the
//! noise covariance use ν/(ν−2) itself.
//!
//! **Heavy-tail tolerance** (DCSGD, ν ≤ 4: E T⁴ is infinite for the t-law and huge for the
//! sampler, kurtosis 1.35e8 at ν = 2.5 and 1.07e5 at ν = 3, almost all of it from the fine grid's
//! 2^-24 of probability; 8.98 at ν = 5, the t-law's 9). The time-averaged loss is then dominated,
//! beyond its Gaussian part, by single large draws: a kept draw T on coordinate j adds
//! e_j T = (η/N)(d/k)σ_j T to x_j, whose square then decays by a random factor of mean q1_j per
//! step (q1_j = (1−ηh_j)² + η²ωh_j²/N, the compression noise included) and contributes c_j Z T²
//! to the estimate, c_j = ½h_j e_j²/((1−q1_j) P W) (W averaging steps, P paths), with E Z = 1 and
//! E Z² = κ_j from the random decay and the snapshot phase (computed in [`dcsgd_student_t`]);
//! coordinate j receives M_j = P W N k/d such draws, and Σ_j M_j c_j Var T is the T3 loss. Two
//! effects make the batch SE (from 32 batches) unreliable, and both are bounded from the
//! sampler's exact law ([`heavy_tail_allowance`]):
//! * a run typically holds none of the draws whose expected count is below one, so it falls short
//!   of the mean by about δ = Σ_j M_j c_j E[T²; c_j T² > y*], where Σ_j M_j P(c_j T² > y*) = 1;
//! * below y*, the truncated sum of these non-negative terms has lower-tail deviations bounded by
//!   Maurer's inequality with proxy variance s² = Σ_j M_j c_j² κ_j E[T⁴; c_j T² ≤ y*], whatever
//!   the batch SE says (a run without large draws has a small batch SE and a low estimate).
//!
//! Draws above y* that do occur move the estimate up by their contribution y and the batch SE by
//! ≈ y, so z batch SE covers them. Tolerance: z · max(batch SE, √(s² + Gaussian part²)) + δ,
//! z = [`Z::ONE`].
//! For the S10 sizes (y* from the exact law, not the cap: the threshold draws are |T| ≈ 660–4200
//! at ν = 2.5, where the 48-bit sampler is the t-law), δ/μ = 4.96%, 0.74%, 0.02% and the model SE
//! 1.86%, 0.62%, 0.17% at ν = 2.5, 3, 5, so the tolerance is at least 12.4%, 3.2% and 0.71% of
//! the loss (the 24-bit sampler's cap at |T| = 1227 had kept δ at 1.86% for ν = 2.5). That still
//! separates ν = 2.5 from ν = 3 (5/3 of its loss). Check by an independent emulation of exactly
//! these runs (f64, its own xoshiro256++ stream, the same law of W and Θ, rand-k, 8192 paths,
//! η = 0.02, 32 batches of 256 paths): over 100 replicates at ν = 2.5 the median error was −3.75%
//! of the T3 value (the mean +3.7% ± 5.0%, one replicate +488% with batch SE 492%), the
//! batch-SE-only rule (4 SE) failed in 21 (z down to −8.1: runs without large draws, batch SE
//! 1.1%, estimate 7.9% low), and the largest |error|/tolerance of this rule was 0.64; over 60
//! replicates at ν = 3: median −0.40%, mean −0.05% ± 0.18%, z from −4.25 to 1.4 (two below −4),
//! largest |error|/tolerance 0.58; over 40 at ν = 5: mean −0.01% ± 0.03%, z from −2.4 to 3.1,
//! largest |error|/tolerance 0.76.

use crate::common;
use crate::tolerance::{Tolerance, Z};

use common::{exp, per_engine, run};
use optsde::noise::t_cdf;
use optsde::plan::Engine;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

const H: [f64; 4] = [1.0, 2.0, 5.0, 10.0];
const SCALE: [f64; 4] = [1.0, 2.0, 0.5, 3.0];

/// c_ν = Γ((ν+1)/2)/(√(νπ) Γ(ν/2)), the t_ν density at 0 (docs/heavy-tails.md).
fn c_nu(nu: f64) -> f64 {
    (ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu)).exp() / (nu * std::f64::consts::PI).sqrt()
}

/// The sampler's radius W = `unit48` (module docs): uniform on [2^-24, 1) (density 1), plus the
/// fine grid W_j = (2j+1) 2^-48, j < 2^23, each point with probability 2^-47 — its spacing, so
/// the grid's sum is the midpoint rule of ∫_0^{2^-24} with 2^23 panels.
const A24: f64 = 1.0 / 16_777_216.0;
const FINE: u64 = 1 << 23;
const H47: f64 = 1.0 / 140_737_488_355_328.0;
fn fine_w(j: u64) -> f64 {
    (2 * j + 1) as f64 / 281_474_976_710_656.0
}
/// Fine-grid points summed exactly at its bottom and just below w_max (or its top).
const EXACT: u64 = 4096;

/// 8-point Gauss–Legendre on [−1, 1] (nodes ±x_k).
const GL_X: [f64; 4] =
    [0.183_434_642_495_649_8, 0.525_532_409_916_329, 0.796_666_477_413_626_7, 0.960_289_856_497_536_3];
const GL_W: [f64; 4] =
    [0.362_683_783_378_362, 0.313_706_645_877_887_3, 0.222_381_034_453_374_5, 0.101_228_536_290_376_3];

/// [P(|T| > t), E[T²; |T| > t], E[T⁴; |T| > t]] given the radius R = √(ν(W^{−2/ν} − 1)), with W
/// given as d = ln(w_max/W) ≥ 0, w_max = (1 + t²/ν)^{−ν/2} the W at which R = t. |cos Θ| > t/R
/// holds on a fraction (2/π)φ of angles, φ = atan(√(R² − t²)/t), on which E[cos²Θ; ·] =
/// (φ + sin φ cos φ)/π and E[cos⁴Θ; ·] = (2/π)(3φ/8 + sin 2φ/4 + sin 4φ/32) (t = 0: 1, R²/2, 3R⁴/8).
fn tail_given_radius(nu: f64, t: f64, d: f64) -> [f64; 3] {
    // R² − t² = ν(W^{−2/ν} − w_max^{−2/ν}) = (ν + t²)(e^{2d/ν} − 1): no cancellation near R = t.
    let excess = (nu + t * t) * (2.0 * d / nu).exp_m1();
    let r2 = t * t + excess;
    let phi = excess.sqrt().atan2(t);
    [
        2.0 / PI * phi,
        r2 * (phi + phi.sin() * phi.cos()) / PI,
        r2 * r2 * 2.0 / PI * (0.375 * phi + (2.0 * phi).sin() / 4.0 + (4.0 * phi).sin() / 32.0),
    ]
}

fn add3(acc: &mut [f64; 3], v: [f64; 3], weight: f64) {
    acc.iter_mut().zip(v).for_each(|(a, v)| *a += weight * v);
}

/// ∫ of [`tail_given_radius`] dW over W ∈ [w_max e^{−d1}, w_max e^{−d0}] (0 ≤ d0 ≤ d1), in
/// s = √d: dW = 2s w_max e^{−s²} ds. The integrand is smooth in s: φ is an odd analytic function
/// of s at the threshold s = 0 (where it has a square-root kink in W), and far from it the
/// powers of W are Gaussians e^{(2k/ν − 1)s²}. Composite 8-point Gauss–Legendre, panels of
/// width ≤ 0.05/refine in s (refine = 2 for the doubling check).
fn tail_integral(nu: f64, t: f64, w_max: f64, d0: f64, d1: f64, refine: u32) -> [f64; 3] {
    let (s0, s1) = (d0.sqrt(), d1.sqrt());
    let panels = ((s1 - s0) / 0.05).ceil().max(1.0) as u32 * refine;
    let width = (s1 - s0) / f64::from(panels);
    let mut acc = [0.0; 3];
    for p in 0..panels {
        let mid = s0 + (f64::from(p) + 0.5) * width;
        for k in 0..4 {
            for s in [mid - 0.5 * width * GL_X[k], mid + 0.5 * width * GL_X[k]] {
                let jac = 2.0 * s * w_max * (-s * s).exp();
                add3(&mut acc, tail_given_radius(nu, t, s * s), GL_W[k] * 0.5 * width * jac);
            }
        }
    }
    acc
}

/// [P(|T| > t), E[T²; |T| > t], E[T⁴; |T| > t]] of the sampler's exact law (t ≥ 0): only
/// W < w_max has R > t. Continuous part: [`tail_integral`] over [2^-24, w_max). Fine grid (the
/// n points below w_max): exact sums over its lowest [`EXACT`] points (where W^{−2k/ν} varies
/// on the scale of the spacing h = 2^-47, and its sum is not an integral: for k = 2, ν < 4 it
/// dominates E T⁴) and its top [`EXACT`] (the kink at w_max, or the grid's top); in between the
/// midpoint sum is ∫ − (h²/24)[f′] + (7h⁴/5760)[f‴] (Euler–Maclaurin; f′ by central
/// differences), whose neglected term is ~(k/j)⁴/5760 ≲ 1e-17 of the local terms at j ≥ 4096.
/// Checked in [`sampler_law_oracle_is_exact`] against brute-force sums over every grid point
/// (≤ 1e-10) and by doubling the quadrature (≤ 1e-12).
fn sampler_tail_refined(nu: f64, t: f64, refine: u32) -> [f64; 3] {
    let u_max = -0.5 * nu * (t * t / nu).ln_1p();
    let w_max = u_max.exp();
    let d = |w: f64| u_max - w.ln();
    let f = |w: f64| tail_given_radius(nu, t, d(w));
    let mut acc = [0.0; 3];
    if w_max > A24 {
        add3(&mut acc, tail_integral(nu, t, w_max, 0.0, d(A24), refine), 1.0);
    }
    // W_j < w_max ⟺ j < (w_max 2^48 − 1)/2.
    let n = if w_max >= A24 { FINE } else { ((2.0 * w_max / H47 - 1.0) * 0.5).ceil().max(0.0) as u64 };
    let n = n.min(FINE);
    if n <= 2 * EXACT {
        (0..n).for_each(|j| add3(&mut acc, f(fine_w(j)), H47));
    } else {
        (0..EXACT).chain(n - EXACT..n).for_each(|j| add3(&mut acc, f(fine_w(j)), H47));
        let (w0, w1) = (EXACT as f64 * H47, (n - EXACT) as f64 * H47);
        add3(&mut acc, tail_integral(nu, t, w_max, d(w1), d(w0), refine), 1.0);
        let df = |w: f64| {
            let (a, b) = (f(w + H47), f(w - H47));
            [0, 1, 2].map(|k| (a[k] - b[k]) / (2.0 * H47))
        };
        let (g1, g0) = (df(w1), df(w0));
        add3(&mut acc, [0, 1, 2].map(|k| g1[k] - g0[k]), -H47 * H47 / 24.0);
    }
    acc
}

/// P(|T| > t), E[T²; |T| > t] and E[T⁴; |T| > t] of the sampler (t ≥ 0; [`sampler_tail_refined`]).
fn sampler_tail(nu: f64, t: f64) -> (f64, f64, f64) {
    let [p, e2, e4] = sampler_tail_refined(nu, t, 1);
    (p, e2, e4)
}

/// E T² and E T⁴ of the sampler: the tail quantities at t = 0.
fn sampler_moments(nu: f64) -> (f64, f64) {
    let (_, e2, e4) = sampler_tail(nu, 0.0);
    (e2, e4)
}

fn sampler_var(nu: f64) -> f64 {
    sampler_moments(nu).0
}

/// The oracle of the sampler's law against independent computations: E T², E T⁴ against the
/// closed forms of the continuous part (ν ∫_b^1 (W^{−2/ν} − 1) dW etc., b = 2^-24) plus a
/// brute-force sum over all 2^23 fine-grid points; the tail quantities with w_max inside the
/// fine grid against a brute-force sum over its points below w_max; the quadrature against its
/// doubling; P(|T| > t) against the t-law (`optsde::noise::t_cdf`) where the fine grid is far
/// below w_max (there the law differs from t_ν only by the midpoint rule of a bounded integrand
/// on [0, 2^-24), ~h^{1+1/ν}). Prints the derived numbers the module docs quote.
#[test]
fn sampler_law_oracle_is_exact() {
    for nu in [2.5, 3.0, 5.0] {
        let (m2, m4) = sampler_moments(nu);
        let (mut s2, mut s4) = (0.0, 0.0);
        for j in 0..FINE {
            let g = nu * (-(2.0 / nu) * fine_w(j).ln()).exp_m1();
            s2 += g;
            s4 += g * g;
        }
        let (b, beta) = (A24, 2.0 / nu);
        let int = |e: f64| (1.0 - b.powf(1.0 - e)) / (1.0 - e);
        let c2 = nu * (int(beta) - (1.0 - b));
        let c4 = nu * nu * (int(2.0 * beta) - 2.0 * int(beta) + (1.0 - b));
        let (b2, b4) = (0.5 * (c2 + H47 * s2), 0.375 * (c4 + H47 * s4));
        let [_, d2, d4] = sampler_tail_refined(nu, 0.0, 2);
        let law = nu / (nu - 2.0);
        let cap = (nu * (2f64.powf(96.0 / nu) - 1.0)).sqrt();
        eprintln!(
            "ν = {nu}: Var T = {m2:.9} (t-law {law:.6}, {:+.3e} relative), E T⁴ = {m4:.5e} (kurtosis {:.4e}), \
             cap {cap:.4e}; brute force {:.1e}, {:.1e}; doubling {:.1e}, {:.1e}",
            m2 / law - 1.0,
            m4 / (m2 * m2),
            b2 / m2 - 1.0,
            b4 / m4 - 1.0,
            d2 / m2 - 1.0,
            d4 / m4 - 1.0
        );
        assert!((b2 / m2 - 1.0).abs() < 1e-12 && (b4 / m4 - 1.0).abs() < 1e-10, "ν = {nu}: moments vs brute force");
        assert!((d2 / m2 - 1.0).abs() < 1e-12 && (d4 / m4 - 1.0).abs() < 1e-12, "ν = {nu}: moments vs doubling");
        assert!((sampler_tail(nu, 0.0).0 - 1.0).abs() < 1e-13, "total probability");
    }
    // Tails: w_max inside the fine grid (brute force), and far above it (t-law).
    for (nu, t) in [(2.5f64, 1e4f64), (3.0, 1e3), (5.0, 100.0), (1.5, 3e5), (2.5, 3e5)] {
        let u_max = -0.5 * nu * (t * t / nu).ln_1p();
        let mut brute = [0.0; 3];
        let mut j = 0;
        while j < FINE && fine_w(j) < u_max.exp() {
            add3(&mut brute, tail_given_radius(nu, t, u_max - fine_w(j).ln()), H47);
            j += 1;
        }
        let fast = sampler_tail_refined(nu, t, 1);
        let dbl = sampler_tail_refined(nu, t, 2);
        for k in 0..3 {
            assert!((fast[k] / brute[k] - 1.0).abs() < 1e-10, "ν = {nu}, t = {t}: {fast:?} vs brute {brute:?}");
            assert!((fast[k] / dbl[k] - 1.0).abs() < 1e-12, "ν = {nu}, t = {t}: {fast:?} vs doubled {dbl:?}");
        }
    }
    for nu in [1.5, 2.5, 3.0, 5.0] {
        for t in [0.5, 3.0, 30.0, 300.0, 1600.0] {
            let (p, law) = (sampler_tail(nu, t).0, 2.0 * t_cdf(-t, nu));
            let dbl = sampler_tail_refined(nu, t, 2)[0];
            if (1.0 + t * t / nu).powf(-0.5 * nu) > 10.0 * A24 {
                assert!((p / law - 1.0).abs() < 1e-10, "ν = {nu}, t = {t}: P(|T| > t) {p:e} vs t-law {law:e}");
            }
            assert!((p / dbl - 1.0).abs() < 1e-12, "ν = {nu}, t = {t}: P doubling");
        }
    }
}

/// The heavy-tail allowances of the module docs for a sum of contributions c_j Z T² from M_j draws
/// each (Z ≥ 0 a random factor with E Z = 1, E Z² = κ_j), `terms` = (M_j, c_j, κ_j): returns
/// (δ, s) with δ = Σ_j M_j c_j E[T²; c_j T² > y*] the typical shortfall,
/// Σ_j M_j P(c_j T² > y*) = 1, and s² = Σ_j M_j c_j² κ_j E[T⁴; c_j T² ≤ y*] the proxy variance of
/// the sum truncated at y* (Maurer's one-sided bound for non-negative terms:
/// P(truncated sum < its mean − z s) ≤ e^{−z²/2}).
fn heavy_tail_allowance(nu: f64, terms: &[(f64, f64, f64)]) -> (f64, f64) {
    let (_, m4) = sampler_moments(nu);
    let count = |y: f64| -> f64 { terms.iter().map(|&(m, c, _)| m * sampler_tail(nu, (y / c).sqrt()).0).sum() };
    let c_max = terms.iter().map(|t| t.1).fold(0.0, f64::max);
    // Bisect ln y between thresholds t = 5 and beyond every cap (count 0).
    let (mut lo, mut hi) = ((25.0 * c_max).ln(), (1e14 * c_max).ln());
    assert!(count(lo.exp()) > 1.0, "the run must be large enough to hold draws beyond |T| = 5");
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if count(mid.exp()) > 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let y = lo.exp();
    let (mut delta, mut s2) = (0.0, 0.0);
    for &(m, c, kappa) in terms {
        let (_, e2, e4) = sampler_tail(nu, (y / c).sqrt());
        delta += m * c * e2;
        // E[T⁴; |T| ≤ t] = E T⁴ − E[T⁴; |T| > t]: a difference of ~3e9 and ~3e9 at ν = 2.5 leaving
        // ~4e4, exact to ~1e-9 since both are accurate to ~1e-14 relative (brute-force check).
        s2 += m * c * c * kappa * (m4 - e4);
    }
    (delta, s2.sqrt())
}

/// docs/compressed.md item 2 (T3), with σ² the noise variance: η(1+ω)σ²/(h(2N − ηh(N+ω))).
fn t3(h: f64, var: f64, eta: f64, n: f64, omega: f64) -> f64 {
    eta * (1.0 + omega) * var / (h * (2.0 * n - eta * h * (n + omega)))
}

fn student_exp(model: &str, extra: &str, nu: f64, eta: f64, paths: u64, steps: u64, start: u64, seed: u64) -> String {
    format!(
        "[model]\nname = '{model}'\neta = {eta:e}\n{extra}\n[objective]\nname = 'quadratic'\n\
         h = [1.0, 2.0, 5.0, 10.0]\n[noise]\nname = 'student-t'\nnu = {nu:?}\nscale = [1.0, 2.0, 0.5, 3.0]\n\
         [run]\npaths = {paths}\nsteps = {steps}\nseed = {seed}\n[record]\nevery = {}\n\
         [stationary]\nstart = {start}\nevery = 10\nbins = 8\nrange = [-4.0, 4.0]\n",
        steps / 5
    )
}

/// docs/compressed.md item 6 for the SGD-type models: σ_j² → scale_j² ν/(ν−2). ν = 5 (finite fourth
/// moment, so the Gaussian SE reasoning of docs/statistics.md holds). `sgd` (exact discrete, docs/sgd.md:
/// E x_j² = η Var Z_j/(h_j(2 − ηh_j)), with the sampler's variance), `dsgd` with N = 4 (same
/// divided by N), and at r = 1 (exact EM, docs/objective-and-noise.md; Gaussian increments with the t-law's
/// variance ν/(ν−2)) `sgd-sde` and `dcsgd-sde` with rand-k, N = 4, ω = 3 (T4 at Δt = η equals
/// T3); all are T3 with their (N, ω), ω = 0 without compression. η = 0.01; burn-in 400 steps =
/// 4/(ηh_min); 600 averaging steps (T = 6): design relative SE of E x_i² √(2/(P h_i T)), 0.64%
/// for x_0 (z × design SE ≤ 3% asserted); [`Z::MANY`] (32 batches, 5 checks per run). The guard is on the design, not on the batch SE: that estimate has a
/// relative sd of 1/√62 = 13%, and the true SE of x_0 (0.65%: x's excess kurtosis is
/// 6/(ν−4) · (1 − a²)/(1 + a²) = 0.06, a = 1 − ηh) left 3% at 4.5 batch SE with only 2.6% of
/// margin (the 48-bit sampler's stream gave 0.680%). The batch SE must stay below 2× the design
/// SE: the non-Gaussian factor √(1 + 0.63/2) = 1.15 and the snapshot-spacing factor
/// √((1 + a^20)/(1 − a^20) · 10ηh) = 1.13 (both worst at h = 10) times the estimate's 4-sd excursion
/// 1 + 4/√62 = 1.51 give 1.96 (measured: 0.90–1.45).
fn sgd_type_models_use_the_student_t_variance(name: &str, e: &mut dyn Engine) {
    let (nu, eta) = (5.0, 0.01);
    let v_sampler = sampler_var(nu);
    let v_law = nu / (nu - 2.0);
    eprintln!("ν = {nu}: sampler Var T = {v_sampler:.6}, t-law {v_law:.6}");
    let t0 = std::time::Instant::now();
    for (model, extra, n, omega, var) in [
        ("sgd", "", 1.0, 0.0, v_sampler),
        ("dsgd", "agents = 4", 4.0, 0.0, v_sampler),
        ("sgd-sde", "", 1.0, 0.0, v_law),
        ("dcsgd-sde", DC_EXTRA, 4.0, 3.0, v_law),
    ] {
        let x = exp(&student_exp(model, extra, nu, eta, 8192, 1000, 400, 3));
        let r = run(&x, e).unwrap();
        let st = &r.stationary;
        let want: Vec<f64> = (0..4).map(|i| t3(H[i], SCALE[i].powi(2) * var, eta, n, omega)).collect();
        for i in 0..4 {
            let se = st.second_moment_se[i];
            let design = (2.0 / (8192.0 * H[i] * 6.0f64)).sqrt();
            assert!(Z::MANY.0 * design <= 0.03, "x{i}: run too small ({design:.3e} relative SE)");
            assert!(se <= 2.0 * design * want[i], "{name} {model} x{i}: batch SE {se:.3e} > 2 × design SE");
            let what = format!("{name} {model} ν={nu} E x{i}^2");
            Tolerance::se(Z::MANY, se).assert(&what, st.second_moment[i], want[i]);
        }
        let loss: f64 = (0..4).map(|i| 0.5 * H[i] * want[i]).sum();
        Tolerance::se(Z::MANY, st.loss_se).assert(&format!("{name} {model} ν={nu} loss"), st.loss_mean, loss);
    }
    eprintln!("{name}: {:.1} s", t0.elapsed().as_secs_f64());
}
per_engine!(sgd_type_models_use_the_student_t_variance);

/// The exact stationary E x² of the 1-D discrete DSignSGD x' = x − (η/N) Σ_a sign(hx + sT_a),
/// x0 = 0: x stays on the lattice (η/N)ℤ and moves by (2J − N) lattice units, J ~ Binomial(N, q(x))
/// the number of negative signs, q(x) = P(hx + sT < 0) = F(−hx/s). This birth–death-type chain is
/// solved by (lazy) power iteration on ±14 phase-3 standard deviations (boundary mass checked);
/// no linearisation is involved, so it is exact up to the truncation of the lattice.
fn dsignsgd_lattice(h: f64, s: f64, eta: f64, n: u32, c: f64, cdf: &dyn Fn(f64) -> f64) -> f64 {
    let u = eta / f64::from(n);
    let sd = (eta * s / (4.0 * f64::from(n) * c * h)).sqrt();
    let l = (14.0 * sd / u).ceil() as i64 + i64::from(n);
    let len = (2 * l + 1) as usize;
    let xs: Vec<f64> = (0..len).map(|i| (i as i64 - l) as f64 * u).collect();
    // Binomial(N, q) probabilities per lattice point.
    let pj: Vec<Vec<f64>> = xs
        .iter()
        .map(|&x| {
            let q = cdf(-h * x / s);
            (0..=n)
                .map(|j| {
                    let binom = (0..j).fold(1.0, |b, i| b * f64::from(n - i) / f64::from(i + 1));
                    binom * q.powi(j as i32) * (1.0 - q).powi((n - j) as i32)
                })
                .collect()
        })
        .collect();
    let mut pi = vec![0.0; len];
    pi[l as usize] = 1.0;
    let mut next = vec![0.0; len];
    for it in 0.. {
        next.iter_mut().zip(&pi).for_each(|(a, b)| *a = 0.5 * b);
        for i in 0..len {
            for j in 0..=n as usize {
                let k = (i as i64 + 2 * j as i64 - i64::from(n)).clamp(0, len as i64 - 1) as usize;
                next[k] += 0.5 * pi[i] * pj[i][j];
            }
        }
        let change: f64 = next.iter().zip(&pi).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut pi, &mut next);
        if change < 1e-14 && it > 100 {
            break;
        }
        assert!(it < 10_000_000, "lattice chain did not converge");
    }
    assert!(pi[0] + pi[len - 1] < 1e-12, "lattice too narrow: boundary mass {}", pi[0] + pi[len - 1]);
    xs.iter().zip(&pi).map(|(x, p)| x * x * p).sum()
}

/// Σ_j ½h_j E x_j² of discrete DSignSGD with Student-t scales on the reference quadratic.
fn dsignsgd_loss(nu: f64, eta: f64, n: u32) -> f64 {
    let t = StudentsT::new(0.0, 1.0, nu).unwrap();
    (0..4).map(|i| 0.5 * H[i] * dsignsgd_lattice(H[i], SCALE[i], eta, n, c_nu(nu), &|z| t.cdf(z))).sum()
}

/// The lattice oracle reproduces the Monte Carlo checks of docs/oracles.md at η = 1e-3 within their stated
/// ±0.6% (docs/statistics.md): S7 (Gaussian, N = 4) MC 5.0761e-4, S3 (ν = 3, N = 1) MC 2.2114e-3; and the
/// phase-3 formulas are within 0.3% of it there (docs/statistics.md: linearisation bias ≤ 0.3%).
#[test]
fn dsignsgd_lattice_oracle_reproduces_spec_s3_s7() {
    let gauss = Normal::new(0.0, 1.0).unwrap();
    let c_gauss = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    let s7: f64 =
        (0..4).map(|i| 0.5 * H[i] * dsignsgd_lattice(H[i], SCALE[i], 1e-3, 4, c_gauss, &|z| gauss.cdf(z))).sum();
    let s7_formula = 1e-3 / 16.0 * (std::f64::consts::PI / 2.0).sqrt() * SCALE.iter().sum::<f64>();
    let s3 = dsignsgd_loss(3.0, 1e-3, 1);
    let s3_formula = 1e-3 / (8.0 * c_nu(3.0)) * SCALE.iter().sum::<f64>();
    eprintln!(
        "S7 lattice {s7:.6e} (formula {s7_formula:.6e}, MC 5.0761e-4); \
         S3 lattice {s3:.6e} (formula {s3_formula:.6e}, MC 2.2114e-3)"
    );
    assert!((s7 / 5.0761e-4 - 1.0).abs() < 0.006 && (s7 / s7_formula - 1.0).abs() < 0.003);
    assert!((s3 / 2.2114e-3 - 1.0).abs() < 0.006 && (s3 / s3_formula - 1.0).abs() < 0.003);
    assert!((s3_formula - 2.210568e-3).abs() < 1e-9 && (s7_formula - 5.091589e-4).abs() < 1e-9);
}

/// S10 DSignSGD side: `dsignsgd` (N = 4, η = 0.02, Student-t scales on the reference quadratic)
/// for ν ∈ {2.5, 3, 5}: stationary loss equals the exact lattice value within [`Z::ONE`] SE (the
/// sign of a draw has all moments, so the batch SE is sound for any ν), and the phase-3 formula
/// η/(8Nc_ν) Σ scale_j within as many SE plus the exact gap between formula and lattice (the
/// linearisation and O(aη) discretisation bias at this η, 1.5–3%). Burn-in 350 steps ≥ 5/(a_min η)
/// (a_min = 2c_ν h/σ ≈ 0.72); 550 averaging steps (11 time units): relative SE ≈ 0.35% of the loss.
fn s10_dsignsgd_student_t_matches_exact_discrete(name: &str, e: &mut dyn Engine) {
    let (eta, n) = (0.02, 4u32);
    let cases: Vec<(f64, f64, f64)> = [2.5, 3.0, 5.0]
        .iter()
        .map(|&nu| (nu, dsignsgd_loss(nu, eta, n), eta / (8.0 * f64::from(n) * c_nu(nu)) * SCALE.iter().sum::<f64>()))
        .collect();
    let t0 = std::time::Instant::now();
    for &(nu, lattice, formula) in &cases {
        let x = exp(&student_exp("dsignsgd", "agents = 4", nu, eta, 8192, 900, 350, 17));
        let r = run(&x, e).unwrap();
        assert_eq!(r.diverged, 0);
        let st = &r.stationary;
        let tol = Tolerance::se(Z::ONE, st.loss_se);
        assert!(tol.bound(lattice) < 0.02 * lattice, "{name} ν={nu}: run too small");
        tol.assert(&format!("{name} dsignsgd ν={nu} loss vs exact lattice"), st.loss_mean, lattice);
        let gap = (lattice - formula).abs();
        eprintln!(
            "  ratio to η/(8Nc_ν)Σscale: measured {:.4}, lattice {:.4}",
            st.loss_mean / formula,
            lattice / formula
        );
        tol.bias(gap).assert(&format!("{name} dsignsgd ν={nu} loss vs phase-3 formula"), st.loss_mean, formula);
    }
    eprintln!("{name}: {:.1} s", t0.elapsed().as_secs_f64());
}
per_engine!(s10_dsignsgd_student_t_matches_exact_discrete);

/// The S10 DCSGD experiment: rand-k with d = 4, k = 1 (ω = 3), N = 4, η = 0.02.
const DC_ETA: f64 = 0.02;
const DC_EXTRA: &str = "agents = 4\n[compressor]\nname = 'rand-k'\nk = 1";

/// docs/compressed.md items 1, 2, 6 and S10 for the discrete `dcsgd`: stationary E x_j² is T3 with the
/// noise variance scale_j² Var T (the sampler's; the t-law value is printed). Sizes: burn-in
/// 300 steps = 6/(ηh_min), 700 averaging steps, 8192 paths (32 batches); [`Z::ONE`] plus the
/// heavy-tail shortfall δ of the module docs (for the loss; per coordinate only at ν = 5).
fn dcsgd_student_t(name: &str, e: &mut dyn Engine, nu: f64, seed: u64) {
    let (n, omega, paths, steps, start) = (4.0, 3.0, 8192u64, 1000u64, 300u64);
    let v = sampler_var(nu);
    let want: Vec<f64> = (0..4).map(|i| t3(H[i], SCALE[i].powi(2) * v, DC_ETA, n, omega)).collect();
    let loss: f64 = (0..4).map(|i| 0.5 * H[i] * want[i]).sum();
    let loss_law = loss * (nu / (nu - 2.0)) / v;
    // Heavy-tail terms (M_j, c_j, κ_j) for the loss (module docs): M_j = P W N k/d kept draws on
    // coordinate j. After a draw, x_j² is multiplied each step by Y = (1 − ηh_j S)², S = (d/k)J/N,
    // J ~ Binomial(N, k/d) the agents keeping j; q1 = E Y, q2 = E Y². Summed over the following
    // steps the mean factor is 1/(1 − q1) (so Σ_j M_j c_j Var T is exactly the T3 loss), and the
    // second moment is (1 + 2q1/(1 − q1))/(1 − q2): ratio g_j. Snapshots every 10 steps see the
    // jump after a uniform delay φ ∈ [0, 10): ratio f_j = E q1^{2φ}/(E q1^φ)². κ_j = f_j g_j.
    let win = (steps - start) as f64;
    let terms: Vec<(f64, f64, f64)> = (0..4)
        .map(|i| {
            let e = DC_ETA * 4.0 * SCALE[i] / n;
            let (mut q1, mut q2) = (0.0, 0.0);
            for j in 0..=4i32 {
                let binom = [1.0, 4.0, 6.0, 4.0, 1.0][j as usize];
                let pr = binom * 0.25f64.powi(j) * 0.75f64.powi(4 - j);
                let y = (1.0 - DC_ETA * H[i] * 4.0 * f64::from(j) / n).powi(2);
                q1 += pr * y;
                q2 += pr * y * y;
            }
            let g = (1.0 + 2.0 * q1 / (1.0 - q1)) / (1.0 - q2) * (1.0 - q1).powi(2);
            let mean_phase = |q: f64| (0..10).map(|p| q.powi(p)).sum::<f64>() / 10.0;
            let f = mean_phase(q1 * q1) / mean_phase(q1).powi(2);
            (paths as f64 * win * n / 4.0, 0.5 * H[i] * e * e / ((1.0 - q1) * paths as f64 * win), f * g)
        })
        .collect();
    let total: f64 = terms.iter().map(|(m, c, _)| m * c * v).sum();
    assert!((total / loss - 1.0).abs() < 1e-9, "Σ M c Var T = {total} must be the T3 loss {loss}");
    let (delta, s_tail) = heavy_tail_allowance(nu, &terms);
    // The Gaussian part (docs/statistics.md): Var of the time average of ½h_j x_j² is (½h_j m_j)² 2/(P h_j T).
    let t_units = win * DC_ETA;
    let s_gauss =
        (0..4).map(|i| (0.5 * H[i] * want[i]).powi(2) * 2.0 / (paths as f64 * H[i] * t_units)).sum::<f64>().sqrt();
    let se_model = s_tail.hypot(s_gauss);
    eprintln!(
        "dcsgd ν = {nu}: sampler Var T = {v:.5} (t-law {:.5}); T3 loss {loss:.6e} (t-law {loss_law:.6e}); \
         shortfall δ = {:.2}%, model SE {:.2}%",
        nu / (nu - 2.0),
        100.0 * delta / loss,
        100.0 * se_model / loss
    );
    let t0 = std::time::Instant::now();
    let x = exp(&student_exp("dcsgd", DC_EXTRA, nu, DC_ETA, paths, steps, start, seed));
    let r = run(&x, e).unwrap();
    assert_eq!(r.diverged, 0);
    let st = &r.stationary;
    let se = st.loss_se.max(se_model);
    eprintln!("{name}: batch SE {:.2}%, used {:.2}%", 100.0 * st.loss_se / loss, 100.0 * se / loss);
    Tolerance::se(Z::ONE, se).bias(delta).assert(&format!("{name} dcsgd ν={nu} loss (T3)"), st.loss_mean, loss);
    // The docs/compressed.md formula (t-law variance): the sampler's documented cap is a further bias.
    let cap = loss_law - loss;
    let what = format!("{name} dcsgd ν={nu} loss vs T3 with ν/(ν−2) (cap bias {:.2}%)", 100.0 * cap / loss);
    Tolerance::se(Z::ONE, se).bias(delta + cap).assert(&what, st.loss_mean, loss_law);
    if nu > 4.0 {
        for i in 0..4 {
            let tol = Tolerance::se(Z::ONE, st.second_moment_se[i]);
            assert!(tol.bound(want[i]) <= 0.025 * want[i], "{name} x{i}: run too small");
            tol.assert(&format!("{name} dcsgd ν={nu} E x{i}^2 (T3)"), st.second_moment[i], want[i]);
        }
    }
    eprintln!("{name}: {:.1} s", t0.elapsed().as_secs_f64());
}

fn s10_dcsgd_student_t_nu5(name: &str, e: &mut dyn Engine) {
    dcsgd_student_t(name, e, 5.0, 51);
}
per_engine!(s10_dcsgd_student_t_nu5);

fn s10_dcsgd_student_t_nu3(name: &str, e: &mut dyn Engine) {
    dcsgd_student_t(name, e, 3.0, 52);
}
per_engine!(s10_dcsgd_student_t_nu3);

/// ν = 2.5: infinite fourth moment for the t-law (sampler kurtosis 1.35e8); the loss is 5/3 of
/// ν = 3's and 3× ν = 5's, which the tolerance (4 max(batch SE, model SE 1.86%) + δ 4.96%, at
/// least 12.4%; module docs) still resolves. A run that holds one of the rare huge draws has a
/// batch SE as large as the excess it causes (emulation: +488% with batch SE 492%), so it passes
/// without resolving anything; the derived floor is what a typical run is held to.
fn s10_dcsgd_student_t_nu2_5(name: &str, e: &mut dyn Engine) {
    dcsgd_student_t(name, e, 2.5, 53);
}
per_engine!(s10_dcsgd_student_t_nu2_5);

/// S10 with ν = 1.5 (infinite variance): with a divergence bound b = 50 × the largest stationary
/// sd at ν = 2.5 (T3: √(0.1036) → b = 16.1), DCSGD keeps losing paths: a kept draw on coordinate
/// j jumps x_j by (η/N)(d/k) scale_j T, so a path leaves the bound in a step with probability
/// λ ≈ Σ_j P(|T| > bN/(ηd scale_j)) (one kept draw per coordinate per step on average, the
/// current |x| ≪ b), λ = 3.0979e-4 from the sampler's exact law, the t-law's to 1e-10 (asserted:
/// the thresholds |T| = 268–1610 lie far inside the continuous part of W's law; the 24-bit
/// sampler gave 3.0979e-4 too, its cap 8e4 being far beyond them); the diverged count at step k is
/// Binomial(P, 1 − e^{−λk}). Asserted: it grows at every record, is > 0, the divergence
/// bookkeeping agrees with the records, and each record's count is within [`Z::FAMILY`] binomial
/// sd plus a 15% model allowance (the |x| ≪ b and one-draw approximations) of P(1 − e^{−λk}).
/// DSignSGD with the same ν and bound moves at most η per step, has no path diverge, and its
/// stationary loss matches the exact lattice value ([`Z::ONE`] SE) and η/(8Nc_ν) Σ scale_j (as
/// many SE + the exact formula gap).
fn s10_infinite_variance_dcsgd_diverges_dsignsgd_settles(name: &str, e: &mut dyn Engine) {
    let nu = 1.5;
    let sd25 = (0..4).map(|i| t3(H[i], SCALE[i].powi(2) * 5.0, DC_ETA, 4.0, 3.0).sqrt()).fold(0.0, f64::max);
    let bound = 50.0 * sd25;
    let lambda: f64 = (0..4).map(|i| sampler_tail(nu, bound * 4.0 / (DC_ETA * 4.0 * SCALE[i])).0).sum();
    let lambda_law: f64 = (0..4).map(|i| 2.0 * t_cdf(-bound * 4.0 / (DC_ETA * 4.0 * SCALE[i]), nu)).sum();
    assert!((lambda / lambda_law - 1.0).abs() < 1e-10, "λ = {lambda:e} vs the t-law's {lambda_law:e}");
    let lattice = dsignsgd_loss(nu, DC_ETA, 4);
    let formula = DC_ETA / (8.0 * 4.0 * c_nu(nu)) * SCALE.iter().sum::<f64>();
    eprintln!(
        "ν = 1.5: bound {bound:.3}, λ = {lambda:.5e} per path-step (t-law {lambda_law:.5e}); \
         dsignsgd lattice {lattice:.6e}, formula {formula:.6e}"
    );
    let paths = 4096u64;
    let t0 = std::time::Instant::now();
    let text = student_exp("dcsgd", DC_EXTRA, nu, DC_ETA, paths, 1000, 300, 61)
        .replace("seed = 61", &format!("seed = 61\ndivergence_bound = {bound}"));
    let r = run(&exp(&text), e).unwrap();
    let counts: Vec<(u64, u64)> = r.records.iter().map(|rec| (rec.step, rec.diverged())).collect();
    eprintln!("{name} dcsgd ν=1.5 diverged paths by step: {counts:?}");
    for w in counts.windows(2) {
        assert!(
            w[1].1 > w[0].1,
            "{name}: diverged count must grow between steps {} and {}: {counts:?}",
            w[0].0,
            w[1].0
        );
    }
    let (last_step, last) = *counts.last().unwrap();
    assert!(last > 0);
    assert_eq!(r.diverged, last);
    assert_eq!(r.divergence.n as u64, last, "divergence bookkeeping vs records");
    let first = r.divergence.first.expect("a first divergence step");
    assert!(first >= 1 && first <= counts[1].0, "first divergence {first}");
    assert_eq!(last_step, 1000);
    for &(step, count) in &counts[1..] {
        let pr = 1.0 - (-lambda * step as f64).exp();
        let want = paths as f64 * pr;
        let sd = (paths as f64 * pr * (1.0 - pr)).sqrt();
        let what = format!("{name} dcsgd ν=1.5 diverged paths at step {step}");
        Tolerance::se(Z::FAMILY, sd).bias(0.15 * want).assert(&what, count as f64, want);
    }

    let text = student_exp("dsignsgd", "agents = 4", nu, DC_ETA, 8192, 900, 350, 62)
        .replace("seed = 62", &format!("seed = 62\ndivergence_bound = {bound}"));
    let r = run(&exp(&text), e).unwrap();
    assert_eq!(r.diverged, 0, "{name}: dsignsgd must not diverge");
    assert_eq!(r.divergence.n, 0.0);
    let st = &r.stationary;
    let tol = Tolerance::se(Z::ONE, st.loss_se);
    tol.assert(&format!("{name} dsignsgd ν=1.5 loss vs exact lattice"), st.loss_mean, lattice);
    let what = format!("{name} dsignsgd ν=1.5 loss vs η/(8Nc_ν)Σscale");
    tol.bias((lattice - formula).abs()).assert(&what, st.loss_mean, formula);
    eprintln!("{name}: {:.1} s", t0.elapsed().as_secs_f64());
}
per_engine!(s10_infinite_variance_dcsgd_diverges_dsignsgd_settles);
