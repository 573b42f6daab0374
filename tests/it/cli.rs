//! The `optsde` binary end to end: a small run writes the three files, and every bad input
//! fails with a message naming the field and the value, exit code non-zero, and no output
//! directory.

use crate::common;

use common::TempDir;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// The reference quadratic, small enough to run in well under a second on the CPU.
const TINY: &str = r#"
[model]
name = "sgd"
eta = 1e-3

[objective]
name = "quadratic"
h = [1, 2, 5, 10]

[noise]
name = "gaussian"
sigma = [1, 2, 0.5, 3]

[run]
paths = 512
steps = 200
seed = 7

[record]
every = 50

[stationary]
start = 100
every = 10
bins = 16
"#;

fn optsde(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the optsde binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Environment under which wgpu finds no adapter (no Vulkan ICD, Vulkan only).
const NO_GPU: &[(&str, &str)] = &[
    ("VK_ICD_FILENAMES", "/nonexistent/none.json"),
    ("VK_DRIVER_FILES", "/nonexistent/none.json"),
    ("WGPU_BACKEND", "vulkan"),
];

/// TINY with the line starting with `old` replaced by `new`.
fn edit(old: &str, new: &str) -> String {
    assert!(TINY.lines().any(|l| l.starts_with(old)), "TINY has no line {old:?}");
    TINY.lines().map(|l| if l.starts_with(old) { new } else { l }).collect::<Vec<_>>().join("\n")
}

/// Runs `optsde run FILE --backend cpu --out DIR EXTRA...` (or with `args` instead of FILE
/// when `text` is None) and checks: failure, every `parts` in stderr, no DIR.
#[track_caller]
fn fails(text: Option<&str>, args: &[&str], parts: &[&str]) -> String {
    let tmp = TempDir::new("bad");
    let out = tmp.path().join("out").join("nested");
    let out_s = out.to_str().unwrap().to_string();
    let mut all: Vec<String> = Vec::new();
    if let Some(text) = text {
        let f = tmp.file("exp.toml", text);
        all.push(f.to_str().unwrap().to_string());
    }
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(["--out".to_string(), out_s, "--backend".into(), "cpu".into()]);
    let mut argv = vec!["run"];
    argv.extend(all.iter().map(String::as_str));
    let o = optsde(&argv, &[]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{argv:?} succeeded:\n{}", stdout(&o));
    assert_eq!(o.status.code(), Some(1), "{argv:?}: {err}");
    assert!(err.starts_with("error: "), "{argv:?}: {err}");
    for p in parts {
        assert!(err.contains(p), "{argv:?}: stderr lacks {p:?}:\n{err}");
    }
    assert!(!tmp.path().join("out").exists(), "{argv:?} created the output directory");
    err
}

#[test]
fn examples_lists_sgd_and_signsgd() {
    let o = optsde(&["examples"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("sgd "), "{s}");
    assert!(s.contains("signsgd "), "{s}");
    assert!(s.contains("optsde run --example"), "{s}");
}

#[test]
fn devices_answers_without_an_adapter() {
    let o = optsde(&["devices"], NO_GPU);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("No GPU adapter was found"), "{s}");
    assert!(s.contains("CPU backend"), "{s}");
    assert!(s.contains("mesa-vulkan-drivers"), "{s}");
}

#[test]
fn small_cpu_run_writes_the_three_files() {
    let tmp = TempDir::new("ok");
    let f = tmp.file("tiny.toml", TINY);
    let out = tmp.path().join("results").join("tiny");
    let o = optsde(&["run", f.to_str().unwrap(), "--backend", "cpu", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("path-steps/s"), "{text}");
    assert!(text.contains("stationary"), "{text}");

    // summary.json
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
        .expect("summary.json is valid JSON");
    for key in [
        "experiment",
        "backend",
        "paths",
        "steps",
        "dim",
        "diverged",
        "diverged_fraction",
        "wall_seconds",
        "path_steps_per_second",
        "em_updates_per_second",
        "chunk",
        "final",
        "stationary",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    for key in ["kind", "adapter", "driver", "api"] {
        assert!(summary["backend"][key].is_string(), "backend.{key}");
    }
    assert_eq!(summary["backend"]["kind"], "cpu");
    assert_eq!(summary["paths"], 512);
    assert_eq!(summary["steps"], 200);
    assert_eq!(summary["dim"], 4);
    assert_eq!(summary["diverged"], 0);
    assert_eq!(summary["experiment"]["run"]["seed"], 7);
    assert!(summary["path_steps_per_second"].as_f64().unwrap() > 0.0);
    assert!(summary["em_updates_per_second"].as_f64().unwrap() > 0.0);
    // Linux reports the resident high-water mark: at least the binary's own pages, far below
    // this machine's memory for 512 paths.
    if cfg!(target_os = "linux") {
        let peak = summary["peak_memory_bytes"].as_u64().expect("peak_memory_bytes on Linux");
        assert!(peak > 1 << 20 && peak < 4 << 30, "peak_memory_bytes = {peak}");
        assert!(text.contains("peak memory"), "{text}");
    }
    let fin = &summary["final"];
    assert_eq!(fin["step"], 200);
    for key in ["loss_mean", "loss_var"] {
        assert!(fin[key].as_f64().unwrap() > 0.0, "final.{key}");
    }
    for key in ["mean", "var"] {
        assert_eq!(fin[key].as_array().unwrap().len(), 4, "final.{key}");
    }
    let st = &summary["stationary"];
    for key in ["samples", "batches", "loss_mean", "loss_se", "start", "every"] {
        assert!(st[key].is_number(), "stationary.{key} = {}", st[key]);
    }
    for key in ["mean", "mean_se", "var", "var_se", "second_moment", "second_moment_se"] {
        assert_eq!(st[key].as_array().unwrap().len(), 4, "stationary.{key}");
    }
    assert_eq!(st["start"], 100);
    assert_eq!(st["every"], 10);
    // Steps 100, 110, ..., 200 (11 samples per path) when the start step is included.
    let samples = st["samples"].as_u64().unwrap();
    assert!(samples == 512 * 10 || samples == 512 * 11, "samples = {samples}");
    let loss = st["loss_mean"].as_f64().unwrap();
    assert!(loss > 1e-3 && loss < 1e-2, "stationary loss {loss}");

    // moments.csv
    let csv = std::fs::read_to_string(out.join("moments.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "step,t,loss_mean,loss_var,diverged,paths,mean_0,var_0,mean_1,var_1,mean_2,var_2,mean_3,var_3"
    );
    assert_eq!(lines.len(), 1 + 5, "{csv}");
    for (row, step) in lines[1..].iter().zip([0u64, 50, 100, 150, 200]) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), 6 + 2 * 4, "{row}");
        assert_eq!(cells[0].parse::<u64>().unwrap(), step);
        let t: f64 = cells[1].parse().unwrap();
        assert!((t - step as f64 * 1e-3).abs() < 1e-12, "{row}");
        assert_eq!(cells[4], "0", "{row}");
        for c in &cells[2..] {
            let x: f64 = c.parse().unwrap_or_else(|_| panic!("{c} in {row}"));
            assert!(x.is_finite(), "{row}");
        }
    }
    let last: Vec<f64> = lines[5].split(',').map(|c| c.parse().unwrap()).collect();
    assert_eq!(last[2], fin["loss_mean"].as_f64().unwrap());

    // histograms.json
    let hists: Value = serde_json::from_str(&std::fs::read_to_string(out.join("histograms.json")).unwrap())
        .expect("histograms.json is valid JSON");
    let hists = hists.as_array().expect("a list");
    assert_eq!(hists.len(), 4 + 1);
    let names: Vec<&str> = hists.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["x0", "x1", "x2", "x3", "loss"]);
    for h in hists {
        let counts = h["counts"].as_array().unwrap();
        assert_eq!(counts.len(), 16);
        assert!(h["lo"].as_f64().unwrap() < h["hi"].as_f64().unwrap());
        let total: u64 = counts.iter().map(|c| c.as_u64().unwrap()).sum::<u64>()
            + h["underflow"].as_u64().unwrap()
            + h["overflow"].as_u64().unwrap();
        assert_eq!(total, samples, "histogram {}", h["name"]);
    }

    // No temporary files left behind.
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "experiment.toml",
            "hist.png",
            "hist.svg",
            "hist_counts.npy",
            "hist_edges.npy",
            "hist_outside.npy",
            "histograms.json",
            "loss.png",
            "loss.svg",
            "manifest.json",
            "moments.csv",
            "moments.npy",
            "moments.png",
            "moments.svg",
            "summary.json"
        ]
    );
}

