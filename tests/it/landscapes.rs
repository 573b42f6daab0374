//! Objectives other than the separable quadratic (docs/objectives.md): dense quadratics on both
//! backends, bit for bit on a software adapter, and their stationary laws against the discrete
//! Lyapunov equation.

use crate::backends::compare_states;
use crate::common;
use crate::tolerance::{Tolerance, Z};

use common::{exp, gpu, per_engine, run};
use optsde::cpu::{Arith, CpuEngine};
use optsde::plan::{Engine, states_after};

/// Every model name with the [model] lines it needs (agents, compressor).
pub(crate) const MODELS: [(&str, &str); 20] = [
    ("sgd-sde", ""),
    ("sgd", ""),
    ("signsgd-sde", ""),
    ("signsgd", ""),
    ("rmsprop", ""),
    ("adam", ""),
    ("rmsprop-sde", ""),
    ("adam-sde", ""),
    ("rmsprop-malladi-sde", ""),
    ("adam-malladi-sde", ""),
    ("dsgd", "agents = 3"),
    ("dsgd-sde", "agents = 3"),
    ("dsignsgd", "agents = 3"),
    ("dsignsgd-sde", "agents = 3"),
    ("dcsgd", "agents = 3\n[compressor]\nname = 'identity'"),
    ("dcsgd", "agents = 3\n[compressor]\nname = 'rand-k'\nk = 2"),
    ("dcsgd", "agents = 2\n[compressor]\nname = 'qsgd'\nlevels = 2"),
    ("dcsgd-sde", "agents = 3\n[compressor]\nname = 'bernoulli'\np = 0.5"),
    ("dcsgd-sde", "agents = 3\n[compressor]\nname = 'rand-k'\nk = 2"),
    ("dcsgd-sde", "agents = 3\n[compressor]\nname = 'identity'"),
];

/// A rotated ill-conditioned quadratic in d = 4 (eigenvalues 1 to 10, a Haar-random basis).
pub(crate) const ROTATED: &str = "[objective]\nname = 'quadratic'\neigenvalues = [1.0, 2.0, 5.0, 10.0]\nbasis = 'random'\nbasis_seed = 7\ncenter = [0.5, 0.0, -0.5, 1.0]\n";

/// An experiment of `model` (with its `extra` [model] lines) on `objective` (a TOML table).
pub(crate) fn on(model: &str, extra: &str, objective: &str, noise: &str, x0: &str) -> optsde::spec::Experiment {
    let refine = if model.ends_with("-sde") { 2 } else { 1 };
    exp(&format!(
        "[model]\nname = '{model}'\neta = 0.01\n{extra}\n{objective}\n[noise]\n{noise}\n[init]\nx0 = {x0}\n\
         [run]\npaths = 1000\nsteps = 300\nrefine = {refine}\n[record]\nevery = 7\n[stationary]\nstart = 150\n\
         every = 3\nbins = 32\n"
    ))
}

/// Every model (each compressor family included) on a dense quadratic: the per-path states after
/// 100 steps of the GPU kernel and its CPU twin, bit for bit on a software adapter (the twin's
/// split arithmetic is what it computes) except for the sign SDEs, within the per-path bound
/// on hardware and for those.
#[test]
fn every_model_agrees_on_a_dense_quadratic() {
    let Some(mut g) = gpu() else { return };
    let arith = Arith::of_adapter(g.is_software());
    for (model, extra) in MODELS {
        let x = on(model, extra, ROTATED, "name = 'gaussian'\nsigma = [0.5, 1.0, 0.2, 2.0]", "[0.5, -0.25, 0.1, 1.0]");
        let a = states_after(&x, &mut g, 1000, 100).unwrap();
        let b = states_after(&x, &mut CpuEngine::with_arith(arith), 1000, 100).unwrap();
        let same = compare_states(&format!("{model} {extra} dense"), &a, &b, 1000, g.is_software());
        // The sign SDEs' erfc branch leaves a few states ulps apart on lavapipe on the diagonal
        // quadratic too (backends.rs prints 3973/4000): they are held to the per-path bound.
        if g.is_software() && !model.ends_with("signsgd-sde") {
            assert_eq!(same, a.len(), "{model} {extra}: dense quadratic states not bit-identical on lavapipe");
        }
    }
}

