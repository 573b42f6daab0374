//! The landscapes the bench hands its Python baselines (`optsde::bench::ScriptLandscape`, the
//! scripts' `--landscape` JSON): for every suite and extra entry, the JSON's parameters define
//! the same f and ∇f as the objective optsde runs (checked in Rust, no Python needed); and, where
//! python3 has the package (a loud skip otherwise), each script's hand-written loss and gradient
//! agree with optsde's at fixed points, `optsde bench` runs the NumPy baseline on every
//! landscape, and each script's loops on sampled regression data agree with optsde's in law.

use std::process::Command;

use optsde::bench::{
    EXTRA, Entry, Landscape, REGRESSION_SPECTRUM, REGRESSION_TARGET_SEED, SUITE, ScriptLandscape, Sizes, experiment,
    script_landscape,
};
use optsde::experiment::{Experiment, Objective};
use serde_json::Value;

/// Relative tolerance of f32 script values against optsde's f64 ones, on the scale
/// 1 + max |value| of the point (a gradient's entries cancel; f32 rounding is ~6e-8 per operation).
const F32_REL: f64 = 2e-5;
/// f64 against f64 (the same formula evaluated two ways).
const F64_REL: f64 = 1e-12;

/// The entries on a landscape other than the built-in quadratic (the suite's, then the extra
/// ones: the regression entries).
fn landscape_entries() -> impl Iterator<Item = &'static Entry> {
    SUITE.iter().chain(&EXTRA).filter(|e| e.landscape != Landscape::Quadratic)
}

fn entry_experiment(e: &Entry) -> Experiment {
    experiment(e, Sizes { paths: 256, steps: 20 }).unwrap_or_else(|err| panic!("{}: {err}", e.key()))
}

/// Fixed points in [−1.5, 1.5]^d, away from any special value.
fn points(d: usize) -> Vec<Vec<f64>> {
    (0..5).map(|p| (0..d).map(|i| 1.5 * (1.3 * i as f64 + 0.7 * p as f64 + 0.4).sin()).collect()).collect()
}

/// optsde's f and ∇f in f64: the formula's reverse mode, or H (x − c).
fn optsde_loss_grad(exp: &Experiment, x: &[f64]) -> (f64, Vec<f64>) {
    let loss = exp.objective.loss(x);
    let grad = match &exp.objective {
        Objective::Expression { .. } => {
            let (f, words) = exp.objective.formula().expect("a formula");
            f.gradient_f64(x, &words)
        }
        Objective::DenseQuadratic { hessian, center, .. } => hessian
            .iter()
            .map(|row| row.iter().zip(x.iter().zip(center)).map(|(h, (x, c))| h * (x - c)).sum())
            .collect(),
        Objective::Quadratic { h, center } | Objective::LinearRegression { k: h, target: center, .. } => {
            h.iter().zip(x.iter().zip(center)).map(|(h, (x, c))| h * (x - c)).collect()
        }
    };
    (loss, grad)
}

/// f and ∇f as numpy_loop.py's docstring defines them from the JSON's parameters, in f64.
fn script_loss_grad(l: &ScriptLandscape, x: &[f64]) -> (f64, Vec<f64>) {
    let d = x.len();
    match l {
        ScriptLandscape::Quadratic { h, .. } => {
            (0.5 * h * x.iter().map(|v| v * v).sum::<f64>(), x.iter().map(|v| h * v).collect())
        }
        ScriptLandscape::Dense { h, c } => {
            let y: Vec<f64> = x.iter().zip(c).map(|(x, c)| x - c).collect();
            let hy: Vec<f64> = (0..d).map(|i| (0..d).map(|j| h[i * d + j] * y[j]).sum()).collect();
            (0.5 * y.iter().zip(&hy).map(|(a, b)| a * b).sum::<f64>(), hy)
        }
        ScriptLandscape::DoubleWell { a, b, .. } => {
            let v = x[0];
            (a * (v * v - 1.0).powi(2) + b * v, vec![4.0 * a * v * (v * v - 1.0) + b])
        }
        ScriptLandscape::Regression { k, target, .. } => {
            let r: Vec<f64> = x.iter().zip(target).map(|(x, t)| x - t).collect();
            let g: Vec<f64> = k.iter().zip(&r).map(|(k, r)| k * r).collect();
            (0.5 * g.iter().zip(&r).map(|(g, r)| g * r).sum::<f64>(), g)
        }
        ScriptLandscape::Rosenbrock { a, b, .. } => {
            let mut g = vec![0.0; d];
            let mut f = 0.0;
            for i in 0..d - 1 {
                let r = x[i + 1] - x[i] * x[i];
                f += b * r * r + (a - x[i]).powi(2);
                g[i] += -4.0 * b * x[i] * r - 2.0 * (a - x[i]);
                g[i + 1] += 2.0 * b * r;
            }
            (f, g)
        }
    }
}