#[test]
fn overrides_reach_the_run() {
    let tmp = TempDir::new("over");
    let f = tmp.file("tiny.toml", TINY);
    let out = tmp.path().join("o");
    let o = optsde(
        &[
            "run",
            f.to_str().unwrap(),
            "--backend",
            "cpu",
            "--paths",
            "256",
            "--steps",
            "150",
            "--seed",
            "3",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["paths"], 256);
    assert_eq!(summary["steps"], 150);
    assert_eq!(summary["experiment"]["run"]["seed"], 3);
    assert_eq!(summary["final"]["step"], 150);
    // Records at 0, 50, 100, 150.
    let csv = std::fs::read_to_string(out.join("moments.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
}

#[test]
fn missing_file() {
    fails(
        None,
        &["/nonexistent/dir/no-such-experiment.toml"],
        &["/nonexistent/dir/no-such-experiment.toml", "cannot read"],
    );
}

#[test]
fn toml_syntax_error_shows_the_line() {
    let text = edit("eta = ", "eta = = 1e-3");
    let line = text.lines().position(|l| l.starts_with("eta")).unwrap() + 1;
    fails(Some(&text), &[], &["syntax error", &format!("line {line}"), "eta = = 1e-3"]);
}

#[test]
fn unknown_key() {
    fails(Some(&edit("seed = 7", "sead = 7")), &[], &["unknown key", "run.sead", "seed"]);
}

#[test]
fn unknown_model_name() {
    fails(
        Some(&edit("name = \"sgd\"", "name = \"adamw\"")),
        &[],
        &["model.name", "\"adamw\"", "sgd-sde", "signsgd-sde", "adam-sde", "rmsprop-malladi-sde"],
    );
}

#[test]
fn eta_zero() {
    fails(Some(&edit("eta = ", "eta = 0.0")), &[], &["model.eta = 0.0", "> 0"]);
}

#[test]
fn paths_zero_override() {
    fails(Some(TINY), &["--paths", "0"], &["run.paths = 0", ">= 1"]);
}

#[test]
fn steps_below_stationary_start() {
    fails(Some(TINY), &["--steps", "10"], &["stationary.start = 100", "run.steps = 10"]);
}

#[test]
fn example_steps_below_its_stationary_start() {
    fails(
        None,
        &["--example", "signsgd", "--paths", "256", "--steps", "200", "--start", "300"],
        &["stationary.start = 300", "run.steps = 200"],
    );
}

#[test]
fn range_lo_not_below_hi() {
    let text = format!("{TINY}range = [1.0, 1.0]\n");
    fails(Some(&text), &[], &["stationary.range = [1.0, 1.0]", "lo < hi"]);
}

#[test]
fn unknown_example() {
    fails(None, &["--example", "adam"], &["\"adam\"", "sgd", "signsgd"]);
}

#[test]
fn file_or_example_is_a_usage_error() {
    let tmp = TempDir::new("usage");
    let f = tmp.file("tiny.toml", TINY);
    let out = tmp.path().join("o");
    let out = out.to_str().unwrap();
    for args in [
        vec!["run", "--out", out],
        vec!["run", f.to_str().unwrap(), "--example", "sgd", "--out", out],
        vec!["run", f.to_str().unwrap(), "--backend", "tpu", "--out", out],
    ] {
        let o = optsde(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error:"), "{args:?}: {}", stderr(&o));
        assert!(!tmp.path().join("o").exists(), "{args:?}");
    }
}

#[test]
fn gpu_without_adapter_fails_and_writes_nothing() {
    let tmp = TempDir::new("gpu");
    let f = tmp.file("tiny.toml", &edit("seed = 7", "seed = 7\nbackend = \"gpu\""));
    let out = tmp.path().join("out");
    let o = optsde(&["run", f.to_str().unwrap(), "--out", out.to_str().unwrap()], NO_GPU);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no GPU adapter"), "{err}");
    assert!(err.contains("backend = \"gpu\""), "{err}");
    assert!(!out.exists());
}

#[test]
fn auto_without_adapter_uses_the_cpu() {
    let tmp = TempDir::new("auto");
    let f = tmp.file("tiny.toml", TINY);
    let out = tmp.path().join("out");
    let o = optsde(&["run", f.to_str().unwrap(), "--backend", "auto", "--out", out.to_str().unwrap()], NO_GPU);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("using the CPU backend"), "{err}");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["backend"]["kind"], "cpu");
}

/// Mesa's Vulkan drivers print `error: XDG_RUNTIME_DIR is invalid or not set in the environment`
/// when the variable is unset or not a directory, which reads as an optsde error; optsde gives
/// itself a private one first (`backend::ensure_runtime_dir`), so a GPU run says nothing of it.
#[test]
fn gpu_run_without_xdg_runtime_dir_prints_no_mesa_error() {
    if common::gpu().is_none() {
        return;
    }
    let tmp = TempDir::new("xdg");
    let f = tmp.file("tiny.toml", TINY);
    for value in [None, Some("/nonexistent/xdg-runtime")] {
        let out = tmp.path().join(format!("out-{}", value.is_some()));
        let mut cmd = Command::new(BIN);
        cmd.args(["run", f.to_str().unwrap(), "--backend", "gpu", "--quiet", "--out", out.to_str().unwrap()]);
        match value {
            None => cmd.env_remove("XDG_RUNTIME_DIR"),
            Some(v) => cmd.env("XDG_RUNTIME_DIR", v),
        };
        let o = cmd.output().expect("the optsde binary runs");
        let err = stderr(&o);
        assert!(o.status.success(), "XDG_RUNTIME_DIR = {value:?}: {err}");
        assert!(!err.contains("XDG_RUNTIME_DIR"), "XDG_RUNTIME_DIR = {value:?}: {err}");
    }
}

/// An interrupted run keeps its last snapshot: with OPTSDE_CHECKPOINT_SECONDS=0 the outputs are
/// rewritten after every segment; the process is killed mid-run and the files that remain are
/// complete JSON marked `"complete": false`.
#[test]
fn killed_run_leaves_an_incomplete_snapshot() {
    let dir = TempDir::new("killed");
    let file = dir.file(
        "long.toml",
        "[model]\nname = \"sgd-sde\"\neta = 1e-3\n[objective]\nname = \"quadratic\"\nh = 1.0\ndim = 8\n\
         [noise]\nname = \"gaussian\"\nsigma = 1.0\n[run]\npaths = 65536\nsteps = 4000000\nbackend = \"cpu\"\n\
         [record]\nevery = 1000\n[stationary]\nstart = 1000\nbins = 8\nrange = [-1.0, 1.0]\n",
    );
    let out = dir.path().join("out");
    let mut child = Command::new(BIN)
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .env("OPTSDE_CHECKPOINT_SECONDS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let summary = out.join("summary.json");
    let t0 = std::time::Instant::now();
    // Wait for a snapshot past step 1000 (the files are replaced atomically, so every read
    // sees a whole file), then interrupt.
    let step_of = |p: &Path| -> Option<u64> {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["final"]["step"].as_u64()
    };
    while step_of(&summary).is_none_or(|s| s < 2000) && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(v["complete"], serde_json::Value::Bool(false), "{v}");
    assert!(v["final"]["step"].as_u64().unwrap() >= 1000, "{v}");
    assert!(v["stationary"]["samples"].as_u64().unwrap() > 0, "{v}");
    let csv = std::fs::read_to_string(out.join("moments.csv")).unwrap();
    assert!(csv.lines().count() > 2, "moments.csv: {csv}");
}

/// Issue 5's scale check in small: memory must not grow with paths beyond the chunk buffers.
/// Two CPU runs of 2 steps, 6e6 and 4.8e7 paths (both above the CPU chunk, 5 592 320 paths),
/// report their peak resident memory (summary.json, Linux VmHWM): 8× the paths may add at most
/// 16 MiB, while holding the larger run's states at once would take 4.8e7 × 4 B = 183 MiB more.
#[test]
fn peak_memory_does_not_grow_with_paths() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let tmp = TempDir::new("peak");
    let toml = "[model]\nname = 'signsgd-sde'\neta = 1e-3\n[objective]\nname = 'quadratic'\nh = 1.0\n\
                [noise]\nname = 'gaussian'\nsigma = 1.0\n[init]\nx0 = 0.5\n[run]\npaths = 1000\nsteps = 2\n\
                backend = 'cpu'\n[record]\nevery = 2\n[stationary]\nstart = 1\nevery = 1\nbins = 16\nrange = [-1.0, 1.0]\n";
    let f = tmp.file("peak.toml", toml);
    let peak = |paths: &str| {
        let out = tmp.path().join(paths);
        let o = optsde(
            &["run", f.to_str().unwrap(), "--paths", paths, "--quiet", "--no-plots", "--out", out.to_str().unwrap()],
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(s["chunk"], 5_592_320, "the CPU chunk changed: resize this test");
        s["peak_memory_bytes"].as_u64().expect("peak_memory_bytes on Linux")
    };
    let (small, large) = (peak("6000000"), peak("48000000"));
    let grew = large.saturating_sub(small);
    assert!(grew < 16 << 20, "peak memory grew by {grew} bytes from 6e6 to 4.8e7 paths ({small} -> {large})");
}
