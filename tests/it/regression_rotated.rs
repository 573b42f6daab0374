//! The `linear-regression` objective with a rotated data covariance K = Q diag(k) Qᵀ
//! (`basis = "random"`, docs/regression.md "A rotated K"): data points a = Q diag(√k) z, the
//! dense population gradient, the SDEs' diffusions through the same factor and signHSGD's
//! Cholesky factor of K_σ, on both backends. Oracles: SGD and the SGD SDE are rotation
//! equivariant, so E[r rᵀ] in K's eigenbasis follows the diagonal recursions of
//! `super::regression` with k and Qᵀr₀; signSGD and signHSGD, which are not, against the risk
//! ODE of the rotated K (spec §10.4's case (ii)).

use crate::backends::compare_states;
use crate::common;
use crate::regression::{MODELS, follows_the_risk_ode, records_match, sde_excess_risk, sgd_excess_risk};
use crate::tolerance::{Tolerance, Z};

use common::{exp, gpu, per_engine};
use optsde::cpu::{Arith, CpuEngine};
use optsde::plan::{Engine, states_after};
use optsde::regression::{LabelNoise, RiskProblem, sign_fixed_point};
use optsde::spec::{Experiment, Objective};

/// A regression experiment on K = Q diag(`k`) Qᵀ with Q Haar-random from basis seed 4: `model`
/// with `extra` [model] lines, `batch` points per step, σ_ε = 0.5.
fn rotated(model: &str, extra: &str, eta: f64, k: &str, batch: u32, run: &str) -> Experiment {
    rotated_with(model, extra, eta, k, batch, "name = 'gaussian'\nsigma = 0.5", run)
}

/// The same with the label noise's `[noise]` lines `noise`.
fn rotated_with(model: &str, extra: &str, eta: f64, k: &str, batch: u32, noise: &str, run: &str) -> Experiment {
    exp(&format!(
        "[model]\nname = '{model}'\neta = {eta}\n{extra}\n[objective]\nname = 'linear-regression'\nk = {k}\n\
         basis = 'random'\nbasis_seed = 4\ntarget = {{ seed = 3 }}\nbatch = {batch}\n[noise]\n{noise}\n\
         [run]\n{run}\n"
    ))
}

/// k and r₀ = x₀ − x* in K's eigenbasis (Qᵀ r₀): where a rotation-equivariant model's E[r rᵀ]
/// follows the diagonal recursion.
fn eigen_start(x: &Experiment) -> (Vec<f64>, Vec<f64>) {
    let Objective::LinearRegression { k, target, rotation: Some(rot), .. } = &x.objective else {
        panic!("a rotated regression")
    };
    let r0: Vec<f64> = x.x0.iter().zip(target).map(|(x0, t)| x0 - t).collect();
    let d = k.len();
    let rt = (0..d).map(|j| (0..d).map(|i| rot.q[i][j] * r0[i]).sum()).collect();
    (k.clone(), rt)
}

/// Every model that runs on sampled data, with a rotated K at d = 4, on both backends: the
/// per-path states after 60 steps, bit for bit on a software adapter (the same M z products,
/// the same dense sums), within the per-path bound on hardware. signhsgd also with Student-t
/// labels (its φ table after K_ii^{−1/2}).
#[test]
fn every_model_agrees_with_a_rotated_k() {
    let Some(mut g) = gpu() else { return };
    let arith = Arith::of_adapter(g.is_software());
    let gauss = "name = 'gaussian'\nsigma = 0.5";
    let cases = MODELS.into_iter().map(|(m, e)| (m, e, gauss));
    for (model, extra, noise) in cases.chain([("signhsgd", "", "name = 'student-t'\nnu = 3.0\nscale = 0.5")]) {
        let refine = if model.ends_with("-sde") { 2 } else { 1 };
        let batch = if model == "signhsgd" { 1 } else { 2 };
        let run = format!("paths = 1000\nsteps = 60\nrefine = {refine}");
        let x = rotated_with(model, extra, 0.02, "[0.5, 1.0, 1.5, 2.0]", batch, noise, &run);
        let a = states_after(&x, &mut g, 1000, 60).unwrap();
        let b = states_after(&x, &mut CpuEngine::with_arith(arith), 1000, 60).unwrap();
        let same = compare_states(&format!("{model} {extra} rotated"), &a, &b, 1000, g.is_software());
        if g.is_software() {
            assert_eq!(same, a.len(), "{model} {extra}: rotated regression states not bit-identical on lavapipe");
        }
    }
}

