//! `[schedule]` (issue 26, docs/schedules.md): η_k = η s(τ) on the clock τ = k + j/refine that
//! optimizers and SDEs share. Noise-free runs follow the f64 product of their steps; noisy SGD
//! and its SDE follow the exact moment recursion of the simulated chain within Monte Carlo
//! tolerances (z named per test); for `poly` the recursion converges to the closed-form mean
//! and the quadrature of the variance ODE; bad values are refused before anything is written.

use crate::common;
use crate::tolerance::{Tolerance, Z};

use common::{TempDir, exp, per_engine, run};
use optsde::plan::Engine;
use optsde::spec::{Experiment, Overrides, Schedule};

/// One `[schedule]` table per kind, with values that move every kind away from the constant rate
/// within 40 steps.
const SCHEDULES: [&str; 4] = [
    "name = 'poly'\np = 0.7",
    "name = 'inverse-sqrt'",
    "name = 'step'\nmilestones = [10, 25]\nfactor = 0.3",
    "name = 'cosine'\nwarmup = 5\nmin_factor = 0.1",
];

fn sgd_toml(model: &str, schedule: &str, sigma: f64, steps: u64, refine: u32, every: u64) -> String {
    format!(
        "[model]\nname = '{model}'\neta = 0.1\n[schedule]\n{schedule}\n[objective]\nname = 'quadratic'\n\
         h = [0.5, 4.0]\n[noise]\nname = 'gaussian'\nsigma = [{sigma}, {sigma}]\n[init]\nx0 = [2.0, -1.0]\n\
         [run]\npaths = 8192\nsteps = {steps}\nrefine = {refine}\nseed = 11\n[record]\nevery = {every}\n"
    )
}

/// The schedule factor at substep `n` of a run with `refine` substeps per step (τ = n/refine).
fn s_at(x: &Experiment, n: u64) -> f64 {
    let tau = n as f64 / f64::from(x.run.refine);
    x.model.schedule.factor(tau, x.model.eta, x.run.steps)
}

/// Noise-free SGD and its SDE (refine 4) on f = ½(0.5 x₀² + 4 x₁²) with every schedule: each
/// substep multiplies x_i by 1 − s h_i Δt (Δt = η for the optimizer, η/4 for the SDE), so every
/// record's mean is the f64 product of those factors; its first step uses η_0 = η. All paths are
/// equal. Tolerance: [`Tolerance::f32_contraction`] with ρ the largest |1 − s h Δt| (the
/// schedule's f32 words and the blend add rounding of the same order, one per substep). The
/// same product at the constant rate lies far outside it, so a schedule ignored, or applied on
/// another clock, fails.
fn noise_free_runs_follow_each_schedule(name: &str, e: &mut dyn Engine) {
    for schedule in SCHEDULES {
        for (model, refine) in [("sgd", 1u32), ("sgd-sde", 4)] {
            let x = exp(&sgd_toml(model, schedule, 0.0, 40, refine, 1).replace("paths = 8192", "paths = 256"));
            let r = run(&x, e).unwrap();
            let dt = x.model.eta / f64::from(refine);
            let rho = (0..40 * u64::from(refine))
                .flat_map(|n| [0.5, 4.0].map(|h| (1.0 - s_at(&x, n) * h * dt).abs()))
                .fold(0.0f64, f64::max);
            let tol = Tolerance::f32_contraction(2.0, rho.max(0.5));
            for (i, (h, x0)) in [(0.5, 2.0), (4.0, -1.0)].into_iter().enumerate() {
                for rec in &r.records {
                    let substeps = rec.step * u64::from(refine);
                    let want = (0..substeps).fold(x0, |v, n| v * (1.0 - s_at(&x, n) * h * dt));
                    let what = format!("{name} {model} [{}] x{i} at step {}", schedule.replace('\n', " "), rec.step);
                    tol.assert(&what, rec.q[i].mean, want);
                }
            }
            let constant = 2.0 * (1.0 - 0.5 * dt).powi((40 * refine) as i32);
            let last = r.records.last().unwrap().q[0].mean;
            assert!(
                (last - constant).abs() > 100.0 * tol.bound(constant),
                "{name} {model} {schedule}: x0 = {last} cannot be told from the constant rate's {constant}"
            );
            let first = r.records[1].q[0].mean;
            let want = 2.0 * (0..u64::from(refine)).fold(1.0, |v, n| v * (1.0 - s_at(&x, n) * 0.5 * dt));
            tol.assert(&format!("{name} {model} {schedule}: the first step"), first, want);
        }
    }
}
per_engine!(noise_free_runs_follow_each_schedule);

