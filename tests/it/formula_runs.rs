//! Losses written as formulas in the engine (docs/objectives.md): every model on both backends,
//! bit for bit on a software adapter; formulas that spell a built-in objective equal it; 1-D
//! stationary laws against the Gibbs density (SGD SDE) and the Fokker–Planck density (SignSGD
//! SDE), by quadrature; bad formulas refused with the place.

use crate::backends::compare_states;
use crate::common;
use crate::landscapes::{MODELS, on};
use crate::tolerance::{Tolerance, Z};

use common::{exp, gpu, per_engine, run};
use optsde::cpu::{Arith, CpuEngine};
use optsde::plan::{Engine, states_after};
use statrs::function::erf::{erf, erfc};

/// A coupled, non-quadratic formula with scalar and vector parameters, in d = 4.
const COUPLED: &str = "[objective]\nname = 'expression'\n\
    loss = 'sum(i, 0.5*h[i]*(x[i] - c[i])^2 + b*x[i]*x[i+1]) + 0.1*cos(x2) + 0.05*cosh(x3)'\ndim = 4\n\
    params = { h = [1.0, 2.0, 5.0, 10.0], c = [0.5, 0.0, -0.5, 1.0], b = 0.3 }\n";

/// Every model (each compressor family included) on a formula: the per-path states after 100
/// steps of the GPU kernel and its CPU twin, bit for bit on a software adapter except for the
/// sign SDEs (their erfc branch, as on the diagonal quadratic), within the per-path bound
/// otherwise.
#[test]
fn every_model_agrees_on_a_formula() {
    let Some(mut g) = gpu() else { return };
    let arith = Arith::of_adapter(g.is_software());
    for (model, extra) in MODELS {
        let x = on(model, extra, COUPLED, "name = 'gaussian'\nsigma = [0.5, 1.0, 0.2, 2.0]", "[0.5, -0.25, 0.1, 1.0]");
        let a = states_after(&x, &mut g, 1000, 100).unwrap();
        let b = states_after(&x, &mut CpuEngine::with_arith(arith), 1000, 100).unwrap();
        let same = compare_states(&format!("{model} {extra} formula"), &a, &b, 1000, g.is_software());
        if g.is_software() && !model.ends_with("signsgd-sde") {
            assert_eq!(same, a.len(), "{model} {extra}: formula states not bit-identical on lavapipe");
        }
    }
}

/// A formula that spells the diagonal quadratic (with h and c as parameters) and one that
/// spells a dense 2 × 2 quadratic give the built-in objective's states to rounding after 100
/// steps, on the CPU twin and on the adapter, for a model of each family; how many are
/// bit-identical is printed (the diagonal one is: ½h·y + ½h·y = h·y exactly).
#[test]
fn formulas_equal_the_objectives_they_spell() {
    let diag = "[objective]\nname = 'quadratic'\nh = [1.0, 2.0, 5.0, 10.0]\ncenter = [0.5, 0.0, -0.5, 1.0]\n";
    let diag_formula = "[objective]\nname = 'expression'\nloss = 'sum(i, 0.5*h[i]*(x[i] - c[i])^2)'\ndim = 4\n\
        params = { h = [1.0, 2.0, 5.0, 10.0], c = [0.5, 0.0, -0.5, 1.0] }\n";
    let dense = "[objective]\nname = 'quadratic'\nhessian = [[2.0, 0.5], [0.5, 1.0]]\n";
    let dense_formula = "[objective]\nname = 'expression'\nloss = '0.5*(2*x0^2 + 2*0.5*x0*x1 + x1^2)'\n";
    let mut engines: Vec<(String, Box<dyn Engine>)> = vec![("cpu".into(), Box::new(CpuEngine::new()))];
    if let Some(g) = gpu() {
        engines.push(("gpu".into(), Box::new(g)));
    }
    for (name, e) in &mut engines {
        for (model, extra) in [("sgd-sde", ""), ("signsgd", ""), ("adam", ""), ("dsignsgd-sde", "agents = 3")] {
            for (built_in, formula, sigma, x0) in [
                (diag, diag_formula, "[0.5, 1.0, 0.2, 2.0]", "[0.5, -0.25, 0.1, 1.0]"),
                (dense, dense_formula, "[0.5, 1.0]", "[0.5, -0.25]"),
            ] {
                let noise = format!("name = 'gaussian'\nsigma = {sigma}");
                let a = states_after(&on(model, extra, formula, &noise, x0), e.as_mut(), 1000, 100).unwrap();
                let b = states_after(&on(model, extra, built_in, &noise, x0), e.as_mut(), 1000, 100).unwrap();
                compare_states(
                    &format!("{name} {model}: formula vs {}", built_in.lines().nth(2).unwrap()),
                    &a,
                    &b,
                    1000,
                    false,
                );
            }
        }
    }
}