fn close(what: &str, got: f64, want: f64, scale: f64, rel: f64) {
    let tol = rel * scale;
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, expected {want:e}, difference {:e}, tolerance {tol:e}",
        (got - want).abs()
    );
}

#[test]
fn script_landscapes_are_the_objectives_optsde_runs() {
    for e in SUITE.iter().chain(&EXTRA) {
        let exp = entry_experiment(e);
        let l = script_landscape(e, &exp).unwrap_or_else(|why| panic!("{}: {why}", e.key()));
        let json = serde_json::to_value(&l).expect("serialises");
        let kind = match e.landscape {
            Landscape::Quadratic | Landscape::QuadraticFormula => "quadratic",
            Landscape::Dense => "dense",
            Landscape::DoubleWell => "double-well",
            Landscape::Rosenbrock => "rosenbrock",
            Landscape::Regression => "regression",
        };
        assert_eq!(json["kind"], kind, "{}: {json}", e.key());
        // The formula text travels with the parameters, for the record.
        if let (Some(text), Objective::Expression { loss, .. }) = (e.landscape.formula(), &exp.objective) {
            assert_eq!(&text, loss, "{}", e.key());
            assert_eq!(json["formula"], text.as_str(), "{}: {json}", e.key());
        }
        if let (ScriptLandscape::Dense { h, c }, Objective::DenseQuadratic { hessian, center, .. }) =
            (&l, &exp.objective)
        {
            // Row-major, every entry as optsde holds it, and the eigenvalues 1..2 of the entry
            // (the trace is their sum).
            assert_eq!(h.len(), e.dim * e.dim);
            assert_eq!(h, &hessian.concat());
            assert_eq!(c, center);
            let trace: f64 = (0..e.dim).map(|i| h[i * e.dim + i]).sum();
            close(&format!("{}: trace", e.key()), trace, 1.5 * e.dim as f64, 1.5 * e.dim as f64, 1e-12);
        }
        if let ScriptLandscape::Regression { k, target, sigma, batch } = &l {
            // The documented problem: K = diag(linspace(0.2, 2, d)), x* ~ N(0, I/d) from seed 0,
            // the suite's σ = 1 as the label noise, one data point per step; as optsde holds it.
            let Objective::LinearRegression { k: ok, target: ot, batch: ob, .. } = &exp.objective else {
                panic!("{}: not a linear-regression objective", e.key())
            };
            assert_eq!((k, target, batch), (ok, ot, ob), "{}", e.key());
            let (lo, hi) = REGRESSION_SPECTRUM;
            assert_eq!(k, &optsde::regression::data::linear_spectrum(lo, hi, e.dim), "{}", e.key());
            assert_eq!(target, &optsde::regression::data::draw_target(e.dim, REGRESSION_TARGET_SEED), "{}", e.key());
            assert_eq!((*sigma, *batch), (1.0, 1), "{}: {json}", e.key());
        }
        for (p, x) in points(e.dim).iter().enumerate() {
            let (f, g) = optsde_loss_grad(&exp, x);
            let (fs, gs) = script_loss_grad(&l, x);
            let scale = 1.0 + f.abs().max(g.iter().fold(0.0, |a, v| a.max(v.abs())));
            close(&format!("{} point {p}: f", e.key()), fs, f, scale, F64_REL);
            for i in 0..e.dim {
                close(&format!("{} point {p}: ∂f/∂x{i}", e.key()), gs[i], g[i], scale, F64_REL);
            }
        }
    }
    // The formulas' text is what issue 24's figures were measured with (benches/NOTES.md).
    assert_eq!(Landscape::QuadraticFormula.formula().unwrap(), "sum(i, 0.5*x[i]^2)");
    assert_eq!(Landscape::DoubleWell.formula().unwrap(), "0.25*(x0^2 - 1)^2 + 0.1*x0");
    assert_eq!(Landscape::Rosenbrock.formula().unwrap(), "sum(i, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)");
}

