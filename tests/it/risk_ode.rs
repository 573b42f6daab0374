//! The risk ODEs of one-pass least squares (src/regression/risk_ode.rs, docs/regression.md):
//! fixed points against spec §10.4's numbers and the closed form, the ODEs against a closed
//! form where they reduce to one, convergence to the fixed points.

use optsde::objective::dense::{from_spectrum, haar_orthogonal};
use optsde::regression::{
    LabelNoise, RiskProblem, sgd_fixed_point, sgd_risk, sign_fixed_point, sign_risk, student_gauss_mean,
};

const D: usize = 300;

/// Spec §10.4's check: K = diag(linspace(0.2, 2, 300)) (or the same spectrum rotated by a Haar
/// Q), η = 0.5, σ_ε = 0.5, θ₀ = 0, and θ* with the expected squared projections of θ* ~ N(0, I/d):
/// every coordinate 1/√d.
fn spec_case(rotated: bool) -> RiskProblem {
    let lam: Vec<f64> = (0..D).map(|i| 0.2 + 1.8 * i as f64 / (D - 1) as f64).collect();
    let k = if rotated {
        from_spectrum(&lam, &haar_orthogonal(D, 2))
    } else {
        (0..D).map(|i| (0..D).map(|j| if i == j { lam[i] } else { 0.0 }).collect()).collect()
    };
    RiskProblem {
        k,
        target: vec![1.0 / (D as f64).sqrt(); D],
        x0: vec![0.0; D],
        eta: 0.5,
        label: LabelNoise::Gaussian { sigma: 0.5 },
    }
}

/// The fixed point P φ(P) = (η/(4d)) Σ √Kᵢᵢ of the diagonal case is spec §10.4's 0.14682 (its
/// five digits). The ODE starts at P₀ = ½ mean(K), falls monotonically and reaches it to 1e-9 by
/// t = 150: near P∞ the slowest mode decays at 2ηφ(P∞)λ_min ≈ 0.39 (λ_min = √0.2), so e^{−58} of
/// the start is left.
#[test]
fn sign_risk_fixed_point_is_the_specs() {
    let pr = spec_case(false);
    let p_inf = sign_fixed_point(&pr);
    assert!((p_inf - 0.14682).abs() < 5e-6, "fixed point {p_inf}");
    let curve = sign_risk(&pr, &[0.0, 1.0, 2.0, 4.0, 8.0, 150.0], 1e-3);
    eprintln!("diagonal: P = {:?}, fixed point {p_inf}", curve.risk);
    // P₀ = ½ Σ Kᵢᵢ/d = ½ mean(K) = 0.55 at the expected start.
    assert!((curve.risk[0] - 0.55).abs() < 1e-12, "P0 {}", curve.risk[0]);
    assert!(curve.risk.windows(2).all(|w| w[1] < w[0]), "the risk falls: {:?}", curve.risk);
    assert!((curve.risk[5] - p_inf).abs() < 1e-9 * p_inf.max(1.0), "P(150) = {} vs {p_inf}", curve.risk[5]);
}

/// With K = I the SGD ODE collapses to Ṗ = −(2η − η²)P + η²σ_ε²/2 (docs/regression.md): RK4
/// with step 1e-3 equals its solution P∞ + (P₀ − P∞)e^{−(2η − η²)t} to 1e-12 relative (RK4's
/// error on an exponential of rate 0.75 is far below that), and the fixed point formula gives
/// P∞ = ησ_ε²/(2(2 − η)).
#[test]
fn sgd_risk_with_identity_data_is_the_closed_form() {
    let d = 50;
    let k: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    let pr =
        RiskProblem { k, target: vec![0.3; d], x0: vec![0.0; d], eta: 0.5, label: LabelNoise::Gaussian { sigma: 0.5 } };
    let p_inf = sgd_fixed_point(&pr).expect("eta tr K < 2d");
    assert!((p_inf - 0.5 * 0.25 / (2.0 * 1.5)).abs() < 1e-15);
    let p0 = 0.5 * 0.09 * d as f64;
    let times = [0.0, 0.5, 1.0, 3.0, 10.0];
    let curve = sgd_risk(&pr, &times, 1e-3).expect("finite label variance");
    for (t, p) in times.iter().zip(&curve.risk) {
        let exact = p_inf + (p0 - p_inf) * (-(2.0 * 0.5 - 0.25) * t).exp();
        assert!((p - exact).abs() < 1e-12 * exact, "t = {t}: {p} vs {exact}");
    }
    // Above η tr K = 2d the risk has no fixed point.
    assert!(sgd_fixed_point(&RiskProblem { eta: 2.0, ..pr }).is_none());
}