/// ∫ w(x) e^{−U(x)} dx / ∫ e^{−U(x)} dx on [lo, hi] by the trapezoid rule on n intervals, for
/// each weight w in `ws`; `u` is U on the grid.
fn averages(lo: f64, hi: f64, n: usize, u: impl Fn(f64) -> f64, ws: &[&dyn Fn(f64) -> f64]) -> Vec<f64> {
    let h = (hi - lo) / n as f64;
    let xs: Vec<f64> = (0..=n).map(|k| lo + h * k as f64).collect();
    let us: Vec<f64> = xs.iter().map(|&x| u(x)).collect();
    let umin = us.iter().cloned().fold(f64::INFINITY, f64::min);
    let p: Vec<f64> =
        us.iter().enumerate().map(|(k, &v)| (umin - v).exp() * if k == 0 || k == n { 0.5 } else { 1.0 }).collect();
    let z: f64 = p.iter().sum();
    ws.iter().map(|w| xs.iter().zip(&p).map(|(&x, &q)| w(x) * q).sum::<f64>() / z).collect()
}

/// The tilted double well of examples/double-well.toml.
fn double_well(x: f64) -> f64 {
    0.25 * (x * x - 1.0).powi(2) + 0.1 * x
}

/// The Gibbs density ∝ exp(−2f/(ησ²)) of dX = −f′(X) dt + √η σ dW: quadrature checks first
/// (f = x⁴/4 gives E f = ησ²/8 exactly), then the `sgd-sde` runs on three 1-D formulas: E x,
/// E x², E f and the well occupancy P(x > 0) (from the histogram; its SE is that of E x over
/// the wells' distance 2, since x ≈ ±1) within [`Z::FAMILY`] SE plus the Euler–Maruyama bias
/// allowance Δt·κ·(scale) with κ = 3, a bound on |f″| over the bulk of each law: the exact EM
/// chain of an OU process with curvature h has relative variance bias hΔt/2 (docs/sgd.md), and
/// κ doubles the double well's largest well curvature f″(−1.05) = 2.3 with margin.
fn gibbs_laws_of_one_dimensional_formulas(name: &str, e: &mut dyn Engine) {
    let (eta, sigma) = (0.1f64, 2.0f64);
    let temp = eta * sigma * sigma / 2.0;
    let q = averages(-30.0, 30.0, 200_000, |x| x.powi(4) / 4.0 / temp, &[&|x: f64| x.powi(4) / 4.0]);
    assert!(
        (q[0] - eta * sigma * sigma / 8.0).abs() < 1e-9,
        "quadrature of x^4/4: {} vs {}",
        q[0],
        eta * sigma * sigma / 8.0
    );
    let refine = 10u32;
    let dt = eta / f64::from(refine);
    for (loss, f) in [
        ("0.25*(x0^2 - 1)^2 + 0.1*x0", &double_well as &dyn Fn(f64) -> f64),
        ("x0^4/4", &|x: f64| x.powi(4) / 4.0),
        ("cosh(x0)", &|x: f64| x.cosh()),
    ] {
        let x = exp(&format!(
            "[model]\nname = 'sgd-sde'\neta = {eta}\n[objective]\nname = 'expression'\nloss = '{loss}'\n\
             [noise]\nname = 'gaussian'\nsigma = {sigma}\n[init]\nx0 = 0.5\n[run]\npaths = 16384\nsteps = 2000\n\
             refine = {refine}\n[stationary]\nstart = 500\nevery = 5\nrange = [-4.0, 4.0]\nbins = 80\n"
        ));
        let want =
            averages(-8.0, 8.0, 160_000, |y| f(y) / temp, &[&|y| y, &|y| y * y, f, &|y| f64::from(u8::from(y > 0.0))]);
        // The run's own theory (the figures' line and summary.json's theory loss) is the same law.
        let (theory, _) = optsde::theory::stationary(&x, &[4.0]).loss.expect("the Gibbs law of a 1-D formula");
        assert!(
            (theory - want[2]).abs() <= 1e-5 * want[2].abs(),
            "{loss}: theory E f {theory} vs quadrature {}",
            want[2]
        );
        let r = run(&x, e).unwrap();
        let st = &r.stationary;
        let sd = (want[1] - want[0] * want[0]).sqrt();
        let bias = |scale: f64| 3.0 * dt * scale;
        let what = |q: &str| format!("{name} sgd-sde on {loss}: {q}");
        Tolerance::se(Z::FAMILY, st.mean_se[0]).bias(bias(sd)).assert(&what("E x"), st.mean[0], want[0]);
        Tolerance::se(Z::FAMILY, st.second_moment_se[0]).bias(bias(want[1])).assert(
            &what("E x^2"),
            st.second_moment[0],
            want[1],
        );
        Tolerance::se(Z::FAMILY, st.loss_se).bias(bias(want[2].abs().max(sd * sd))).assert(
            &what("E f"),
            st.loss_mean,
            want[2],
        );
        let h = &r.histograms[0];
        let total = (h.counts.iter().sum::<u64>() + h.underflow + h.overflow) as f64;
        let above = (h.counts[h.counts.len() / 2..].iter().sum::<u64>() + h.overflow) as f64 / total;
        Tolerance::se(Z::FAMILY, st.mean_se[0] / 2.0).bias(bias(1.0)).assert(&what("P(x > 0)"), above, want[3]);
    }
}
per_engine!(gibbs_laws_of_one_dimensional_formulas);

