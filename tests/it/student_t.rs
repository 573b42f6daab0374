//! Student-t noise (`src/noise.rs`, `shaders/shared/tdist.wgsl`): the sign-SDE drift
//! A = 2F_ν − 1 and diffusion² 1 − A² (docs/heavy-tails.md, docs/oracles.md T10), the sampler
//! (docs/heavy-tails.md), c_ν and the sign-SDE loss oracle (docs/heavy-tails.md), and the GPU kernels
//! against their CPU twins. Failing assertions print the input, actual, expected, difference
//! and tolerance; every accuracy test prints the largest error it found.
//!
//! Tolerances: CPU twin against f64 references within the named accuracy bounds below; GPU
//! against CPU in [`Tolerance::twin`]'s tiers, on hardware within [`GPU_ABS_TOL`] plus the closed
//! forms' conditioning, and the GPU itself within the T10 bounds. The CPU twin's accuracy is
//! checked in both arithmetics (`optsde::cpu::Arith`: fused multiply-adds, the default, and
//! split, lavapipe's); the GPU is compared with the arithmetic of its kind of adapter.

use crate::common;
use crate::tolerance::Tolerance;

use optsde::math::{atan_f32, expm1_pos, ln1p_unit};
use optsde::noise::*;
use optsde::rng::{STREAM_NOISE, block_words};
use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

/// Both arithmetics of the CPU twin: `fma` false (split) and true (fused).
const MODES: [bool; 2] = [false, true];

/// [`t_sign_moments`] with fused (`fma`) or split multiply-adds.
fn moments(fma: bool, z: f32, nu: f32, sqrt_nu: f32, tab: f32, table: &[f32]) -> (f32, f32) {
    if fma {
        t_sign_moments::<true>(z, nu, sqrt_nu, tab, table)
    } else {
        t_sign_moments::<false>(z, nu, sqrt_nu, tab, table)
    }
}

/// [`student_t`] of words (radius hi, radius lo, angle) with fused (`fma`) or split multiply-adds.
fn sample(fma: bool, w: &[u32; 4], t: &TParams) -> f32 {
    if fma {
        student_t::<true>(w[0], w[1], w[2], t.nu, t.two_over_nu)
    } else {
        student_t::<false>(w[0], w[1], w[2], t.nu, t.two_over_nu)
    }
}

/// T10 (docs/oracles.md): |A − (2F_ν − 1)| ≤ 6e-7.
const T10_ABS_TOL: f64 = 6e-7;
/// docs/oracles.md T10's closed-form ν.
const CLOSED_NUS: [f64; 7] = [1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 30.0];
/// Table ν: the non-integer ones of docs/oracles.md T10's extension and 100, plus integers (the table
/// serves any ν ≥ 0.5), ν = 1000 and two ν < 1.
const TABLE_NUS: [f64; 12] = [0.5, 0.7, 1.0, 1.5, 2.5, 3.0, 3.7, 7.3, 30.0, 64.0, 100.0, 1000.0];
/// Table path, relative error of 1 − A² (measured ≤ 2.1e-6 for ν ≤ 1000 while 1 − A² ≥ 1e-4,
/// and ≤ 1.9e-5 down to 1e-30: B = exp(ν ln cos ϑ) G rounds ν ln cos ϑ, an error ∝ |ln B|).
/// For ν < 1 the lower tier is 1e-12: |z|/√ν ≥ 2^100 counts as ∞, flushing B < 2^-100ν.
const TABLE_TAIL_REL_TOL: [(f64, f64); 2] = [(1e-4, 3e-6), (1e-30, 3e-5)];
const TABLE_TAIL_REL_TOL_NU_BELOW_1: [(f64, f64); 2] = [(1e-4, 3e-6), (1e-12, 3e-5)];
/// Closed forms, ν = 1 and 2 (exact complements B = 2ψ/π, 1 − sin ϑ = cos²ϑ/(1 + sin ϑ)):
/// relative error of 1 − A² down to 1e-30 (measured 2.3e-7, 2.6e-7).
const CLOSED_EXACT_TAIL_REL_TOL: f64 = 1e-6;
/// Closed forms, ν ≥ 3: B is a difference of O(ψ) terms, so only the absolute error of 1 − A²
/// is bounded everywhere (measured ≤ 6.9e-7 for ν ≤ 30) and its relative error only while
/// 1 − A² ≥ 1e-2 (measured ≤ 2.7e-5 at ν = 30, ≤ 1.1e-5 for ν ≤ 10).
const CLOSED_TAIL_ABS_TOL: f64 = 1e-6;
const CLOSED_TAIL_REL_TOL: (f64, f64) = (1e-2, 5e-5);
/// GPU against CPU where the adapter is hardware: absolute, on A and 1 − A², plus
/// [`GPU_PER_NU_TOL`] ν for the closed forms' sums (their f32 error grows ≈ 1e-8 ν, module docs
/// of `noise`). Hardware may fuse multiply-adds, divide to 2.5 ulp and take square roots
/// through inverseSqrt (WGSL's precision rules): a few ulp of values ≤ 1, i.e. up to ≈ 5e-7
/// (an H100 differed by 2.4e-7 at 1 − A² = 0.956, ν = 3). The hardware GPU must also meet the
/// twin's own accuracy bound against the f64 reference (checked beside this one).
const GPU_ABS_TOL: f64 = 5e-7;
const GPU_PER_NU_TOL: f64 = 1e-8;
/// Hardware sampler: |gpu − cpu| ≤ GPU_SAMPLE_ULPS ε (1 + a) R with R = √(ν(e^a − 1)) the radius
/// and a = (2/ν)(−ln W): ln W's rounding is amplified ≈ a/2 in R, cos Θ's is absolute × R.
const GPU_SAMPLE_ULPS: f64 = 8.0;