/// Mean and variance of a coordinate after each substep of the scheduled chain
/// u' = (1 − s h Δt) u + s √(η Δt) σ Z (the SGD SDE's Euler–Maruyama step; discrete SGD is the
/// same chain with Δt = η): m' = (1 − s h Δt) m, V' = (1 − s h Δt)² V + s² η σ² Δt. Returns
/// (m, V) at every optimizer step up to `steps`.
fn moment_recursion(x: &Experiment, h: f64, sigma: f64, x0: f64, steps: u64) -> Vec<(f64, f64)> {
    let refine = u64::from(x.run.refine);
    let (eta, dt) = (x.model.eta, x.model.eta / refine as f64);
    let (mut m, mut v) = (x0, 0.0);
    let mut out = vec![(m, v)];
    for k in 0..steps {
        for j in 0..refine {
            let s = s_at(x, k * refine + j);
            let a = 1.0 - s * h * dt;
            (m, v) = (a * m, a * a * v + s * s * eta * sigma * sigma * dt);
        }
        out.push((m, v));
    }
    out
}

/// Noisy SGD and the SGD SDE (refine 4) with `poly` p = 0.5 and with `step`, 8192 paths,
/// h = (0.5, 4), σ = 1, 200 steps: every record's mean and variance of both coordinates within
/// [`Z::FAMILY`] SE of the exact recursion ([`moment_recursion`]; 11 records × 2 coordinates × 2
/// moments per run). The paths are Gaussian (a linear chain driven by normals from a fixed
/// start), so the variance's SE is V √(2/(n − 1)) and the mean's √(V/n). The recursion at the
/// constant rate differs by more than the tolerance (asserted), so a schedule dropped from the
/// noise, or applied to the drift alone, fails.
fn noisy_moments_follow_the_exact_recursion(name: &str, e: &mut dyn Engine) {
    for schedule in ["name = 'poly'\np = 0.5", "name = 'step'\nmilestones = [60, 120]\nfactor = 0.25"] {
        for (model, refine) in [("sgd", 1u32), ("sgd-sde", 4)] {
            let x = exp(&sgd_toml(model, schedule, 1.0, 200, refine, 20));
            let flat = exp(&sgd_toml(model, "name = 'constant'", 1.0, 200, refine, 20));
            let r = run(&x, e).unwrap();
            assert_eq!(r.diverged, 0);
            for (i, (h, x0)) in [(0.5, 2.0), (4.0, -1.0)].into_iter().enumerate() {
                let want = moment_recursion(&x, h, 1.0, x0, 200);
                let constant = moment_recursion(&flat, h, 1.0, x0, 200);
                for rec in r.records.iter().filter(|r| r.step > 0) {
                    let q = &rec.q[i];
                    let (m, v) = want[rec.step as usize];
                    let what = format!("{name} {model} [{}] x{i} step {}", schedule.replace('\n', " "), rec.step);
                    Tolerance::se(Z::FAMILY, (v / q.n).sqrt()).assert(&format!("{what} mean"), q.mean, m);
                    let var_tol = Tolerance::se(Z::FAMILY, v * (2.0 / (q.n - 1.0)).sqrt());
                    var_tol.assert(&format!("{what} variance"), q.var(), v);
                }
                let (_, v_end) = want[200];
                let (_, v_flat) = constant[200];
                let tol = Tolerance::se(Z::FAMILY, v_end * (2.0f64 / 8191.0).sqrt());
                assert!((v_flat - v_end).abs() > tol.bound(v_end), "{name} {model} x{i}: the constant rate's {v_flat}");
            }
        }
    }
}
per_engine!(noisy_moments_follow_the_exact_recursion);