/// The rotated case: K = Q diag(λ) Qᵀ with the same spectrum. Its fixed point depends on K's
/// diagonal only (spec §10.4 found 0.15372 for its own Q; a Haar Q's diagonal entries scatter
/// by O(1/√d) around mean λ = 1.1, and so does the fixed point: within 1% of 0.15372). The
/// ODE reaches it. Rotation makes signSGD's risk worse than on the diagonal problem (the
/// diagonal preconditioner D^{-1/2} no longer matches K's eigenbasis): P∞ is higher.
#[test]
fn sign_risk_on_a_rotated_spectrum() {
    let pr = spec_case(true);
    let p_inf = sign_fixed_point(&pr);
    let diag = sign_fixed_point(&spec_case(false));
    eprintln!("rotated fixed point {p_inf}, diagonal {diag}");
    assert!((p_inf / 0.15372 - 1.0).abs() < 0.01, "rotated fixed point {p_inf}");
    assert!(p_inf > diag);
    let curve = sign_risk(&pr, &[0.0, 1.0, 4.0, 8.0, 150.0], 1e-3);
    eprintln!("rotated: P = {:?}", curve.risk);
    assert!((curve.risk[4] - p_inf).abs() < 1e-9, "P(150) = {} vs {p_inf}", curve.risk[4]);
}

/// φ for Student-t labels rests on E[e^{−aT²}], T ~ t_ν, by quadrature. For ν = 1 (Cauchy) it is
/// e^{a} erfc(√a) exactly: the quadrature matches to 1e-10 relative over a = 1e-3 … 100 (P from
/// 250 down to 2.5e-3 at scale 1). For ν = 10⁶, T is N(0, 1) to O(1/ν), and E[e^{−aZ²}] =
/// 1/√(1 + 2a): within 1e-5 relative.
#[test]
fn student_t_label_factor_matches_closed_forms() {
    for a in [1e-3f64, 0.1, 1.0, 10.0, 100.0] {
        let exact = a.exp() * statrs::function::erf::erfc(a.sqrt());
        let got = student_gauss_mean(1.0, a);
        assert!((got / exact - 1.0).abs() < 1e-10, "nu = 1, a = {a}: {got} vs {exact}");
        let gauss = 1.0 / (1.0 + 2.0 * a).sqrt();
        let got = student_gauss_mean(1e6, a);
        assert!((got / gauss - 1.0).abs() < 1e-5, "nu = 1e6, a = {a}: {got} vs {gauss}");
    }
    // φ itself: Student-t with huge ν is the Gaussian φ with σ = scale.
    let (t, g) = (LabelNoise::StudentT { nu: 1e6, scale: 0.5 }, LabelNoise::Gaussian { sigma: 0.5 });
    for p in [1e-3, 0.15, 2.0] {
        assert!((t.phi(p) / g.phi(p) - 1.0).abs() < 1e-5, "P = {p}");
    }
}

/// Student-t labels (ν = 3, scale 0.5) on the diagonal case: the signSGD ODE reaches the fixed
/// point computed with the quadrature's φ (the two share φ but not the method: bisection of
/// P φ(P) = (η/(4d)) Σ √Kᵢᵢ against RK4 with steps of 0.01 to t = 150). E ε² = s²ν/(ν − 2) = 0.75; at ν = 2 it is
/// infinite, and SGD's ODE and fixed point are refused (None).
#[test]
fn student_t_labels_in_the_risk_odes() {
    let pr = RiskProblem { label: LabelNoise::StudentT { nu: 3.0, scale: 0.5 }, ..spec_case(false) };
    let p_inf = sign_fixed_point(&pr);
    let curve = sign_risk(&pr, &[150.0], 1e-2);
    eprintln!("student-t nu = 3: fixed point {p_inf}, P(150) = {}", curve.risk[0]);
    assert!((curve.risk[0] - p_inf).abs() < 1e-9, "P(150) = {} vs {p_inf}", curve.risk[0]);
    let var = pr.label.second_moment().unwrap();
    assert!((var - 0.75).abs() < 1e-15);
    assert!(sgd_fixed_point(&pr).is_some());
    let cauchy = RiskProblem { label: LabelNoise::StudentT { nu: 2.0, scale: 0.5 }, ..pr };
    assert!(sgd_risk(&cauchy, &[1.0], 1e-3).is_none() && sgd_fixed_point(&cauchy).is_none());
}