/// z ≥ 0 grid: 0, a dense [0, 20], log-spaced 1e-30 .. 3e38, and 1e3, 1e6, ∞; callers add −z.
fn z_grid() -> Vec<f32> {
    let mut v: Vec<f32> = (0..=10_000).map(|k| k as f32 * 0.002).collect();
    let (lo, hi, n) = (1e-30f64.ln(), 3e38f64.ln(), 3000);
    v.extend((0..=n).map(|i| (lo + (hi - lo) * i as f64 / n as f64).exp() as f32));
    v.extend([1e-7, 1e-4, 1e3, 1e6, f32::MAX, f32::INFINITY]);
    v
}

/// The grid with both signs.
fn z_grid_signed() -> Vec<f32> {
    z_grid().into_iter().flat_map(|z| [z, -z]).collect()
}

/// Two tables back to back, so that the table under test sits at a nonzero offset.
fn tables_with_offset(nu: f64) -> (Vec<f32>, f32) {
    let mut table = t_table(2.5);
    table.extend(t_table(nu));
    (table, T_TABLE_WORDS as f32)
}

/// Largest errors of one ν on one path, and the worst points.
#[derive(Default)]
struct Errors {
    abs_a: (f64, f32),
    abs_oms: (f64, f32),
    /// Per tier (threshold on 1 − A²): largest relative error of 1 − A², at z.
    rel_oms: Vec<(f64, f64, f32)>,
}

/// Checks (A, 1 − A²) of `t_sign_moments` at every grid z against `t_central_tail`, with the
/// bounds given; returns the largest errors.
fn check_moments(what: &str, nu: f64, tab: f32, table: &[f32], abs_oms_tol: f64, rel_tiers: &[(f64, f64)]) -> Errors {
    let t = t_params(nu);
    let mut e = Errors { rel_oms: rel_tiers.iter().map(|&(thr, _)| (thr, 0.0, 0.0)).collect(), ..Default::default() };
    for z in z_grid() {
        let (cen, tail) = t_central_tail(z as f64, nu);
        let oms_ref = tail * (2.0 - tail);
        for (z, fma) in [(z, false), (-z, false), (z, true), (-z, true)] {
            let (a, oms) = moments(fma, z, t.nu, t.sqrt_nu, tab, table);
            let a_ref = if z < 0.0 { -cen } else { cen };
            let d = a as f64 - a_ref;
            assert!(
                d.abs() <= T10_ABS_TOL,
                "{what} nu {nu} A: z = {z:e}, actual {a:e}, expected {a_ref:e}, difference {d:e}, tolerance {T10_ABS_TOL:e}"
            );
            if d.abs() > e.abs_a.0 {
                e.abs_a = (d.abs(), z);
            }
            let d = oms as f64 - oms_ref;
            assert!(
                d.abs() <= abs_oms_tol,
                "{what} nu {nu} 1 - A^2: z = {z:e}, actual {oms:e}, expected {oms_ref:e}, difference {d:e}, \
                 tolerance {abs_oms_tol:e}"
            );
            if d.abs() > e.abs_oms.0 {
                e.abs_oms = (d.abs(), z);
            }
            for (k, &(thr, tol)) in rel_tiers.iter().enumerate() {
                if oms_ref >= thr {
                    let rel = d.abs() / oms_ref;
                    assert!(
                        rel <= tol,
                        "{what} nu {nu} 1 - A^2 (tier >= {thr:e}): z = {z:e}, actual {oms:e}, expected {oms_ref:e}, \
                         difference {d:e}, relative {rel:e}, tolerance {tol:e}"
                    );
                    if rel > e.rel_oms[k].1 {
                        e.rel_oms[k] = (thr, rel, z);
                    }
                }
            }
        }
    }
    println!(
        "{what} nu {nu}: max |A err| {:.2e} at z = {:e}; max |1-A^2 err| {:.2e} at z = {:e}; rel 1-A^2: {}",
        e.abs_a.0,
        e.abs_a.1,
        e.abs_oms.0,
        e.abs_oms.1,
        e.rel_oms.iter().map(|(t, r, z)| format!("{r:.2e} (>= {t:e}, at z = {z:e})")).collect::<Vec<_>>().join(", ")
    );
    e
}