/// `poly` in model time, s(t) = (1 + t)^−p: the mean ODE m' = −s h m has the closed form
/// m(t) = m₀ e^{−h S(t)}, S(t) = ((1 + t)^{1−p} − 1)/(1 − p) (ln(1 + t) at p = 1), and the
/// variance ODE V' = −2 s h V + η s² σ² the solution e^{−2hS(t)} ∫₀ᵗ η σ² s(u)² e^{2hS(u)} du
/// (Simpson's rule on 20 000 intervals here, error < 1e-10). The recursion the tests above use
/// is their Euler–Maruyama chain: each substep's factor 1 − shΔt is e^{−shΔt} less (shΔt)²/2,
/// so its mean is the ODE's times e^{−(h²Δt/2)∫s²} ≥ 1 − (h²Δt/2) t, and its variance's error
/// is of the same order. At h = 1, Δt = 2.5e-5 (η = 0.1, refine 4000) and t = 5 that is
/// 6.3e-5; both are asserted within 2e-4. (At the tests' Δt the recursion is far from the ODE,
/// which is why the Monte Carlo tests use it, exact for the simulated chain, and not the ODE.)
#[test]
fn poly_recursion_converges_to_the_closed_form() {
    let (h, sigma, x0, eta) = (1.0, 1.0, -1.0, 0.1);
    for p in [0.5, 1.0, 1.7] {
        let s = |t: f64| (1.0 + t).powf(-p);
        let big_s = |t: f64| {
            if (p - 1.0f64).abs() < 1e-12 { (1.0 + t).ln() } else { ((1.0 + t).powf(1.0 - p) - 1.0) / (1.0 - p) }
        };
        let t_end = 5.0;
        let f = |u: f64| eta * sigma * sigma * s(u) * s(u) * (2.0 * h * big_s(u)).exp();
        let n = 20_000;
        let w = t_end / n as f64;
        let integral = (0..=n)
            .map(|i| {
                let c = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                c * f(i as f64 * w)
            })
            .sum::<f64>()
            * w
            / 3.0;
        let m_ode = x0 * (-h * big_s(t_end)).exp();
        let v_ode = (-2.0 * h * big_s(t_end)).exp() * integral;
        let steps = (t_end / eta).round() as u64;
        let x = exp(&format!(
            "[model]\nname = 'sgd-sde'\neta = {eta}\n[schedule]\nname = 'poly'\np = {p}\n[objective]\n\
             name = 'quadratic'\nh = [{h}]\n[noise]\nname = 'gaussian'\nsigma = [{sigma}]\n[init]\nx0 = [{x0}]\n\
             [run]\npaths = 256\nsteps = {steps}\nrefine = 4000\n"
        ));
        let (m, v) = moment_recursion(&x, h, sigma, x0, steps)[steps as usize];
        assert!((m / m_ode - 1.0).abs() < 2e-4, "p = {p}: mean {m} vs closed form {m_ode}");
        assert!((v / v_ode - 1.0).abs() < 2e-4, "p = {p}: variance {v} vs ODE {v_ode}");
    }
}