/// The SignSGD SDE dX = b dt + √D dW with b = −erf(f′/(√2σ)) and D = η(1 − erf²) on the tilted
/// double well: its 1-D Fokker–Planck density p ∝ D⁻¹ exp(∫ 2b/D), by quadrature (f′ by the
/// formula's derivative), against E x, E x² and E f within [`Z::FAMILY`] SE plus the EM bias
/// allowance of [`gibbs_laws_of_one_dimensional_formulas`] with κ = 3/σ·√(2/π)·... taken as the
/// drift's largest slope over the bulk, max |b′| ≤ √(2/π) f″/σ ≤ 2.
fn signsgd_sde_matches_its_fokker_planck_density(name: &str, e: &mut dyn Engine) {
    // Near the wells the drift is ≈ −√(2/π) f′/σ and D ≈ η: a Gibbs-like law at temperature
    // ησ/(2√(2/π)) = 0.25, so the deeper well's barrier (0.35) is crossed within a few time
    // units and the 600 time units run mix the wells.
    let (eta, sigma) = (0.2f64, 2.0f64);
    let refine = 20u32;
    let dt = eta / f64::from(refine);
    let fp = |x: f64| x * x * x - x + 0.1;
    let b = |x: f64| -erf(fp(x) / (std::f64::consts::SQRT_2 * sigma));
    // 1 − erf² = erfc(a)(2 − erfc(a)), a = |f′|/(√2σ), without cancellation; on [−3, 3] a ≤ 17,
    // where erfc is still far from underflow, and beyond |x| = 3 the drift holds the density
    // below e^{−100}.
    let d = |x: f64| {
        let c = erfc(fp(x).abs() / (std::f64::consts::SQRT_2 * sigma));
        eta * c * (2.0 - c)
    };
    // U = −ln p = ln D − Φ with Φ(x) = ∫₀ˣ 2b/D, integrated outward from the grid's middle (x = 0)
    // so that the steep ends never swamp the middle.
    let (lo, hi, n) = (-3.0f64, 3.0f64, 120_000usize);
    let step = (hi - lo) / n as f64;
    let at = |k: usize| lo + step * k as f64;
    let mut phi = vec![0.0f64; n + 1];
    let rate = |x: f64| 2.0 * b(x) / d(x);
    for k in n / 2 + 1..=n {
        phi[k] = phi[k - 1] + 0.5 * step * (rate(at(k - 1)) + rate(at(k)));
    }
    for k in (0..n / 2).rev() {
        phi[k] = phi[k + 1] - 0.5 * step * (rate(at(k)) + rate(at(k + 1)));
    }
    let u = |x: f64| {
        let k = (((x - lo) / step).round() as usize).min(n);
        d(x).ln() - phi[k]
    };
    let want = averages(lo, hi, n, u, &[&|y| y, &|y| y * y, &double_well]);
    let x = exp(&format!(
        "[model]\nname = 'signsgd-sde'\neta = {eta}\n[objective]\nname = 'expression'\n\
         loss = '0.25*(x0^2 - 1)^2 + 0.1*x0'\n[noise]\nname = 'gaussian'\nsigma = {sigma}\n[init]\nx0 = 0.5\n\
         [run]\npaths = 16384\nsteps = 3000\nrefine = {refine}\n[stationary]\nstart = 1000\nevery = 5\n"
    ));
    let r = run(&x, e).unwrap();
    let st = &r.stationary;
    let sd = (want[1] - want[0] * want[0]).sqrt();
    let bias = |scale: f64| 2.0 * dt * scale;
    let what = |q: &str| format!("{name} signsgd-sde on the double well: {q}");
    Tolerance::se(Z::FAMILY, st.mean_se[0]).bias(bias(sd)).assert(&what("E x"), st.mean[0], want[0]);
    Tolerance::se(Z::FAMILY, st.second_moment_se[0]).bias(bias(want[1])).assert(
        &what("E x^2"),
        st.second_moment[0],
        want[1],
    );
    Tolerance::se(Z::FAMILY, st.loss_se).bias(bias(sd * sd)).assert(&what("E f"), st.loss_mean, want[2]);
}
per_engine!(signsgd_sde_matches_its_fokker_planck_density);

