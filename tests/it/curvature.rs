//! `correction = "curvature"` on the SGD-type SDEs (issue 26, docs/curvature.md): the drift
//! −∇f + (η/2)∇²f∇f, which on the diagonal quadratic is −a(x − c) with a = h(1 − ηh/2). Every
//! oracle is exact for the simulated Euler–Maruyama chain (Monte Carlo tolerance only, z named
//! per test), and each test also checks what the correction is for: gradient descent's step-size
//! limit ηh < 2 and DCSGD's exact discrete second moment, which the first-order SDE misses.

use crate::common;
use crate::tolerance::{Tolerance, Z};

use common::{exp, per_engine, run};
use optsde::plan::Engine;
use optsde::spec::{Experiment, Overrides};

/// The corrected drift rate a = h(1 − ηh/2).
fn rate(h: f64, eta: f64) -> f64 {
    h * (1.0 - 0.5 * eta * h)
}

/// The exact EM stationary E x² of the (DC)SGD SDE with drift rate a, step Δt, N agents and
/// compressor ω: the fixed point of m' = (1 − aΔt)² m + (ηΔt/N)((1 + ω)σ² + ωh² m), i.e.
/// (η/N)(1 + ω)σ² / (a(2 − aΔt) − ηωh²/N).
fn em_second_moment(a: f64, h: f64, sigma2: f64, eta: f64, n: f64, omega: f64, dt: f64) -> f64 {
    (eta / n) * (1.0 + omega) * sigma2 / (a * (2.0 - a * dt) - eta * omega * h * h / n)
}

/// Noise-free `sgd-sde` on f = ½(x₀² + 5x₁²), η = 0.5, x₀ = (1, 1), refine 8: ηh = 0.5 and 2.5.
/// Corrected, the EM chain is x_n = (1 − aΔt)ⁿ with a = (0.75, −1.25): coordinate 0 decays and
/// coordinate 1 grows, as gradient descent does at ηh > 2 (the continuous law is
/// f(X_t) = f(X₀)e^{−2a t}, converging iff ηh < 2). Uncorrected, both decay. All paths are
/// equal, so each record's mean is the chain's value, up to f32 rounding of 8k products
/// (relative 1e-5 covers 64 roundings of 2^−24 with a margin of ten).
fn curvature_keeps_the_step_size_limit(name: &str, e: &mut dyn Engine) {
    let (eta, refine, steps) = (0.5, 8u32, 8u64);
    let dt = eta / f64::from(refine);
    let toml = |correction: &str| {
        format!(
            "[model]\nname = 'sgd-sde'\neta = {eta}\n{correction}\n[objective]\nname = 'quadratic'\n\
             h = [1.0, 5.0]\n[noise]\nname = 'gaussian'\nsigma = [0.0, 0.0]\n[init]\nx0 = [1.0, 1.0]\n\
             [run]\npaths = 256\nsteps = {steps}\nrefine = {refine}\n[record]\nevery = 1\n"
        )
    };
    let corrected = run(&exp(&toml("correction = 'curvature'")), e).unwrap();
    let plain = run(&exp(&toml("")), e).unwrap();
    for (r, curvature) in [(&corrected, true), (&plain, false)] {
        assert_eq!(r.records.len(), steps as usize + 1);
        for rec in &r.records {
            for (i, h) in [1.0, 5.0].into_iter().enumerate() {
                let a = if curvature { rate(h, eta) } else { h };
                let want = (1.0 - a * dt).powi((rec.step * u64::from(refine)) as i32);
                let got = rec.q[i].mean;
                assert!(
                    (got - want).abs() <= 1e-5 * want.abs(),
                    "{name} curvature={curvature} step {} x{i}: {got} vs EM chain {want}",
                    rec.step
                );
            }
        }
        let last = r.records.last().unwrap();
        let grows = last.q[1].mean > 1.0;
        assert_eq!(grows, curvature, "{name}: ηh = 2.5 must grow only with the correction ({})", last.q[1].mean);
        assert!(last.q[0].mean < 1.0, "{name}: ηh = 0.5 decays either way");
    }
}
per_engine!(curvature_keeps_the_step_size_limit);