/// `sgd` at d = 8, batch 2, on a rotated K: E P at each of the 11 records against the diagonal
/// recursion in K's eigenbasis within [`Z::MANY`] SE (8192 paths).
fn sgd_with_a_rotated_k_follows_the_recursion(name: &str, e: &mut dyn Engine) {
    let ks = "[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 2.0]";
    let x = rotated("sgd", "", 0.05, ks, 2, "paths = 8192\nsteps = 200\n[record]\nevery = 20");
    let (k, r0) = eigen_start(&x);
    let oracle = sgd_excess_risk(&k, &r0, 0.05, 2, 0.25, 200);
    records_match(&format!("{name} sgd rotated d=8"), &x, e, &oracle, Z::MANY);
}
per_engine!(sgd_with_a_rotated_k_follows_the_recursion);

/// `sgd-sde` (refine 2) with the state-dependent diffusion s·M z + K r z′ on a rotated K: E P
/// against the EM chain's recursion in K's eigenbasis within [`Z::MANY`] SE.
fn sgd_sde_with_a_rotated_k_follows_its_em_recursion(name: &str, e: &mut dyn Engine) {
    let ks = "[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 2.0]";
    let x = rotated("sgd-sde", "", 0.1, ks, 2, "paths = 8192\nsteps = 100\nrefine = 2\n[record]\nevery = 10");
    let (k, r0) = eigen_start(&x);
    let oracle = sde_excess_risk(&k, &r0, 0.1, 2, 0.5, (0.0, 0.0), 0.25, 100);
    records_match(&format!("{name} sgd-sde rotated d=8"), &x, e, &oracle, Z::MANY);
}
per_engine!(sgd_sde_with_a_rotated_k_follows_its_em_recursion);

/// Spec §10.4's case (ii) at d = 300: the spectrum linspace(0.2, 2, 300) rotated by a Haar Q
/// (basis seed 1), σ_ε = 0.5, θ₀ = 0, target 1/√d in every coordinate, step η/d with η = 0.5.
fn rotated_sign_case(model: &str, steps: u64, paths: u64) -> Experiment {
    let d = 300;
    exp(&format!(
        "[model]\nname = '{model}'\neta = {}\n[objective]\nname = 'linear-regression'\nspectrum = {{ linear = [0.2, 2.0] }}\n\
         dim = {d}\nbasis = 'random'\nbasis_seed = 1\ntarget = {}\n[noise]\nname = 'gaussian'\nsigma = 0.5\n[run]\n\
         paths = {paths}\nsteps = {steps}\n[record]\nevery = 300\n",
        0.5 / d as f64,
        1.0 / (d as f64).sqrt(),
    ))
}

/// The risk ODE's problem of [`rotated_sign_case`]: its dense K.
fn rotated_sign_problem(x: &Experiment) -> RiskProblem {
    let Objective::LinearRegression { target, .. } = &x.objective else { panic!("a regression") };
    RiskProblem {
        k: x.objective.data_covariance().expect("a regression"),
        target: target.clone(),
        x0: x.x0.clone(),
        eta: 0.5,
        label: LabelNoise::Gaussian { sigma: 0.5 },
    }
}

/// Discrete signSGD and signHSGD on spec §10.4's rotated case against the risk ODE of the
/// same K at t = 1, 2, 4, 8 (the CPU twin, 256 paths each). A rotation couples the
/// coordinates, so the sign of the sampled gradient is not the sign of a diagonal problem's:
/// the ODE's K̄ = D^{−1/2}K and K_σ = (2/π) arcsin(D^{−1/2}KD^{−1/2}) are dense. Allowed: 4 SE
/// plus the finite-d allowance of 0.5% of P that the diagonal case states. The fixed point of
/// this K is within 1% of spec §10.4's 0.15372 for its own random rotation (P∞ depends on K
/// through Σ √K_ii, which concentrates for a Haar Q).
#[test]
fn sign_models_with_a_rotated_k_follow_the_risk_ode() {
    let x = rotated_sign_case("signsgd", 2400, 256);
    let pr = rotated_sign_problem(&x);
    let p_inf = sign_fixed_point(&pr);
    assert!((p_inf / 0.15372 - 1.0).abs() < 1e-2, "P∞ = {p_inf}");
    let ode = follows_the_risk_ode("signsgd rotated", &x, &pr, 5e-3);
    assert!(ode[0] - ode[3] > 100.0 * 5e-3 * ode[3], "the curve is resolved: {ode:?}");
    follows_the_risk_ode("signhsgd rotated", &rotated_sign_case("signhsgd", 2400, 256), &pr, 5e-3);
}