/// Whether `python3 -c "import <tool>"` works; says so loudly when not.
fn has_python_package(tool: &str, test: &str) -> bool {
    let ok = Command::new("python3").args(["-c", &format!("import {tool}")]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED {test} for {tool}: python3 with {tool} not found (pip install {tool})");
    }
    ok
}

fn numbers(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not a list: {v}"))
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// Each script's `--evaluate`: its float32 loss and gradient of every suite landscape at fixed
/// points, against optsde's formula (reverse mode, f64) or H (x − c).
#[test]
fn script_gradients_match_optsde() {
    for tool in ["numpy", "jax", "torch"] {
        if !has_python_package(tool, "script_gradients_match_optsde") {
            continue;
        }
        let script = format!("{}/benches/baselines/{tool}_loop.py", env!("CARGO_MANIFEST_DIR"));
        let mut seen = Vec::new();
        for e in landscape_entries() {
            let exp = entry_experiment(e);
            let landscape = serde_json::to_string(&script_landscape(e, &exp).expect("a script landscape")).unwrap();
            let pts = points(e.dim);
            let out = Command::new("python3")
                .arg(&script)
                .args(["--model", "sgd-sde", "--dim", &e.dim.to_string(), "--paths", "1", "--steps", "1"])
                .args(["--landscape", &landscape, "--evaluate", &serde_json::to_string(&pts).unwrap()])
                .output()
                .expect("run python3");
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "{tool} {}: {stderr}", e.key());
            let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{tool}: {err}: {stdout}"));
            let losses = numbers(&v["loss"], "loss");
            let grads = v["grad"].as_array().expect("grad");
            assert_eq!((losses.len(), grads.len()), (pts.len(), pts.len()), "{tool} {}: {v}", e.key());
            for (p, x) in pts.iter().enumerate() {
                // optsde at the point as the script saw it (rounded to f32).
                let x32: Vec<f64> = x.iter().map(|&v| f64::from(v as f32)).collect();
                let (f, g) = optsde_loss_grad(&exp, &x32);
                let gs = numbers(&grads[p], "grad");
                assert_eq!(gs.len(), e.dim);
                let scale = 1.0 + f.abs().max(g.iter().fold(0.0, |a, v| a.max(v.abs())));
                let what = format!("{tool} {} point {p}", e.key());
                close(&format!("{what}: f"), losses[p], f, scale, F32_REL);
                for i in 0..e.dim {
                    close(&format!("{what}: ∂f/∂x{i}"), gs[i], g[i], scale, F32_REL);
                }
            }
            seen.push(e.key());
        }
        eprintln!("{tool}: loss and gradient agree with optsde on {}", seen.join(", "));
    }
}