/// An experiment file around an `[objective]` table and an `[init]` line.
fn parse(objective: &str, x0: &str) -> optsde::Result<optsde::spec::Experiment> {
    let text = format!(
        "[model]\nname = 'sgd'\neta = 0.01\n{objective}\n[noise]\nname = 'gaussian'\nsigma = 1.0\n[init]\nx0 = {x0}\n\
         [run]\npaths = 64\nsteps = 10\n"
    );
    optsde::spec::Experiment::from_str(&text, "toml", "test.toml", "test", &optsde::spec::Overrides::default())
}

/// Bad formulas: an error naming the field and what is wrong, with the column for syntax, before
/// any work.
#[test]
fn bad_formulas_are_refused_with_the_place() {
    let e = "[objective]\nname = 'expression'\n";
    let cases = [
        ("loss = '0.5*(x0 + 1'", "0.0", &["objective.loss", "column"][..]),
        ("loss = '0.5*x0 +* 2'", "0.0", &["objective.loss", "column 9"]),
        ("loss = 'b*x0^2'", "0.0", &["objective.loss", "`b`"]),
        ("loss = 'sum(i, x[i+2]^2)'\ndim = 1", "0.0", &["objective.loss", "x[i+2]"]),
        ("loss = '1/x0'", "0.0", &["objective.loss", "undefined at the start", "init.x0"]),
        ("loss = 'log(x0)'", "[0.0]", &["objective.loss", "not finite"]),
        ("loss = 'sum(i, c[i]*x[i]^2)'\ndim = 3\nparams = { c = [1.0, 2.0] }", "0.0", &["c", "2"]),
        ("loss = 'x0^2'\nparams = { a = 'two' }", "0.0", &["objective.params.a", "finite number"]),
        ("loss = 'x0^2'\nh = [1.0]", "0.0", &["objective.h", "valid keys"]),
        ("loss = 'x0^2'\ncenter = 1.0", "0.0", &["objective.center", "valid keys"]),
        ("h = [1.0]", "0.0", &["objective.h", "valid keys"]),
        ("loss = ''", "0.0", &["objective.loss", "non-empty"]),
        ("loss = 'x0^2 + x1^2'", "[1.0, 2.0, 3.0]", &["init.x0", "length 3"]),
    ];
    for (body, x0, says) in cases {
        let err = parse(&format!("{e}{body}"), x0).expect_err(body).to_string();
        assert!(says.iter().all(|s| err.contains(s)), "{body}:\n  {err}\n  (want all of {says:?})");
    }
    let q = "[objective]\nname = 'quadratic'\nh = 1.0\nloss = 'x0^2'";
    let err = parse(q, "0.0").expect_err("loss under quadratic").to_string();
    assert!(err.contains("objective.loss") && err.contains("valid keys"), "{err}");
}