/// The stationary covariance S of SGD on f = ½ (x − c)ᵀ H (x − c) with noise covariance
/// Σ = diag(σ²): the fixed point of S = A S Aᵀ + q Σ with A = I − ΔtH (docs/objectives.md).
/// Discrete SGD: Δt = η, q = η²; the EM chain of the SGD SDE at refine r: Δt = η/r, q = ηΔt.
fn lyapunov(h: &[Vec<f64>], sigma: &[f64], dt: f64, q: f64) -> Vec<Vec<f64>> {
    let d = h.len();
    let a: Vec<Vec<f64>> =
        (0..d).map(|i| (0..d).map(|j| f64::from(u8::from(i == j)) - dt * h[i][j]).collect()).collect();
    let mut s = vec![vec![0.0; d]; d];
    // The iteration contracts by (1 − Δt λ_min)² per sweep: enough sweeps for 1e-14.
    let sweeps = (40.0 / (dt * 1.0)).ceil() as usize;
    for _ in 0..sweeps {
        let as_: Vec<Vec<f64>> =
            (0..d).map(|i| (0..d).map(|j| (0..d).map(|k| a[i][k] * s[k][j]).sum()).collect()).collect();
        s = (0..d)
            .map(|i| {
                (0..d)
                    .map(|j| {
                        (0..d).map(|k| as_[i][k] * a[j][k]).sum::<f64>()
                            + if i == j { q * sigma[i].powi(2) } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
    }
    s
}

/// `sgd` and `sgd-sde` (refine 1 and 2) on the rotated quadratic with non-isotropic σ, so that S
/// is not diagonal in H's eigenbasis: the full stationary covariance matrix (`stationary.cov`,
/// off-diagonal entries included) and the loss E f = ½ tr(H S) against the Lyapunov fixed
/// point, within [`Z::FAMILY`] SE (eleven quantities per model tested at once: ten entries of
/// the symmetric S and the loss).
fn rotated_quadratic_matches_lyapunov(name: &str, e: &mut dyn Engine) {
    let sigma = [0.5, 1.0, 0.2, 2.0];
    for (model, refine) in [("sgd", 1u32), ("sgd-sde", 1), ("sgd-sde", 2)] {
        let x = exp(&format!(
            "[model]\nname = '{model}'\neta = 0.01\n{ROTATED}[noise]\nname = 'gaussian'\nsigma = [0.5, 1.0, 0.2, 2.0]\n\
             [run]\npaths = 16384\nsteps = 6000\nrefine = {refine}\n[stationary]\nstart = 1000\nevery = 10\n"
        ));
        let optsde::spec::Objective::DenseQuadratic { hessian, .. } = &x.objective else { panic!("dense") };
        let eta = x.model.eta;
        let (dt, q) =
            if model == "sgd" { (eta, eta * eta) } else { (eta / f64::from(refine), eta * eta / f64::from(refine)) };
        let s = lyapunov(hessian, &sigma, dt, q);
        let r = run(&x, e).unwrap();
        let st = &r.stationary;
        let (cov, cov_se) = (st.cov.as_ref().expect("a dense quadratic keeps cov"), st.cov_se.as_ref().unwrap());
        let mut off_diagonal_seen = 0;
        for i in 0..4 {
            assert_eq!((cov[i][i], cov_se[i][i]), (st.var[i], st.var_se[i]), "cov's diagonal is var");
            for j in i..4 {
                assert_eq!(cov[i][j], cov[j][i], "cov is symmetric");
                let tol = Tolerance::se(Z::FAMILY, cov_se[i][j]);
                tol.assert(&format!("{name} {model} r={refine} cov[{i}][{j}]"), cov[i][j], s[i][j]);
                off_diagonal_seen += usize::from(i != j && s[i][j].abs() > 10.0 * cov_se[i][j]);
            }
        }
        // The oracle's off-diagonal entries are resolved, so a wrong sign or pair would show.
        assert!(off_diagonal_seen >= 3, "{model}: only {off_diagonal_seen} off-diagonal entries resolved");
        let loss: f64 = 0.5 * (0..4).map(|i| (0..4).map(|k| hessian[i][k] * s[k][i]).sum::<f64>()).sum::<f64>();
        Tolerance::se(Z::FAMILY, st.loss_se).assert(&format!("{name} {model} r={refine} E f"), st.loss_mean, loss);
        // The off-diagonal entries matter: with S's diagonal alone the loss would be off.
        let diag_only: f64 = 0.5 * (0..4).map(|i| hessian[i][i] * s[i][i]).sum::<f64>();
        assert!(
            (diag_only - loss).abs() > 10.0 * st.loss_se,
            "{model}: the test cannot see S's off-diagonal entries ({diag_only} vs {loss})"
        );
    }
}
per_engine!(rotated_quadratic_matches_lyapunov);

/// An experiment file around an `[objective]` table, read as `optsde run` reads one.
fn parse_objective(objective: &str) -> optsde::Result<optsde::spec::Experiment> {
    let text = format!(
        "[model]\nname = 'sgd'\neta = 0.01\n{objective}\n[noise]\nname = 'gaussian'\nsigma = 1.0\n[run]\npaths = 64\nsteps = 10\n"
    );
    optsde::spec::Experiment::from_str(&text, "toml", "test.toml", "test", &optsde::spec::Overrides::default())
}

/// Bad dense quadratics: an error that names the field, shows the value and says what is
/// expected, before any work.
#[test]
fn bad_dense_quadratics_are_refused_with_the_field() {
    let q = "[objective]\nname = 'quadratic'\n";
    let cases = [
        ("hessian = [[1.0, 0.5], [0.4, 1.0]]", "objective.hessian", "symmetric"),
        ("hessian = [[1.0, 0.5], [0.5]]", "objective.hessian[1]", "every row"),
        ("hessian = [[1.0, 0.5], [0.5, 1.0], [0.0, 0.0]]", "objective.hessian[0]", "3 x 3 matrix"),
        ("hessian = [1.0, 2.0]", "objective.hessian", "array of rows"),
        ("hessian = [[1.0, 'a'], ['a', 1.0]]", "objective.hessian[0][1]", "finite number"),
        ("eigenvalues = [1.0, 2.0]\nbasis = [[1.0, 0.0], [0.5, 1.0]]", "objective.basis", "orthonormal"),
        ("eigenvalues = [1.0, 2.0]\nbasis = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]", "objective.basis[0]", "2 x 2"),
        ("eigenvalues = [1.0, 2.0]\nbasis = 'qr'", "objective.basis", "random"),
        ("eigenvalues = [1.0, 2.0]", "objective.basis", "random"),
        (
            "eigenvalues = [1.0, 2.0]\nbasis = [[1.0, 0.0], [0.0, 1.0]]\nbasis_seed = 3",
            "objective.basis_seed",
            "random",
        ),
        ("h = [1.0, 2.0]\neigenvalues = [1.0, 2.0]\nbasis = 'random'", "objective.eigenvalues", "one of h"),
        ("h = [1.0, 2.0]\nhessian = [[1.0, 0.0], [0.0, 2.0]]", "objective.hessian", "one of h"),
        ("hessian = [[1.0, 0.0], [0.0, 2.0]]\ndim = 2", "dim", "valid keys"),
        ("hessian = [[1.0, 0.0], [0.0, 2.0]]\ncenter = [1.0, 2.0, 3.0]", "objective.center", "length 3"),
    ];
    for (body, field, says) in cases {
        let err = parse_objective(&format!("{q}{body}")).expect_err(body).to_string();
        assert!(err.contains(field) && err.contains(says), "{body}:\n  {err}\n  (want {field:?} and {says:?})");
    }
    // Indefinite Hessians are allowed (saddles: paths along the negative direction diverge).
    parse_objective(&format!("{q}eigenvalues = [-1.0, 2.0]\nbasis = 'random'")).unwrap();
}

/// A dense quadratic written back to a file (experiment.toml) reads back to the same experiment.
#[test]
fn dense_quadratics_round_trip_through_their_file() {
    for body in [
        "hessian = [[2.0, 0.5], [0.5, 1.0]]\ncenter = [1.0, -1.0]",
        "eigenvalues = [1.0, 2.0, 5.0]\nbasis = 'random'\nbasis_seed = 11",
        "eigenvalues = [1.0, 3.0]\nbasis = [[0.6, -0.8], [0.8, 0.6]]",
    ] {
        let x = parse_objective(&format!("[objective]\nname = 'quadratic'\n{body}")).unwrap();
        let text = optsde::spec::to_toml(&x);
        let back =
            optsde::spec::Experiment::from_str(&text, "toml", "back.toml", "test", &optsde::spec::Overrides::default())
                .unwrap();
        assert_eq!(back, x, "{body}\n{text}");
    }
}