// ---------------------------------------------------------------------------------------------
// Host references
// ---------------------------------------------------------------------------------------------

/// c_ν (docs/oracles.md T10: c_3 = 0.367552597, c_4 = 0.375) against statrs' density at 0, and the
/// sign-SDE stationary-loss constants 1/(8c_ν) of docs/heavy-tails.md (six digits).
#[test]
#[allow(clippy::approx_constant)] // docs/heavy-tails.md six digits, 0.392699 = π/8 at ν = 1
fn c_nu_values_and_sign_sde_oracle() {
    let c3 = c_nu(3.0);
    assert!((c3 - 0.367_552_597).abs() <= 5e-10, "c_3: actual {c3:.12}, expected 0.367552597, tolerance 5e-10");
    let exact = 2.0 / (std::f64::consts::PI * 3f64.sqrt());
    assert!(
        (c3 - exact).abs() <= 1e-14 * exact,
        "c_3: actual {c3:.17}, exact 2/(pi sqrt 3) = {exact:.17}, tolerance 1e-14 relative"
    );
    let c4 = c_nu(4.0);
    assert!((c4 - 0.375).abs() <= 1e-14, "c_4: actual {c4:.17}, expected 0.375, tolerance 1e-14");
    for nu in [0.5, 1.0, 1.5, 2.5, 7.3, 30.0, 100.0, 1e4] {
        let c = c_nu(nu);
        let expected = StudentsT::new(0.0, 1.0, nu).unwrap().pdf(0.0);
        let rel = (c - expected).abs() / expected;
        assert!(rel <= 1e-12, "c_nu({nu}): actual {c:.17}, statrs {expected:.17}, relative {rel:e}, tolerance 1e-12");
    }
    let oracle = [
        (1.0, 0.392699),
        (2.0, 0.353553),
        (3.0, 0.340087),
        (4.0, 0.333333),
        (5.0, 0.329288),
        (10.0, 0.321247),
        (30.0, 0.315950),
    ];
    for (nu, expected) in oracle {
        let v = 1.0 / (8.0 * c_nu(nu));
        assert!(
            (v - expected).abs() <= 5e-7,
            "1/(8 c_nu) at nu = {nu}: actual {v:.9}, expected {expected} (six digits), difference {:e}, tolerance 5e-7",
            v - expected
        );
    }
}

/// The f64 reference CDF against statrs (for |x| ≥ 1e-3: statrs evaluates I_{ν/(ν+x²)}, which
/// loses the centre for small x²/ν), against its own small-x series, and against exact forms
/// (ν = 1, 2: both tails, relative).
#[test]
fn reference_cdf_against_statrs_and_exact_forms() {
    let mut worst = 0.0f64;
    for nu in [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.7, 4.0, 7.3, 30.0, 100.0, 1000.0] {
        // A = 2F − 1 = 2c_ν (x − (ν+1)x³/(6ν)) + O(x⁵), relative, for x ≤ 1e-4.
        for x in [1e-30, 1e-12, 1e-6, 1e-4] {
            let (cen, _) = t_central_tail(x, nu);
            let series = 2.0 * c_nu(nu) * (x - (nu + 1.0) * x * x * x / (6.0 * nu));
            let rel = (cen - series).abs() / series;
            assert!(
                rel <= 1e-13,
                "A({x:e}, {nu}): actual {cen:e}, series {series:e}, relative {rel:e}, tolerance 1e-13"
            );
        }
        let st = StudentsT::new(0.0, 1.0, nu).unwrap();
        for z in z_grid().into_iter().step_by(7).filter(|z| z.is_finite() && *z >= 1e-3) {
            for x in [z as f64, -(z as f64)] {
                let (actual, expected) = (t_cdf(x, nu), st.cdf(x));
                let d = (actual - expected).abs();
                worst = worst.max(d);
                // statrs rounds ν/(ν + x²) first: an error ~ε ν/x² where that is near 1.
                let tol = 1e-12 + 2e-16 * nu / (x * x);
                assert!(
                    d <= tol,
                    "t_cdf({x:e}, {nu}): actual {actual:e}, statrs {expected:e}, difference {d:e}, tolerance {tol:e}"
                );
            }
        }
    }
    println!("t_cdf vs statrs: max abs difference {worst:.2e}");
    // Exact: ν = 1, A = (2/π) atan x, B = (2/π) atan(1/x); ν = 2, A = x/√(2+x²),
    // B = 2/(√(2+x²)(√(2+x²) + x)). Relative accuracy of both, tails included.
    let mut worst = 0.0f64;
    for z in z_grid().into_iter().filter(|&z| z > 0.0 && z.is_finite()) {
        let x = z as f64;
        let r = (2.0 + x * x).sqrt();
        let exact = [
            (1.0, std::f64::consts::FRAC_2_PI * x.atan(), std::f64::consts::FRAC_2_PI * (1.0 / x).atan()),
            (2.0, x / r, 2.0 / (r * (r + x))),
        ];
        for (nu, a, b) in exact {
            let (ca, cb) = t_central_tail(x, nu);
            for (name, actual, expected) in [("A", ca, a), ("B", cb, b)] {
                if expected < 1e-300 {
                    continue;
                }
                let rel = (actual - expected).abs() / expected;
                worst = worst.max(rel);
                assert!(
                    rel <= 1e-13,
                    "t_central_tail {name} at x = {x:e}, nu = {nu}: actual {actual:e}, exact {expected:e}, \
                     relative {rel:e}, tolerance 1e-13"
                );
            }
        }
    }
    println!("t_central_tail vs exact nu = 1, 2: max relative error {worst:.2e}");
}

