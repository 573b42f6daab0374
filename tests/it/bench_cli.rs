//! `optsde bench` end to end at tiny sizes on the CPU: every suite entry is timed and reported,
//! bench.json holds positive finite figures, a missing Python is a note and not a failure, and
//! bad flags fail with messages that name the flag and the valid values. A few seconds in all.

use std::path::PathBuf;
use std::process::{Command, Output};

use optsde::bench::SUITE;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn bench(args: &[&str]) -> Output {
    Command::new(BIN).arg("bench").args(args).env("CI", "1").output().expect("run optsde")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn positive_finite(v: &Value, what: &str) -> f64 {
    let x = v.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!(x.is_finite() && x > 0.0, "{what} = {x}, expected positive and finite");
    x
}

#[test]
fn tiny_cpu_bench_reports_every_entry_and_writes_bench_json() {
    let dir = out_dir("tiny");
    let out = bench(&[
        "--paths",
        "1024",
        "--steps",
        "50",
        "--backend",
        "cpu",
        "--no-baselines",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "optsde bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    for e in &SUITE {
        let label = e.label();
        assert!(
            stdout.lines().any(|l| l.starts_with(&label) && l.contains("cpu")),
            "no table row for {label}:\n{stdout}"
        );
    }
    assert!(stdout.contains("[CI sizes]"), "CI=1 is not reported:\n{stdout}");
    assert!(stdout.contains("skipped (not asked for"), "baselines not reported as skipped:\n{stdout}");
    // Every landscape has its Python baseline (`tests/it/bench_baselines.rs`), so none is noted.
    assert!(!stderr.contains("no Python baseline"), "an entry has no Python baseline:\n{stderr}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json"))
        .expect("bench.json is JSON");
    assert_eq!(json["sizes"]["paths"], 1024, "{}", json["sizes"]);
    assert_eq!(json["sizes"]["steps"], 50, "{}", json["sizes"]);
    assert_eq!(json["ci"], true);
    assert!(json["machine"]["cpu"].as_str().is_some_and(|s| !s.is_empty()), "{}", json["machine"]);
    let entries = json["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), SUITE.len());
    for (e, spec) in entries.iter().zip(&SUITE) {
        assert_eq!(e["entry"], spec.label().as_str());
        assert_eq!(e["dim"], spec.dim);
        let runs = e["optsde"].as_array().expect("optsde runs");
        assert_eq!(runs.len(), 1, "--backend cpu times one backend: {e}");
        let r = &runs[0];
        assert_eq!(r["backend"]["kind"], "cpu");
        assert_eq!(r["paths"], 1024);
        let what = spec.label();
        // path-steps as `optsde run` counts them (paths × steps), and coordinate updates (× d).
        let ps = positive_finite(&r["path_steps_per_second"], &format!("{what}: path_steps_per_second"));
        let pcs = positive_finite(
            &r["path_coordinate_steps_per_second"],
            &format!("{what}: path_coordinate_steps_per_second"),
        );
        let secs = positive_finite(&r["seconds"], &format!("{what}: seconds"));
        let expect = 1024.0 * 50.0 / secs;
        assert!((ps - expect).abs() <= 1e-9 * expect, "{what}: {ps} path-steps/s, expected {expect}");
        assert!((pcs - ps * spec.dim as f64).abs() <= 1e-9 * pcs, "{what}: {pcs} path-coordinate-steps/s vs {ps} × d");
        positive_finite(&r["stationary_loss"], &format!("{what}: stationary_loss"));
        positive_finite(&r["stationary_loss_se"], &format!("{what}: stationary_loss_se"));
        assert_eq!(e["baselines"].as_array().map(Vec::len), Some(0), "{what}: baselines ran despite --no-baselines");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--only` times the named entries alone, in the suite's order, then the extra entries it names
/// (`adam-sde-d16`); `--baselines none` runs none;
/// `--repeat 3` times each three times and reports the median, after a warm-up of at least
/// half a second.
#[test]
fn only_selects_entries() {
    let dir = out_dir("only");
    let d = dir.to_str().unwrap();
    let args = ["--paths", "512", "--steps", "20", "--backend", "cpu", "--baselines", "none", "--out", d];
    let out = bench(&[&args[..], &["--only", "adam-sde-d16,dsignsgd-d16,sgd-sde-d1", "--repeat", "3"]].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "optsde bench --only failed:\n{stdout}\n{}", text(&out.stderr));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json"))
        .expect("bench.json is JSON");
    let names: Vec<&str> =
        json["entries"].as_array().expect("entries").iter().map(|e| e["entry"].as_str().unwrap()).collect();
    assert_eq!(names, ["sgd-sde d=1", "dsignsgd d=16 N=4", "adam-sde d=16"], "{stdout}");
    assert!(json["tools"].as_array().unwrap().iter().all(|t| t["version"].is_null()), "{}", json["tools"]);
    assert_eq!(json["repeat"], 3);
    assert!(stdout.contains("median of 3 timed runs"), "{stdout}");
    for e in json["entries"].as_array().unwrap() {
        let r = &e["optsde"][0];
        let mut times: Vec<f64> = r["run_seconds"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
        assert_eq!(times.len(), 3, "{e}");
        times.sort_by(f64::total_cmp);
        assert_eq!(r["seconds"].as_f64().unwrap(), times[1], "seconds is the median: {e}");
        // The warm-up lasts WARMUP_MIN_SECONDS, or WARMUP_MAX_RUNS runs of these tiny sizes
        // (20/16 = 1 step of 512 paths) when those end sooner.
        let (warm_s, warm_n) = (r["warmup_seconds"].as_f64().unwrap(), r["warmup_runs"].as_u64().unwrap());
        assert!(
            warm_n >= 1
                && (warm_s >= optsde::bench::WARMUP_MIN_SECONDS || warm_n == u64::from(optsde::bench::WARMUP_MAX_RUNS)),
            "warm-up of {warm_n} runs, {warm_s} s: {e}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_python_is_a_note_not_a_failure() {
    let dir = out_dir("nopython");
    let out = bench(&[
        "--paths",
        "256",
        "--steps",
        "20",
        "--backend",
        "cpu",
        "--python",
        "/nonexistent/python3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "a missing Python failed the bench\nstdout:\n{stdout}\nstderr:\n{stderr}");
    for hint in
        ["baseline numpy: not available (pip install numpy)", "baseline jax: not available (pip install jax[cpu])"]
    {
        assert!(stdout.contains(hint), "no `{hint}` in:\n{stdout}");
    }
    assert!(dir.join("bench.json").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_fail_with_clear_messages() {
    let dir = out_dir("bad");
    let d = dir.to_str().unwrap();
    for (args, needles) in [
        (vec!["--backend", "foo"], vec!["foo", "--backend", "all", "cpu", "gpu"]),
        (vec!["--paths", "0"], vec!["'0'", "--paths", ">= 1"]),
        (vec!["--steps", "0"], vec!["'0'", "--steps", ">= 1"]),
        (vec!["--paths", "many"], vec!["many", "--paths", ">= 1"]),
        (vec!["--baseline-paths", "0"], vec!["--baseline-paths", ">= 1"]),
        (vec!["--baseline-numbers", "0"], vec!["--baseline-numbers", ">= 1"]),
        (vec!["--repeat", "0"], vec!["--repeat", ">= 1"]),
        (vec!["--only", "sgd-d1"], vec!["--only", "sgd-d1", "signsgd-sde-d1", "dsignsgd-d16"]),
        (vec!["--baselines", "julia"], vec!["--baselines", "julia", "numpy", "jax", "torch", "none"]),
        (vec!["--paths", "2000000000000"], vec!["run.paths", "2000000000000"]),
    ] {
        let mut all = args.clone();
        if !args.contains(&"--backend") {
            all.extend(["--backend", "cpu"]);
        }
        all.extend(["--out", d]);
        let out = bench(&all);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "optsde bench {args:?} succeeded");
        for n in needles {
            assert!(stderr.contains(n), "optsde bench {args:?}: `{n}` missing from:\n{stderr}");
        }
        assert!(!dir.join("bench.json").exists(), "optsde bench {args:?} wrote bench.json");
    }
}

/// Each baseline script on its own, where Python has its package (a loud skip otherwise): one
/// JSON line with the statistics the bench compares. PyTorch runs eager here (its
/// `torch.compile` warm-up takes tens of seconds on a CPU; the bench runs the compiled mode).
#[test]
fn baselines_print_their_figures() {
    for (tool, extra) in [("numpy", &[][..]), ("jax", &[]), ("torch", &["--mode", "eager"][..])] {
        let has = Command::new("python3").args(["-c", &format!("import {tool}")]).output();
        if !has.is_ok_and(|o| o.status.success()) {
            eprintln!("SKIPPED baselines_print_their_figures for {tool}: python3 with {tool} not found");
            continue;
        }
        let script = format!("{}/benches/baselines/{tool}_loop.py", env!("CARGO_MANIFEST_DIR"));
        for (model, dim) in [("signsgd-sde", "1"), ("adam-sde", "1"), ("dcsgd", "16"), ("dsignsgd", "16")] {
            let out = Command::new("python3")
                .arg(&script)
                .args(["--model", model, "--dim", dim, "--paths", "512", "--steps", "40", "--seed", "3"])
                .args(extra)
                .output()
                .expect("run python3");
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            assert!(out.status.success(), "{tool} {model}: {stderr}");
            let v: Value =
                serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{tool} {model}: {e}: {stdout}"));
            assert_eq!((&v["tool"], &v["model"]), (&Value::from(tool), &Value::from(model)));
            for key in [
                "seconds",
                "path_steps_per_second",
                "path_coordinate_steps_per_second",
                "final_loss_mean",
                "stationary_loss",
                "stationary_loss_se",
            ] {
                positive_finite(&v[key], &format!("{tool} {model}: {key}"));
            }
            // The bench reads exactly these fields.
            serde_json::from_value::<optsde::bench::BaselineResult>(v)
                .unwrap_or_else(|e| panic!("{tool} {model}: {e}"));
        }
    }
}

/// `OPTSDE_CPU_ARITH` (`optsde::cpu::Arith`): a bad value fails every backend set before
/// anything runs and writes nothing; `split` and the default `fused` are recorded in the table
/// and in bench.json, and give the same stationary loss within 1e-3 of its SE: the states differ
/// by about 1e-7 relative (`tests/it/backends.rs` `fused_and_split_cpu_arithmetic_agree`), and 1e-3
/// SE is about 3e-5 of the loss at these sizes.
#[test]
fn cpu_arith_variable_is_checked_and_recorded() {
    let dir = out_dir("arith");
    let d = dir.to_str().unwrap();
    let args = ["--paths", "1024", "--steps", "40", "--only", "signsgd-sde-d1", "--baselines", "none"];
    let run_on = |backend: &str, arith: Option<&str>| {
        let mut c = Command::new(BIN);
        c.arg("bench").args(args).args(["--backend", backend, "--out", d]).env("CI", "1");
        match arith {
            Some(a) => c.env("OPTSDE_CPU_ARITH", a),
            None => c.env_remove("OPTSDE_CPU_ARITH"),
        };
        c.output().expect("run optsde")
    };
    for backend in ["cpu", "all", "gpu"] {
        let bad = run_on(backend, Some("fma"));
        let err = text(&bad.stderr);
        assert!(!bad.status.success(), "--backend {backend}: OPTSDE_CPU_ARITH=fma was accepted");
        for part in ["OPTSDE_CPU_ARITH", "\"fma\"", "fused or split"] {
            assert!(err.contains(part), "--backend {backend}: no `{part}` in: {err}");
        }
        assert!(!dir.join("bench.json").exists(), "--backend {backend}: a refused bench wrote bench.json");
    }
    let mut losses = Vec::new();
    for (arith, name) in [(None, "fused"), (Some("split"), "split")] {
        let out = run_on("cpu", arith);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{}", text(&out.stderr));
        assert!(stdout.contains(&format!("{name} multiply-add)")), "{stdout}");
        let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json"))
            .expect("bench.json is JSON");
        assert_eq!(json["machine"]["cpu_arith"], name, "{json}");
        // The vector unit the kernels ran on is named beside it, the same in the JSON, the
        // driver string and the table.
        let vector = json["machine"]["cpu_vector"].as_str().expect("cpu_vector");
        assert!(["AVX-512", "AVX2", "baseline"].contains(&vector), "{json}");
        let r = &json["entries"][0]["optsde"][0];
        let driver = r["backend"]["driver"].as_str().expect("driver");
        assert!(driver.ends_with(&format!("{vector} kernels, {name} multiply-add")), "{r}");
        assert!(stdout.contains(&format!("{vector} kernels, {name} multiply-add)")), "{stdout}");
        losses.push((r["stationary_loss"].as_f64().expect("loss"), r["stationary_loss_se"].as_f64().expect("se")));
        let _ = std::fs::remove_file(dir.join("bench.json"));
    }
    let ((a, sa), (b, _)) = (losses[0], losses[1]);
    assert!(
        (a - b).abs() <= 1e-3 * sa,
        "fused {a:e} and split {b:e} stationary losses differ by more than 1e-3 SE ({sa:e})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `OPTSDE_GPU_VARIANT`: a bad value fails the bench before anything runs, with or without an
/// adapter, naming the variable, the key, the value and the valid values; a good one is named
/// after the GPU's driver in the table and in bench.json (where an adapter exists; with
/// OPTSDE_REQUIRE_GPU set it must).
#[test]
fn gpu_variant_variable_is_checked_and_recorded() {
    let dir = out_dir("variant");
    let d = dir.to_str().unwrap();
    let args = ["--paths", "512", "--steps", "20", "--only", "sgd-sde-d1", "--baselines", "none"];
    let run_on = |backend: &str, spec: &str| {
        Command::new(BIN)
            .arg("bench")
            .args(args)
            .args(["--backend", backend, "--out", d])
            .env("CI", "1")
            .env("OPTSDE_GPU_VARIANT", spec)
            .output()
            .expect("run optsde")
    };
    // `all` would bench the CPU alone without an adapter; bad input still fails it: a bad value
    // and an unknown key.
    let refusals = [
        ("checks=off,pack=3", &["OPTSDE_GPU_VARIANT pack", "\"3\"", "[1, 2, 4, 8]"][..]),
        ("packing=2", &["OPTSDE_GPU_VARIANT key", "packing", "pack, speculate, private-hist, coef-regs, checks"]),
    ];
    for backend in ["gpu", "all"] {
        for (spec, parts) in refusals {
            let bad = run_on(backend, spec);
            let err = text(&bad.stderr);
            assert!(!bad.status.success(), "--backend {backend}: {spec} was accepted");
            for part in parts {
                assert!(err.contains(part), "--backend {backend}, {spec}: no `{part}` in: {err}");
            }
            assert!(!dir.join("bench.json").exists(), "--backend {backend}: a refused bench wrote bench.json");
        }
    }
    let good = run_on("gpu", "checks=off, pack=1");
    let (stdout, stderr) = (text(&good.stdout), text(&good.stderr));
    if !good.status.success() && stderr.contains("no GPU adapter") && std::env::var_os("OPTSDE_REQUIRE_GPU").is_none() {
        eprintln!("no GPU adapter: the accepted variant is not run");
        return;
    }
    assert!(good.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("[OPTSDE_GPU_VARIANT=checks=off, pack=1]"), "{stdout}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json"))
        .expect("bench.json is JSON");
    let driver = json["machine"]["gpu"]["driver"].as_str().expect("gpu driver");
    assert!(driver.ends_with("[OPTSDE_GPU_VARIANT=checks=off, pack=1]"), "{driver}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An entry above `backend::SOFTWARE_COMPILE_DIM` (the regression entries, d = 256) is not timed
/// on a software adapter under `--backend all`: lavapipe would compile for minutes. The table
/// and bench.json say so and why, and the CPU times it. On hardware the GPU times it; without an
/// adapter (OPTSDE_REQUIRE_GPU unset) only the CPU row is checked.
#[test]
fn software_adapter_at_large_d_is_not_timed_and_says_why() {
    let dir = out_dir("large-d");
    let d = dir.to_str().unwrap();
    let key = "sgd-sde-d256-regression";
    let out =
        bench(&["--paths", "256", "--steps", "10", "--backend", "all", "--only", key, "--no-baselines", "--out", d]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).expect("bench.json"))
        .expect("bench.json is JSON");
    let e = &json["entries"][0];
    assert_eq!(e["entry"], "sgd-sde d=256 regression");
    assert_eq!(e["optsde"][0]["backend"]["kind"], "cpu", "{e}");
    let label = "sgd-sde d=256 regression";
    assert!(stdout.lines().any(|l| l.starts_with(label) && l.contains("cpu")), "no CPU row:\n{stdout}");
    match (json["machine"]["gpu"].is_object(), json["machine"]["gpu_software"].as_bool()) {
        (true, Some(true)) => {
            assert_eq!(e["optsde"].as_array().map(Vec::len), Some(1), "the software GPU timed d = 256: {e}");
            let n = &e["not_timed"][0];
            assert_eq!(n["backend"], "gpu (sw)", "{e}");
            let reason = n["reason"].as_str().expect("reason");
            for part in ["d = 256 > 64", "software adapter", "--backend gpu"] {
                assert!(reason.contains(part), "no `{part}` in {reason:?}");
            }
            let row = format!("{label} gpu (sw)  not timed: d = 256 > 64");
            assert!(stdout.contains(&row), "no `{row}` in:\n{stdout}");
            assert!(stderr.contains("not timed"), "the log does not say it: {stderr}");
        }
        (true, _) => assert_eq!(e["optsde"].as_array().map(Vec::len), Some(2), "a hardware GPU times it: {e}"),
        (false, _) => {
            assert!(std::env::var_os("OPTSDE_REQUIRE_GPU").is_none(), "no GPU adapter with OPTSDE_REQUIRE_GPU set");
            assert!(e.get("not_timed").is_none(), "{e}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