/// `dcsgd-sde` with Bernoulli p = 1/4 (ω = 3), N = 2, h = 2, σ = 1, η = 0.05 (spec §7's numbers):
/// the corrected SDE's continuous-time E X∞² = η(1 + ω)σ²/(h(2N − ηh(N + ω))) = 0.028571 is the
/// exact discrete DCSGD value; the first-order SDE's is 0.027027 (5.4% lower). At refine 10 the
/// EM chain's value is 0.5% above the continuous one; the test checks the EM value within
/// [`Z::MANY`] SE and that the first-order value lies outside. Size: rate 2a − ηωh²/N = 3.5 per
/// unit time; burn-in 200 steps = 10 time units (35 relaxation times), then 1000 steps
/// (50 units) of averaging over 4096 paths: relative SE ≈ √(2/(4096 · 50 · 3.5)) ≈ 0.2%.
fn corrected_dcsgd_sde_has_the_discrete_second_moment(name: &str, e: &mut dyn Engine) {
    let (h, eta, n, omega, refine) = (2.0, 0.05, 2.0, 3.0, 10u32);
    let dt = eta / f64::from(refine);
    let x = exp(&format!(
        "[model]\nname = 'dcsgd-sde'\neta = {eta}\nagents = 2\ncorrection = 'curvature'\n[compressor]\n\
         name = 'bernoulli'\np = 0.25\n[objective]\nname = 'quadratic'\nh = [{h}]\n[noise]\nname = 'gaussian'\n\
         sigma = [1.0]\n[run]\npaths = 4096\nsteps = 1200\nrefine = {refine}\nseed = 7\n[record]\nevery = 1200\n\
         [stationary]\nstart = 200\nevery = 5\nbins = 8\nrange = [-1.0, 1.0]\n"
    ));
    let r = run(&x, e).unwrap();
    let discrete = eta * (1.0 + omega) / (h * (2.0 * n - eta * h * (n + omega)));
    assert!((discrete - 0.028571).abs() < 5e-7, "spec §7's number: {discrete}");
    let first_order = eta * (1.0 + omega) / (h * (2.0 * n - eta * omega * h));
    let em = em_second_moment(rate(h, eta), h, 1.0, eta, n, omega, dt);
    let continuous = em_second_moment(rate(h, eta), h, 1.0, eta, n, omega, 0.0);
    assert!((continuous / discrete - 1.0).abs() < 1e-12, "the corrected SDE's value is the discrete one");
    let st = &r.stationary;
    let tol = Tolerance::se(Z::MANY, st.second_moment_se[0]);
    assert!(tol.bound(em) < 0.02 * em, "{name}: {tol} cannot tell the first-order value apart");
    tol.assert(&format!("{name} corrected dcsgd-sde E x^2 (EM value)"), st.second_moment[0], em);
    assert!(
        (st.second_moment[0] - first_order).abs() > tol.bound(first_order),
        "{name}: the first-order SDE's {first_order} is not excluded ({})",
        st.second_moment[0]
    );
    assert_eq!(r.diverged, 0);
}
per_engine!(corrected_dcsgd_sde_has_the_discrete_second_moment);

/// `correction` is refused, naming the field and what it applies to, on a model without the
/// corrected SDE, with a value other than "curvature" or "none", and on an objective whose
/// ∇²f∇f the kernels do not compute yet; it survives the experiment file's round trip, and the
/// theory the figures draw uses the corrected rate.
#[test]
fn curvature_is_validated_and_round_trips() {
    let base = |model: &str, objective: &str| {
        format!(
            "[model]\n{model}\neta = 0.1\n[objective]\n{objective}\n[noise]\nname = 'gaussian'\nsigma = [1.0, 1.0]\n\
             [run]\npaths = 256\nsteps = 100\n"
        )
    };
    let quad = "name = 'quadratic'\nh = [1.0, 4.0]";
    let parse = |t: &str| Experiment::from_str(t, "toml", "test", "test", &Overrides::default());
    for (model, objective, needle) in [
        ("name = 'sgd'\ncorrection = 'curvature'", quad, "model sgd has no curvature-corrected SDE"),
        ("name = 'signsgd-sde'\ncorrection = 'curvature'", quad, "model signsgd-sde has no curvature"),
        ("name = 'sgd-sde'\ncorrection = 'second-order'", quad, "\"curvature\", \"none\""),
        (
            "name = 'sgd-sde'\ncorrection = 'curvature'",
            "name = 'quadratic'\nhessian = [[1.0, 0.5], [0.5, 2.0]]",
            "diagonal quadratic",
        ),
    ] {
        let e = parse(&base(model, objective)).expect_err(model).to_string();
        assert!(e.contains("model.correction") && e.contains(needle), "{model}: {e}");
    }
    let x = parse(&base("name = 'sgd-sde'\ncorrection = 'curvature'", quad)).unwrap();
    assert!(x.model.curvature);
    let again = parse(&optsde::spec::to_toml(&x)).unwrap();
    assert_eq!(again, x);
    let none = parse(&base("name = 'sgd-sde'\ncorrection = 'none'", quad)).unwrap();
    assert!(!none.model.curvature && !optsde::spec::to_toml(&none).contains("correction"));
    // The stationary loss the figures draw: ½ Σ h E u², with the corrected rate.
    let th = optsde::theory::stationary(&x, &[1.0, 1.0]);
    let (eta, dt) = (0.1, 0.1);
    let want: f64 =
        [1.0, 4.0].iter().map(|&h| 0.5 * h * em_second_moment(rate(h, eta), h, 1.0, eta, 1.0, 0.0, dt)).sum();
    let (loss, _) = th.loss.expect("a closed form");
    assert!((loss / want - 1.0).abs() < 1e-12, "theory {loss} vs {want}");
}