/// Table layout and the WGSL twin's duplicated constants.
#[test]
fn table_layout_and_wgsl_constants() {
    let wgsl = include_str!("../../shaders/shared/tdist.wgsl");
    let konst = |name: &str| -> &str {
        let start = wgsl.find(&format!("const {name}")).unwrap_or_else(|| panic!("tdist.wgsl has no const {name}"));
        let rest = &wgsl[start..];
        rest[rest.find('=').unwrap() + 1..rest.find(';').unwrap()].trim()
    };
    assert_eq!(konst("T_TABLE_INTERVALS"), format!("{T_TABLE_INTERVALS}u"), "T_TABLE_INTERVALS in tdist.wgsl");
    let inv: f32 = konst("T_INV_DTHETA").parse().unwrap();
    let want = (T_TABLE_INTERVALS as f64 / std::f64::consts::FRAC_PI_2) as f32;
    assert_eq!(inv.to_bits(), want.to_bits(), "T_INV_DTHETA in tdist.wgsl: {inv:e}, host {want:e}");
    let qmin: f32 = konst("T_Q_MIN").parse().unwrap();
    assert_eq!(qmin.to_bits(), 0x0D80_0000, "T_Q_MIN in tdist.wgsl must be 2^-100, is {qmin:e}");
    let frac: f32 = konst("T_FRAC_2_PI").parse().unwrap();
    assert_eq!(frac.to_bits(), std::f32::consts::FRAC_2_PI.to_bits(), "T_FRAC_2_PI in tdist.wgsl");
    let mn: f32 = konst("T_MIN_NORMAL").parse().unwrap();
    assert_eq!(mn.to_bits(), f32::MIN_POSITIVE.to_bits(), "T_MIN_NORMAL in tdist.wgsl");

    let dt = std::f64::consts::FRAC_PI_2 / T_TABLE_INTERVALS as f64;
    for nu in [0.5, 1.0, 1.5, 7.3, 100.0] {
        let tb = t_table(nu);
        assert_eq!(tb.len(), T_TABLE_WORDS, "t_table({nu}) length");
        let node = |n: usize| &tb[T_TABLE_NODE_WORDS * n..T_TABLE_NODE_WORDS * (n + 1)];
        let k = 2.0 * nu.sqrt() * c_nu(nu);
        let top = node(T_TABLE_INTERVALS);
        let checks = [
            ("A_0", node(0)[0] as f64, 0.0),
            ("dA_0", node(0)[1] as f64, dt * k),
            ("G_0", node(0)[2] as f64, 1.0),
            ("dG_0", node(0)[3] as f64, -dt * k),
            ("A_N", top[0] as f64, 1.0),
            ("G_N", top[2] as f64, k / nu),
            ("dG_N", top[3] as f64, 0.0),
        ];
        for (name, actual, expected) in checks {
            let tol = 2e-7 * expected.abs().max(1e-3);
            assert!(
                (actual - expected).abs() <= tol,
                "t_table({nu}) {name}: actual {actual:e}, expected {expected:e}, tolerance {tol:e}"
            );
        }
        for n in 1..=T_TABLE_INTERVALS {
            assert!(node(n)[0] >= node(n - 1)[0], "t_table({nu}): A decreases at node {n}");
            assert!(node(n).iter().all(|v| v.is_finite()), "t_table({nu}): node {n} = {:?}", node(n));
        }
        // Node values are the reference's A and B = cos^ν G (middle node, f32 rounding).
        let n = T_TABLE_INTERVALS / 3;
        let theta = n as f64 * dt;
        let (cen, tail) = t_central_tail(nu.sqrt() * theta.tan(), nu);
        let b = theta.cos().powf(nu) * node(n)[2] as f64;
        assert!((node(n)[0] as f64 - cen).abs() <= 1e-7, "t_table({nu}) A at node {n}: {} vs {cen}", node(n)[0]);
        assert!((b - tail).abs() <= 1e-7 * tail, "t_table({nu}) B at node {n}: {b} vs {tail}");
    }
    let p = t_params(3.0);
    assert_eq!(p, TParams { nu: 3.0, sqrt_nu: 3f64.sqrt() as f32, two_over_nu: (2.0f64 / 3.0) as f32, closed: true });
    assert!(!t_params(2.5).closed && !t_params(T_CLOSED_MAX_NU + 1.0).closed && t_params(T_CLOSED_MAX_NU).closed);
}