/// The stationary diagonal of E[ỹ ỹᵀ], ỹ = Qᵀr, of a chain whose diagonal follows
/// S_jj' = a_j S_jj + b_j (Σ_l λ_l S_ll + Eε²): the fixed point S_jj = b_j (T + Eε²)/(1 − a_j)
/// with T = Σ λ_j S_jj, so T = c Eε²/(1 − c), c = Σ_j λ_j b_j/(1 − a_j).
fn stationary_diagonal(lambda: &[f64], a: &[f64], b: &[f64], label_var: f64) -> Vec<f64> {
    let c: f64 = (0..lambda.len()).map(|j| lambda[j] * b[j] / (1.0 - a[j])).sum();
    let t = c * label_var / (1.0 - c);
    (0..lambda.len()).map(|j| b[j] * (t + label_var) / (1.0 - a[j])).collect()
}

/// The stationary second moments in K's eigenbasis (`[record] basis = "hessian"`: the moments
/// of y = Qᵀ(x − x*)) on a rotated K at d = 8, σ_ε = 0.5, against the diagonal recursions'
/// fixed points (per direction, not only their λ-weighted sum P), within [`Z::FAMILY`] SE:
/// - `sgd`, batch 2, η = 0.05: a_j = 1 − 2ηλ_j + η²(1 + 1/B)λ_j², b_j = η²λ_j/B;
/// - `sgd-sde`, batch 2, η = 0.1, refine 2 (Δt = η/2, q = 1/B): per substep
///   a_j = (1 − Δtλ_j)² + ηΔt q λ_j², b_j = ηΔt q λ_j.
///
/// A data factor M with M Mᵀ ≠ K of the same trace leaves the SDE's stationary P unchanged (it
/// depends on tr M Mᵀ alone) but not these moments.
fn stationary_eigen_moments_with_a_rotated_k(name: &str, e: &mut dyn Engine) {
    let ks = "[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 2.0]";
    for (model, eta, refine) in [("sgd", 0.05, 1u32), ("sgd-sde", 0.1, 2)] {
        let run = format!(
            "paths = 8192\nsteps = 400\nrefine = {refine}\n[record]\nbasis = 'hessian'\n[stationary]\nstart = 200\n\
             every = 2"
        );
        let x = rotated(model, "", eta, ks, 2, &run);
        let (lambda, _) = eigen_start(&x);
        let (a, b): (Vec<f64>, Vec<f64>) = if model == "sgd" {
            lambda.iter().map(|l| (1.0 - 2.0 * eta * l + eta * eta * 1.5 * l * l, eta * eta * l / 2.0)).unzip()
        } else {
            let dt = eta / f64::from(refine);
            lambda.iter().map(|l| ((1.0 - dt * l).powi(2) + eta * dt * 0.5 * l * l, eta * dt * 0.5 * l)).unzip()
        };
        let oracle = stationary_diagonal(&lambda, &a, &b, 0.25);
        let r = common::run(&x, e).unwrap();
        let (values, y) = r.stationary.eigenbasis.as_ref().expect("eigenbasis moments");
        assert_eq!(values, &lambda);
        for (j, want) in oracle.iter().enumerate() {
            Tolerance::se(Z::FAMILY, y.var_se[j]).assert(&format!("{name} {model} rotated var y{j}"), y.var[j], *want);
            Tolerance::se(Z::FAMILY, y.mean_se[j]).assert(&format!("{name} {model} rotated mean y{j}"), y.mean[j], 0.0);
        }
    }
}
per_engine!(stationary_eigen_moments_with_a_rotated_k);