/// Bad values are refused with the field, the value and the valid range: p < 0, factor ≤ 0,
/// milestones out of order, outside the run or too many, a warm-up as long as the run, min_factor
/// outside [0, 1], an unknown name or a key of another schedule, and the curvature correction
/// with a schedule; `optsde run` writes nothing for them. Every schedule survives the file's
/// round trip, `schedule.p` is a sweep key that keeps one kernel, and a scheduled run has no
/// stationary theory line.
#[test]
fn schedules_are_validated_and_round_trip() {
    let parse = |t: &str| Experiment::from_str(t, "toml", "test", "test", &Overrides::default());
    let with = |schedule: &str| sgd_toml("sgd-sde", schedule, 1.0, 100, 2, 10);
    for (schedule, needles) in [
        ("name = 'poly'\np = -0.5", &["schedule.p", "-0.5", ">= 0"][..]),
        ("name = 'poly'", &["schedule.p", "power"]),
        ("name = 'step'\nmilestones = [10]\nfactor = 0", &["schedule.factor", "> 0"]),
        ("name = 'step'\nmilestones = [50, 20]\nfactor = 0.5", &["schedule.milestones", "[50, 20]", "increasing"]),
        ("name = 'step'\nmilestones = [20, 100]\nfactor = 0.5", &["schedule.milestones", "run.steps = 100"]),
        ("name = 'step'\nmilestones = [1, 2, 3, 4, 5]\nfactor = 0.5", &["schedule.milestones", "1 to 4"]),
        ("name = 'step'\nmilestones = [2.5]\nfactor = 0.5", &["schedule.milestones", "integers"]),
        ("name = 'cosine'\nwarmup = 100", &["schedule.warmup", "100", "< run.steps = 100"]),
        ("name = 'cosine'\nmin_factor = 1.5", &["schedule.min_factor", "1.5", "[0, 1]"]),
        ("name = 'cosine'\np = 0.5", &["schedule.p"]),
        ("name = 'exponential'", &["schedule.name", "exponential", "inverse-sqrt"]),
    ] {
        let e = parse(&with(schedule)).expect_err(schedule).to_string();
        assert!(needles.iter().all(|n| e.contains(n)), "{schedule}: {e}");
    }
    let curvature = with("name = 'inverse-sqrt'").replace("eta = 0.1", "eta = 0.1\ncorrection = 'curvature'");
    let e = parse(&curvature).expect_err("curvature with a schedule").to_string();
    assert!(e.contains("model.correction") && e.contains("inverse-sqrt"), "{e}");

    // Nothing written: the run folder is not created.
    let tmp = TempDir::new("schedule-bad");
    let f = tmp.file("bad.toml", &with("name = 'poly'\np = -1"));
    let out = tmp.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_optsde"))
        .args(["run", f.to_str().unwrap(), "--backend", "cpu", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("schedule.p"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.exists(), "a refused experiment left {}", out.display());

    for schedule in SCHEDULES.iter().chain(&["name = 'constant'", "name = 'cosine'"]) {
        let x = parse(&with(schedule)).unwrap();
        assert_eq!(parse(&optsde::spec::to_toml(&x)).unwrap(), x, "{schedule}");
        let th = optsde::theory::stationary(&x, &[1.0, 1.0]);
        assert_eq!(th.laws.iter().any(Option::is_some), x.model.schedule.is_constant(), "{schedule}");
    }
    let cosine = parse(&with("name = 'cosine'")).unwrap();
    assert_eq!(cosine.model.schedule, Schedule::Cosine { warmup: 0, min_factor: 0.0 });

    let study = optsde::spec::Study::from_str(
        &format!("{}\n[sweep]\n\"schedule.p\" = [0.0, 0.5, 1.0]\n", with("name = 'poly'\np = 0.1")),
        "toml",
        "test",
        "test",
        &Overrides::default(),
    )
    .unwrap();
    let ps: Vec<_> = study.points.iter().map(|p| p.exp.model.schedule.clone()).collect();
    assert_eq!(ps, [0.0, 0.5, 1.0].map(|p| Schedule::Poly { p }));
}

/// Spec §11.5's P3 claim for DSignSGD under Cauchy noise (Student-t ν = 1, no mean, infinite
/// variance), N = 4 agents, f = ½x², x₀ = 1, η = 0.05, 16 000 steps, noise scales s = 0.25, 1, 2:
/// at a constant rate the method is stable (no path leaves the divergence bound) but does not
/// converge: its loss sits at the floor E f ≈ ηπs/(8N) (docs/distributed.md with c₁ = 1/π),
/// the same at K/2 and K (within 20%; 2048 paths make the SE about 2% of the floor). With
/// η/√(k + 1) it converges: the floor follows η_k, so the loss at K is under a tenth of the
/// constant rate's (the adiabatic prediction is 1/√K ≈ 0.008; the relaxation rate 2η_k/(πs)
/// per step lags the decay, hence the margin) and falls by a quarter at least from K/4 to K
/// (prediction: by half), with no path diverged. Larger s is slower, not different: the start's
/// offset decays as e^{−(2/(πs))Σ η_k}, e^{−2} at s = 4 by step K, which then dominates the loss.
fn dsignsgd_under_cauchy_noise_converges_only_with_a_decaying_step(name: &str, e: &mut dyn Engine) {
    let steps = 16_000u64;
    let at = |r: &optsde::plan::RunResult, step: u64| {
        r.records.iter().find(|rec| rec.step == step).expect("a record at this step").q[1].mean
    };
    for s in [0.25, 1.0, 2.0] {
        let toml = |schedule: &str| {
            format!(
                "[model]\nname = 'dsignsgd'\neta = 0.05\nagents = 4\n[schedule]\n{schedule}\n[objective]\n\
                 name = 'quadratic'\nh = [1.0]\n[noise]\nname = 'student-t'\nnu = 1\nscale = [{s}]\n[init]\n\
                 x0 = [1.0]\n[run]\npaths = 2048\nsteps = {steps}\nseed = 3\ndivergence_bound = 100.0\n\
                 [record]\nevery = 1000\n"
            )
        };
        let constant = run(&exp(&toml("name = 'constant'")), e).unwrap();
        let decaying = run(&exp(&toml("name = 'inverse-sqrt'")), e).unwrap();
        assert_eq!((constant.diverged, decaying.diverged), (0, 0), "{name} s = {s}: Cauchy noise diverged a path");
        let floor = 0.05 * std::f64::consts::PI * s / 32.0;
        let (half, end) = (at(&constant, steps / 2), at(&constant, steps));
        assert!(
            (end / half - 1.0).abs() < 0.2 && end > 0.5 * floor,
            "{name} s = {s}: the constant rate's loss {half} -> {end} should stay at its floor ~{floor}"
        );
        let (quarter, last) = (at(&decaying, steps / 4), at(&decaying, steps));
        assert!(last < 0.1 * end, "{name} s = {s}: η/√(k+1) ends at {last}, not under a tenth of {end}");
        assert!(last < 0.75 * quarter, "{name} s = {s}: η/√(k+1) stalls: {quarter} at K/4, {last} at K");
    }
}
per_engine!(dsignsgd_under_cauchy_noise_converges_only_with_a_decaying_step);

/// The gradient-norm schedules without noise on f = ½(0.5 x₀² + 4 x₁²), η = 0.1, x₀ = (2, −1),
/// 40 steps: each (sub)step is x ← x − ηΔ s g with g = ∇f(x) and s = 1/(β + n) (`normalized`,
/// β = 0.5) or min(1, c/n) (`clipped`, c = 0.5), n = ‖g‖ or |gᵢ| (`coordinate`); without noise
/// the sampled gradient is ∇f, so norm_of "stochastic" (sgd) and "true" (sgd, and sgd-sde at
/// refine 2, Δ = 1/2) follow the same f64 recursion. Tolerance 1e-5 absolute: each step rounds a
/// handful of f32 operations on values below 4 (≤ 2⁻²¹ each), 80 substeps at most, and the
/// recursion contracts (|1 − ηΔ s h| < 1), so errors do not grow; a wrong norm or factor moves
/// the first step by ~1e-2.
fn noise_free_norm_schedules_follow_their_recursion(name: &str, e: &mut dyn Engine) {
    for kind in ["name = 'normalized'\nbeta = 0.5", "name = 'clipped'\nclip = 0.5"] {
        for coordinate in [false, true] {
            for (model, norm_of, refine) in [("sgd", "stochastic", 1u32), ("sgd", "true", 1), ("sgd-sde", "true", 2)] {
                let schedule = format!("{kind}\nnorm_of = '{norm_of}'\ncoordinate = {coordinate}");
                let x = exp(&sgd_toml(model, &schedule, 0.0, 40, refine, 1).replace("paths = 8192", "paths = 256"));
                let r = run(&x, e).unwrap();
                let sch = &x.model.schedule;
                let dt = x.model.eta / f64::from(refine);
                let mut state = [2.0f64, -1.0];
                let mut want = vec![state];
                for _ in 0..40 {
                    for _ in 0..refine {
                        let g = [0.5 * state[0], 4.0 * state[1]];
                        let n = (g[0] * g[0] + g[1] * g[1]).sqrt();
                        for i in 0..2 {
                            let s = sch.norm_factor(if coordinate { g[i].abs() } else { n });
                            state[i] -= dt * s * g[i];
                        }
                    }
                    want.push(state);
                }
                for rec in &r.records {
                    for i in 0..2 {
                        let what =
                            format!("{name} {model} [{}] x{i} at step {}", schedule.replace('\n', " "), rec.step);
                        Tolerance::absolute(1e-5).assert(&what, rec.q[i].mean, want[rec.step as usize][i]);
                    }
                }
            }
        }
    }
}
per_engine!(noise_free_norm_schedules_follow_their_recursion);

/// `normalized` on the sampled gradient per coordinate with β → 0 is SignSGD:
/// η gᵢ/(β + |gᵢ|) = η sign(gᵢ) up to β/|gᵢ|. SGD and SignSGD draw the same normals for the same
/// seed, so with β = 1e-12 every record's moments of the two runs (d = 2, σ = (1, 0.5), 8192
/// paths, 200 steps) agree to f32 rounding of the steps: 1e-5 relative to the sd. Over the whole
/// vector it is not SignSGD (it moves along g/‖g‖): the first record's variance differs from
/// SignSGD's by far more, which the test asserts too.
fn normalized_sgd_with_vanishing_beta_is_signsgd(name: &str, e: &mut dyn Engine) {
    let toml = |model: &str, schedule: &str| {
        format!(
            "[model]\nname = '{model}'\neta = 0.05\n{schedule}\n[objective]\nname = 'quadratic'\nh = [1.0, 3.0]\n\
             [noise]\nname = 'gaussian'\nsigma = [1.0, 0.5]\n[init]\nx0 = [1.0, -1.0]\n[run]\npaths = 8192\n\
             steps = 200\nseed = 5\n[record]\nevery = 20\n"
        )
    };
    let sign = run(&exp(&toml("signsgd", "")), e).unwrap();
    let mut norm = |coordinate: bool| {
        let s =
            format!("[schedule]\nname = 'normalized'\nbeta = 1e-12\nnorm_of = 'stochastic'\ncoordinate = {coordinate}");
        run(&exp(&toml("sgd", &s)), e).unwrap()
    };
    let per_coordinate = norm(true);
    for (a, b) in per_coordinate.records.iter().zip(&sign.records) {
        for i in 0..2 {
            let sd = b.q[i].var().sqrt().max(1e-3);
            let what = format!("{name} normalized per coordinate vs signsgd x{i} step {}", a.step);
            Tolerance::absolute(1e-5 * sd).assert(&format!("{what} mean"), a.q[i].mean, b.q[i].mean);
            Tolerance::absolute(1e-5 * sd * sd).assert(&format!("{what} variance"), a.q[i].var(), b.q[i].var());
        }
    }
    let whole = norm(false);
    let (w, s) = (&whole.records[1].q[1], &sign.records[1].q[1]);
    assert!((w.var() / s.var() - 1.0).abs() > 0.05, "{name}: the whole-vector normalisation is not SignSGD");
}
per_engine!(normalized_sgd_with_vanishing_beta_is_signsgd);

/// The gradient-norm schedules' bad input: β ≤ 0, c ≤ 0, norm_of missing or unknown, the sampled
/// gradient's norm on a model whose step is not −η times it, any of them on sampled data; and
/// their round trip.
#[test]
fn norm_schedules_are_validated_and_round_trip() {
    let parse = |t: &str| Experiment::from_str(t, "toml", "test", "test", &Overrides::default());
    for (model, schedule, needles) in [
        ("sgd", "name = 'normalized'\nbeta = 0\nnorm_of = 'true'", &["schedule.beta", "> 0"][..]),
        ("sgd", "name = 'clipped'\nclip = -1\nnorm_of = 'true'", &["schedule.clip", "-1", "> 0"]),
        ("sgd", "name = 'clipped'\nclip = 1", &["schedule.norm_of", "stochastic"]),
        ("sgd", "name = 'clipped'\nclip = 1\nnorm_of = 'sampled'", &["schedule.norm_of", "sampled"]),
        ("sgd", "name = 'clipped'\nclip = 1\nnorm_of = 'true'\ncoordinate = 1", &["schedule.coordinate"]),
        ("sgd-sde", "name = 'normalized'\nbeta = 1\nnorm_of = 'stochastic'", &["schedule.norm_of", "sgd-sde"]),
        ("adam", "name = 'normalized'\nbeta = 1\nnorm_of = 'stochastic'", &["schedule.norm_of", "model adam"]),
    ] {
        let t = sgd_toml(model, schedule, 1.0, 100, if model.ends_with("sde") { 2 } else { 1 }, 10);
        let e = parse(&t).expect_err(schedule).to_string();
        assert!(needles.iter().all(|n| e.contains(n)), "{model} {schedule}: {e}");
    }
    let data = "[model]\nname = 'sgd'\neta = 0.01\n[schedule]\nname = 'clipped'\nclip = 1\nnorm_of = 'true'\n\
                [objective]\nname = 'linear-regression'\nk = [1.0, 2.0]\n[noise]\nname = 'gaussian'\nsigma = 0.1\n\
                [run]\npaths = 256\nsteps = 10\n";
    let e = parse(data).expect_err("a norm schedule on data").to_string();
    assert!(e.contains("schedule.name") && e.contains("samples data"), "{e}");
    for (model, schedule) in [
        ("dcsgd", "name = 'normalized'\nbeta = 0.5\nnorm_of = 'stochastic'\ncoordinate = true"),
        ("sgd-sde", "name = 'clipped'\nclip = 2\nnorm_of = 'true'"),
    ] {
        let t = sgd_toml(model, schedule, 1.0, 100, 1, 10);
        let t = if model == "dcsgd" { t.replace("eta = 0.1", "eta = 0.1\nagents = 2") } else { t };
        let x = parse(&t).unwrap();
        assert_eq!(parse(&optsde::spec::to_toml(&x)).unwrap(), x, "{schedule}");
    }
}