/// `optsde bench` hands every landscape to the NumPy baseline, which runs it and records it.
#[test]
fn bench_runs_the_numpy_baseline_on_every_landscape() {
    if !has_python_package("numpy", "bench_runs_the_numpy_baseline_on_every_landscape") {
        return;
    }
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-landscapes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys: Vec<String> = landscape_entries().map(Entry::key).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_optsde"))
        .args(["bench", "--paths", "512", "--steps", "20", "--backend", "cpu", "--baselines", "numpy"])
        .args(["--python", "python3", "--only", &keys.join(","), "--out", dir.to_str().unwrap()])
        .env("CI", "1")
        .output()
        .expect("run optsde");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("no Python baseline"), "{stderr}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json")).unwrap();
    let entries = json["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), keys.len());
    for (e, spec) in entries.iter().zip(landscape_entries()) {
        let b = &e["baselines"][0];
        assert_eq!(b["tool"], "numpy", "{e}");
        let r = &b["result"];
        assert!(r.is_object(), "{}: no NumPy result: {b}", spec.key());
        let kind =
            serde_json::to_value(script_landscape(spec, &entry_experiment(spec)).unwrap()).unwrap()["kind"].clone();
        assert_eq!((&r["model"], &r["landscape"]), (&Value::from(spec.model), &kind), "{r}");
        let loss = r["stationary_loss"].as_f64().expect("stationary_loss");
        assert!(loss.is_finite(), "{}: {r}", spec.key());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The regression entries' loops in law: optsde's CPU backend and each script (PyTorch eager:
/// its compiled mode takes tens of seconds to warm up) on the landscape JSON the bench hands
/// them, 2048 paths × 40 steps from x0 = 0, each with its own random streams; their stationary
/// excess risks (steps 20, 30, 40) agree within 4.5 combined SE. That SE, at most 6e-4, is far
/// below what dropping the label noise changes at these sizes (benches/NOTES.md, session 5).
#[test]
fn regression_loops_agree_with_optsde_in_law() {
    let entries: Vec<&Entry> = EXTRA.iter().filter(|e| e.landscape == Landscape::Regression).collect();
    let keys: Vec<String> = entries.iter().map(|e| e.key()).collect();
    assert_eq!(keys, ["signsgd-d256-regression", "sgd-sde-d256-regression"]);
    let tools: Vec<&str> =
        ["numpy", "jax", "torch"].into_iter().filter(|t| has_python_package(t, "regression_loops_agree")).collect();
    if tools.is_empty() {
        return;
    }
    let (paths, steps) = ("2048", "40");
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-regression-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_optsde"))
        .args(["bench", "--paths", paths, "--steps", steps, "--backend", "cpu", "--baselines", "none"])
        .args(["--only", &keys.join(","), "--out", dir.to_str().unwrap()])
        .output()
        .expect("run optsde");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json")).unwrap();
    let reports = json["entries"].as_array().expect("entries");
    assert_eq!(reports.len(), entries.len());
    for (e, rep) in entries.iter().zip(reports) {
        let r = &rep["optsde"][0];
        let (lo, so) = (r["stationary_loss"].as_f64().unwrap(), r["stationary_loss_se"].as_f64().unwrap());
        let landscape = serde_json::to_string(&script_landscape(e, &entry_experiment(e)).unwrap()).unwrap();
        for tool in &tools {
            let script = format!("{}/benches/baselines/{tool}_loop.py", env!("CARGO_MANIFEST_DIR"));
            let mode: &[&str] = if *tool == "torch" { &["--mode", "eager"] } else { &[] };
            let out = Command::new("python3")
                .arg(&script)
                .args(["--model", e.model, "--dim", &e.dim.to_string(), "--paths", paths, "--steps", steps])
                .args(["--seed", "3", "--landscape", &landscape])
                .args(mode)
                .output()
                .expect("run python3");
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "{tool} {}: {stderr}", e.key());
            let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{tool}: {err}: {stdout}"));
            assert_eq!(v["landscape"], "regression", "{tool} {}: {v}", e.key());
            let (lb, sb) = (v["stationary_loss"].as_f64().unwrap(), v["stationary_loss_se"].as_f64().unwrap());
            let z = (lb - lo) / (so * so + sb * sb).sqrt();
            eprintln!("{} {tool}: {lb:.5e} ± {sb:.1e} against optsde {lo:.5e} ± {so:.1e}, z = {z:.2}", e.key());
            assert!(
                z.abs() < 4.5,
                "{} {tool}: stationary excess risk {lb:e} ± {sb:e}, optsde {lo:e} ± {so:e}, z = {z}",
                e.key()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