/// The polynomial kernels used here: atan (any x), e^a − 1 (a ≥ 0), ln(1 + y) (0 ≤ y ≤ 1).
#[test]
fn atan_expm1_ln1p_accuracy() {
    // Measured 2.0e-7, 1.4e-7, 2.3e-7: a few roundings of 2^-24 each.
    const ATAN_REL_TOL: f64 = 3e-7;
    const EXPM1_REL_TOL: f64 = 3e-7;
    const LN1P_REL_TOL: f64 = 3e-7;
    let log_grid = |lo: f64, hi: f64, n: usize| {
        (0..=n).map(move |i| (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / n as f64).exp() as f32)
    };
    type Case = (&'static str, Vec<f32>, fn(f32) -> f32, fn(f64) -> f64, f64);
    let atan_xs: Vec<f32> = (1..=1_000_000).map(|i| i as f32 * 1e-5).chain(log_grid(1e-30, 1e30, 100_000)).collect();
    let expm1_xs: Vec<f32> = (1..=880_000).map(|i| i as f32 * 1e-4).chain(log_grid(1e-12, 1.0, 100_000)).collect();
    let ln1p_xs: Vec<f32> = (1..=1_000_000).map(|i| i as f32 * 1e-6).chain(log_grid(1e-30, 1.0, 100_000)).collect();
    let cases: [Case; 6] = [
        ("atan_f32 (split)", atan_xs.clone(), atan_f32::<false>, f64::atan, ATAN_REL_TOL),
        ("atan_f32 (fused)", atan_xs, atan_f32::<true>, f64::atan, ATAN_REL_TOL),
        ("expm1_pos (split)", expm1_xs.clone(), expm1_pos::<false>, f64::exp_m1, EXPM1_REL_TOL),
        ("expm1_pos (fused)", expm1_xs, expm1_pos::<true>, f64::exp_m1, EXPM1_REL_TOL),
        ("ln1p_unit (split)", ln1p_xs.clone(), ln1p_unit::<false>, f64::ln_1p, LN1P_REL_TOL),
        ("ln1p_unit (fused)", ln1p_xs, ln1p_unit::<true>, f64::ln_1p, LN1P_REL_TOL),
    ];
    for (name, xs, f, reference, tol) in cases {
        let (mut worst, mut at) = (0.0f64, 0.0f32);
        for x in xs {
            let (actual, expected) = (f(x) as f64, reference(x as f64));
            let rel = (actual - expected).abs() / expected.abs();
            assert!(
                rel <= tol,
                "{name}({x:e}): actual {actual:e}, expected {expected:e}, difference {:e}, relative {rel:e}, tolerance {tol:e}",
                actual - expected
            );
            if rel > worst {
                (worst, at) = (rel, x);
            }
        }
        println!("{name}: max rel error {worst:.3e} at x = {at:e}");
    }
    // atan: odd, ±∞ → ±π/2, NaN → NaN, 0 → 0 (both arithmetics).
    let atans: [fn(f32) -> f32; 2] = [atan_f32::<false>, atan_f32::<true>];
    for atan in atans {
        for x in [0.5f32, 1.0, 2.0, 1e10] {
            assert_eq!(atan(-x).to_bits(), (-atan(x)).to_bits(), "atan_f32 odd at {x}");
        }
        assert_eq!(atan(f32::INFINITY), std::f32::consts::FRAC_PI_2, "atan_f32(inf)");
        assert_eq!(atan(f32::NEG_INFINITY), -std::f32::consts::FRAC_PI_2, "atan_f32(-inf)");
        assert!(atan(f32::NAN).is_nan(), "atan_f32(NaN)");
        assert_eq!(atan(0.0), 0.0, "atan_f32(0)");
    }
    assert_eq!((expm1_pos::<false>(0.0), expm1_pos::<true>(0.0)), (0.0, 0.0), "expm1_pos(0)");
    assert_eq!((ln1p_unit::<false>(0.0), ln1p_unit::<true>(0.0)), (0.0, 0.0), "ln1p_unit(0)");
}

// ---------------------------------------------------------------------------------------------
// T10: the sign-SDE moments on the CPU twin
// ---------------------------------------------------------------------------------------------

/// T10 for the closed forms (integer ν, `tab < 0`).
#[test]
fn t10_closed_forms() {
    for nu in CLOSED_NUS {
        assert!(t_params(nu).closed, "nu = {nu} should use the closed forms");
        if nu <= 2.0 {
            check_moments("closed", nu, -1.0, &[], CLOSED_TAIL_ABS_TOL, &[(1e-30, CLOSED_EXACT_TAIL_REL_TOL)]);
        } else {
            check_moments("closed", nu, -1.0, &[], CLOSED_TAIL_ABS_TOL, &[CLOSED_TAIL_REL_TOL]);
        }
    }
}

/// Every ν that `t_params` sends to the closed forms meets T10's 6e-7 (the error grows ≈ 1e-8 ν,
/// which is what bounds `T_CLOSED_MAX_NU`), on a coarser grid.
#[test]
fn closed_forms_meet_t10_for_every_closed_nu() {
    let zs: Vec<f32> = (0..=2000).map(|k| k as f32 * 0.005).chain(z_grid().into_iter().skip(10_001)).collect();
    let mut worst = (0.0f64, 0.0, 0.0f32);
    for nu in (1..=T_CLOSED_MAX_NU as u32).map(f64::from) {
        let t = t_params(nu);
        assert!(t.closed, "nu = {nu} <= T_CLOSED_MAX_NU should use the closed forms");
        for &z in &zs {
            let expected = t_central_tail(z as f64, nu).0;
            for fma in MODES {
                let a = moments(fma, z, t.nu, t.sqrt_nu, -1.0, &[]).0 as f64;
                let d = (a - expected).abs();
                assert!(
                    d <= T10_ABS_TOL,
                    "closed nu {nu} A (fused {fma}): z = {z:e}, actual {a:e}, expected {expected:e}, difference {d:e}, tolerance {T10_ABS_TOL:e}"
                );
                if d > worst.0 {
                    worst = (d, nu, z);
                }
            }
        }
    }
    println!(
        "closed forms nu = 1..={T_CLOSED_MAX_NU}: max |A err| {:.2e} at nu = {}, z = {:e}",
        worst.0, worst.1, worst.2
    );
    assert!(!t_params(T_CLOSED_MAX_NU + 1.0).closed);
}

/// T10 for the table path (any ν ≥ 0.5; non-integer ν use it), at a nonzero table offset.
#[test]
fn t10_tables() {
    for nu in TABLE_NUS {
        let (table, tab) = tables_with_offset(nu);
        let tiers = if nu < 1.0 { &TABLE_TAIL_REL_TOL_NU_BELOW_1 } else { &TABLE_TAIL_REL_TOL };
        check_moments("table", nu, tab, &table, CLOSED_TAIL_ABS_TOL, tiers);
    }
}

/// Special inputs: 0, ±∞, ±f32::MAX, NaN, odd symmetry, range, and no subnormal output.
#[test]
fn t_sign_moments_special_inputs() {
    let cases = [(1.0, true), (3.0, true), (30.0, true), (1.5, false), (3.0, false), (100.0, false)];
    for ((nu, closed), fma) in cases.into_iter().flat_map(|c| MODES.map(|m| (c, m))) {
        let t = t_params(nu);
        let (table, tab) = if closed { (vec![], -1.0) } else { tables_with_offset(nu) };
        let f = |z: f32| moments(fma, z, t.nu, t.sqrt_nu, tab, &table);
        assert_eq!(f(0.0), (0.0, 1.0), "nu {nu} closed {closed}: z = 0");
        assert_eq!(f(-0.0), (0.0, 1.0), "nu {nu} closed {closed}: z = -0");
        for (z, a) in [(f32::INFINITY, 1.0), (f32::NEG_INFINITY, -1.0), (f32::MAX, 1.0), (f32::MIN, -1.0)] {
            assert_eq!(f(z), (a, 0.0), "nu {nu} closed {closed}: z = {z:e}");
        }
        let (a, oms) = f(f32::NAN);
        assert!(a.is_nan() && oms.is_nan(), "nu {nu} closed {closed}: z = NaN gives ({a}, {oms})");
        for z in z_grid() {
            let (a, oms) = f(z);
            let (am, omsm) = f(-z);
            assert_eq!((am, omsm.to_bits()), (-a, oms.to_bits()), "nu {nu} closed {closed}: odd symmetry at z = {z:e}");
            assert!((0.0..=1.0).contains(&a) && (0.0..=1.0).contains(&oms), "nu {nu}: z = {z:e} gives ({a}, {oms})");
            for v in [a, oms] {
                assert!(v == 0.0 || v.is_normal(), "nu {nu} closed {closed}: z = {z:e} gives a subnormal {v:e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sampler
// ---------------------------------------------------------------------------------------------

/// 2^18 blocks (radius hi, radius lo, angle, unused) of `seed`: 1024 paths × 256 blocks, one
/// variate per block as the kernels draw them.
fn word_pairs(seed: u64) -> Vec<[u32; 4]> {
    let mut v = Vec::with_capacity(1 << 18);
    for p in 0..1024u64 {
        for b in 0..256u64 {
            v.push(block_words(seed, STREAM_NOISE, p, b));
        }
    }
    v
}

/// Kolmogorov–Smirnov test of `student_t` against F_ν, 2^18 samples per ν (the words of 1024
/// paths × 256 blocks). alpha = 1e-4 for the six ν together (Bonferroni: alpha/6 each);
/// asymptotic critical value D_crit = sqrt(−ln(alpha/12)/2)/sqrt(n) (≈ 4.7e-3). The f32
/// sampler's largest |T| (module docs of `noise`) cuts a tail mass below 1e-7 for these ν.
/// The default (fused) arithmetic; the split one differs by ulps (`gpu_sampler_matches_cpu`
/// holds it to lavapipe bit for bit, and the bound there to the fused one on hardware).
#[test]
fn ks_student_t_sampler() {
    let alpha = 1e-4;
    let nus = [1.0, 1.5, 2.5, 3.0, 5.0, 30.0];
    let words = word_pairs(11);
    let n = words.len() as f64;
    let d_crit = (-(alpha / nus.len() as f64 / 2.0).ln() / 2.0).sqrt() / n.sqrt();
    for nu in nus {
        let t = t_params(nu);
        let mut x: Vec<f64> = words.iter().map(|w| sample(true, w, &t) as f64).collect();
        assert!(x.iter().all(|v| v.is_finite()), "nu {nu}: non-finite sample");
        x.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let (mut d, mut at) = (0.0f64, 0.0);
        for (i, &v) in x.iter().enumerate() {
            let f = t_cdf(v, nu);
            let dev = (f - i as f64 / n).max((i + 1) as f64 / n - f);
            if dev > d {
                (d, at) = (dev, v);
            }
        }
        println!(
            "KS nu {nu}: n = {n}, D = {d:.3e} at T = {at:.4}, D_crit(alpha {alpha:e} / {}) = {d_crit:.3e}",
            nus.len()
        );
        assert!(
            d < d_crit,
            "KS nu {nu}: n = {n}, D = {d:e} at T = {at}, critical {d_crit:e} (alpha {alpha:e} over {} tests), excess {:e}",
            nus.len(),
            d - d_crit
        );
    }
}

/// The sampler's extremes (module docs of `noise`): the smallest radius uniform 2^-48 gives
/// |T| = sqrt(ν (2^{96/ν} − 1)) |cos Θ| (exp_f32's clamp at 88 caps it below ν = 0.757); the
/// 48-bit radius keeps the variance: the sampler's E T² over the radius grid is within 0.2% of
/// ν/(ν − 2) at ν = 2.5 (a 24-bit radius would cut it by 3.4%); ν → ∞ gives the normal
/// cos Θ √(−2 ln W) of the same words.
#[test]
fn student_t_extremes_variance_and_gaussian_limit() {
    let cos0 = optsde::math::sincos_quarter::<true>(0).0 as f64;
    for (nu, fma) in [0.5, 1.0, 2.0, 30.0].into_iter().flat_map(|nu| MODES.map(|m| (nu, m))) {
        let t = t_params(nu);
        let v = sample(fma, &[0; 4], &t) as f64;
        let a = (2.0 / nu * 48.0 * std::f64::consts::LN_2).min(88.0);
        let expected = cos0 * (nu * a.exp_m1()).sqrt();
        let rel = (v - expected).abs() / expected;
        assert!(
            v.is_finite() && rel <= 1e-5,
            "largest T at nu = {nu}: actual {v:e}, expected {expected:e}, relative {rel:e}"
        );
    }
    // E T² = E cos²Θ · ν E(W^{-2/ν} − 1) with W = unit48: integrate over the radius exactly
    // where W is coarse (w_hi >> 8 = 0: W = (2j+1) 2^-48, j < 2^23, weight 2^-47 each) and by
    // the continuous law elsewhere (W ≥ 2^-24, where the grid error is O(2^-24)).
    let nu = 2.5f64;
    let g = |w: f64| nu * (w.powf(-2.0 / nu) - 1.0);
    let mut coarse = 0.0;
    for j in 0..(1u64 << 23) {
        coarse += g((2 * j + 1) as f64 * 2f64.powi(-48));
    }
    coarse *= 2f64.powi(-23) * 2f64.powi(-24);
    // ∫_{2^-24}^1 ν (w^{-2/ν} − 1) dw = ν [w^{1−2/ν}/(1 − 2/ν) − w] from 2^-24 to 1.
    let p = 1.0 - 2.0 / nu;
    let lo = 2f64.powi(-24);
    let cont = nu * ((1.0 - lo.powf(p)) / p - (1.0 - lo));
    let var = 0.5 * (coarse + cont);
    let law = nu / (nu - 2.0);
    eprintln!("nu = 2.5: sampler E T^2 = {var:.5}, t-law {law:.5}, ratio {:.5}", var / law);
    assert!((var / law - 1.0).abs() < 2e-3, "sampler variance {var} vs {law}");
    let t = t_params(1e7);
    for w in word_pairs(3).into_iter().take(10_000) {
        let v = sample(true, &w, &t) as f64;
        let wr = optsde::noise::unit48(w[0], w[1]) as f64;
        let g = optsde::math::sincos_quarter::<true>(w[2]).0 as f64 * (-2.0 * wr.ln()).sqrt();
        let tol = 1e-5 * g.abs().max(1.0);
        assert!(
            (v - g).abs() <= tol,
            "nu = 1e7, words {w:08x?}: student_t {v:e}, normal limit {g:e}, tolerance {tol:e}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// GPU kernel against the CPU twin
// ---------------------------------------------------------------------------------------------

/// Compares GPU and CPU values with [`Tolerance::twin`], `tol` the absolute hardware bound;
/// returns whether they are the same bits (or both NaN, which pass on hardware too).
fn compare(what: &str, software: bool, i: usize, input: f32, gpu: f32, cpu: f32, tol: f64) -> bool {
    let same = Tolerance::Exact.holds(gpu as f64, cpu as f64);
    if !same {
        let what = format!("{what} #{i} (input {input:e}): gpu");
        Tolerance::twin(software, Tolerance::absolute(tol)).assert(&what, gpu as f64, cpu as f64);
    }
    same
}

/// T10 on the GPU: the kernel's (A, 1 − A²) equal the CPU twin's on every grid z, for every
/// ν of both paths (tables at a nonzero offset), and NaN/∞ inputs. On hardware the GPU must
/// also meet the CPU twin's accuracy bounds against the f64 reference itself.
#[test]
fn gpu_moments_match_cpu() {
    let Some(mut g) = common::gpu() else { return };
    let software = g.is_software();
    let fma = optsde::cpu::Arith::of_adapter(software) == optsde::cpu::Arith::Fused;
    let mut zs = z_grid_signed();
    zs.extend([f32::NAN, 1e-40, -1e-40]);
    let configs = CLOSED_NUS.iter().map(|&nu| (nu, true)).chain(TABLE_NUS.iter().map(|&nu| (nu, false)));
    for (nu, closed) in configs {
        let t = t_params(nu);
        let (table, tab) = if closed { (vec![0.0], -1.0) } else { tables_with_offset(nu) };
        let (gm, _) = g.eval_tdist(&t, tab, &table, &zs, &[]).unwrap();
        let mut identical = 0;
        for (i, (&z, &(ga, go))) in zs.iter().zip(&gm).enumerate() {
            let (ca, co) = moments(fma, z, t.nu, t.sqrt_nu, tab, &table);
            let what = format!("nu {nu} closed {closed}");
            let tol = GPU_ABS_TOL + if closed { GPU_PER_NU_TOL * nu } else { 0.0 };
            let a = compare(&format!("{what} A"), software, i, z, ga, ca, tol);
            let o = compare(&format!("{what} 1-A^2"), software, i, z, go, co, tol);
            identical += usize::from(a && o);
            if !software && z.is_finite() {
                let (cen, tail) = t_central_tail(z.abs() as f64, nu);
                let (da, doms) = ((ga.abs() as f64 - cen).abs(), (go as f64 - tail * (2.0 - tail)).abs());
                assert!(
                    da <= T10_ABS_TOL && doms <= CLOSED_TAIL_ABS_TOL,
                    "{what} gpu at z = {z:e}: A {ga:e} vs {cen:e} (tolerance {T10_ABS_TOL:e}), \
                     1 - A^2 {go:e} vs {:e} (tolerance {CLOSED_TAIL_ABS_TOL:e})",
                    tail * (2.0 - tail)
                );
            }
        }
        println!("gpu nu {nu} closed {closed}: {identical}/{} (A, 1-A^2) pairs bit-identical", zs.len());
    }
}

/// The GPU sampler equals the CPU twin (2^18 word triples per ν).
#[test]
fn gpu_sampler_matches_cpu() {
    let Some(mut g) = common::gpu() else { return };
    let software = g.is_software();
    let fma = optsde::cpu::Arith::of_adapter(software) == optsde::cpu::Arith::Fused;
    let words = word_pairs(5);
    for nu in [0.5, 1.0, 1.5, 2.5, 3.0, 5.0, 30.0, 1e7] {
        let t = t_params(nu);
        let (_, gs) = g.eval_tdist(&t, -1.0, &[0.0], &[], &words).unwrap();
        assert_eq!(gs.len(), words.len());
        let mut identical = 0;
        for (i, (w, &gv)) in words.iter().zip(&gs).enumerate() {
            let cv = sample(fma, w, &t);
            let a = 2.0 / nu * -(optsde::noise::unit48(w[0], w[1]) as f64).ln();
            let tol = GPU_SAMPLE_ULPS * f32::EPSILON as f64 * (1.0 + a) * (nu * a.exp_m1()).sqrt();
            identical +=
                usize::from(compare(&format!("student_t nu {nu}"), software, i, f32::from_bits(w[0]), gv, cv, tol));
        }
        println!("gpu student_t nu {nu}: {identical}/{} samples bit-identical", words.len());
    }
}