/// A formula objective written back to a file (experiment.toml) reads back to the same experiment.
#[test]
fn formulas_round_trip_through_their_file() {
    let x = parse(COUPLED, "0.0").unwrap();
    let text = optsde::spec::to_toml(&x);
    let back =
        optsde::spec::Experiment::from_str(&text, "toml", "back.toml", "test", &optsde::spec::Overrides::default())
            .unwrap();
    assert_eq!(back, x, "{text}");
}

/// `[sweep] a = [...]` over a formula's scalar parameter: one kernel for every point (the
/// parameter lives in the objective buffer), and each point's stationary estimate equals a
/// single run with that value, bit for bit (its paths and random numbers are the same).
#[test]
fn sweeps_over_formula_parameters_equal_single_runs() {
    let base = "[model]\nname = 'sgd-sde'\neta = 0.1\n[objective]\nname = 'expression'\n\
        loss = '0.25*(x0^2 - 1)^2 + a*x0'\nparams = { a = 0.1 }\n[noise]\nname = 'gaussian'\nsigma = 2.0\n\
        [run]\npaths = 1024\nsteps = 400\nrefine = 2\n[stationary]\nstart = 100\nrange = [-3.0, 3.0]\n";
    let none = optsde::spec::Overrides::default();
    for sweep in ["[sweep]\na = [0.0, 0.2]\n", "[sweep]\nobjective.params.a = [0.0, 0.2]\n"] {
        let study = optsde::spec::Study::from_str(&format!("{base}{sweep}"), "toml", "s.toml", "s", &none).unwrap();
        assert_eq!(study.axes[0].key, "objective.params.a", "{sweep}");
        let points: Vec<_> = study.points.iter().map(|p| p.exp.clone()).collect();
        let rs = optsde::plan::run_study(&points, &mut CpuEngine::new(), &mut |_| {}, None).unwrap();
        for (point, r) in study.points.iter().zip(&rs) {
            let a = point.values[0];
            let single = exp(&base.replace("a = 0.1 }", &format!("a = {a:?} }}")));
            let s = run(&single, &mut CpuEngine::new()).unwrap();
            assert_eq!(r.stationary.loss_mean.to_bits(), s.stationary.loss_mean.to_bits(), "a = {a}");
        }
    }
    let err = optsde::spec::Study::from_str(&format!("{base}[sweep]\nb = [1.0]\n"), "toml", "s.toml", "s", &none)
        .expect_err("b is no parameter")
        .to_string();
    assert!(err.contains("sweep.b") && err.contains("a (objective.params.a)"), "{err}");
}
