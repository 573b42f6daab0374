//! The resource guard (src/guard.rs): the issue's oversized runs are refused at once, before
//! anything is written; `--force` runs what is only over the time limit; a small run prints its
//! estimate and runs; the estimate's arithmetic agrees with what a run allocates and writes.

use crate::common;

use common::TempDir;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use optsde::cpu::CpuEngine;
use optsde::experiment::Experiment;
use optsde::guard::{self, Estimate, Limits};
use optsde::plan;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// The reference quadratic in dimension `d` with `bins` bins, `steps` steps recorded every
/// `every`, on the CPU.
fn toml(d: usize, paths: u64, steps: u64, every: u64, bins: u32) -> String {
    let list = |f: &dyn Fn(usize) -> f64| (0..d).map(|i| f(i).to_string()).collect::<Vec<_>>().join(", ");
    format!(
        r#"
[model]
name = "sgd"
eta = 1e-2
[objective]
name = "quadratic"
h = [{h}]
[noise]
name = "gaussian"
sigma = [{s}]
[run]
paths = {paths}
steps = {steps}
seed = 1
backend = "cpu"
[record]
every = {every}
[stationary]
start = {start}
every = 1
bins = {bins}
"#,
        h = list(&|i| 1.0 + (i % 7) as f64),
        s = list(&|i| 0.5 + (i % 3) as f64),
        start = steps / 2,
    )
}

fn optsde(args: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let out = Command::new(BIN).args(args).output().expect("the optsde binary runs");
    (out, t0.elapsed())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Refused: exit status 1, a message that names the excess and `--force`, no output directory,
/// and no time spent (nothing was allocated or run at the requested size).
fn assert_refused(args: &[&str], out_dir: &Path, says: &str) {
    let (o, took) = optsde(args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?} was not refused:\n{err}");
    assert!(err.contains("refusing to start") && err.contains("--force"), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: the refusal does not mention {says:?}:\n{err}");
    assert!(!out_dir.exists(), "{args:?}: {} was created", out_dir.display());
    assert!(took < Duration::from_secs(20), "{args:?}: took {took:?} to refuse");
}

#[test]
fn the_issues_oversized_runs_are_refused_before_anything_is_written() {
    let tmp = TempDir::new("guard-refuse");
    // 2^40 paths × (2^32 - 1) steps: 4.3e7 records (over any machine's memory), and 1e5 years.
    let out = tmp.path().join("huge");
    let args = ["run", "--example", "sgd", "--backend", "cpu", "--paths", "1099511627776", "--steps", "4294967295"];
    assert_refused(&[&args[..], &["--out", out.to_str().unwrap()]].concat(), &out, "");
    // 4e8 records (record.every = 1): 1.4e11 bytes of records alone; the message suggests a larger
    // record.every.
    let file = tmp.file("records.toml", &toml(4, 1024, 400_000_000, 1, 16));
    let out = tmp.path().join("records");
    let o = ["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()];
    assert_refused(&o, &out, "record.every");
}

#[test]
fn the_issues_slow_growth_cases_are_estimated() {
    let limits = Limits { host_bytes: Some(512 << 20), disk_bytes: Some(100 << 20), seconds: guard::YEAR_SECONDS };
    // 1024 paths × 4e8 steps of the sgd example (record.every = 100): it reached 1 GB in a second
    // and 3 GB while running; the estimate says so, and 512 MiB refuses it with the hint.
    let overrides = optsde::spec::Overrides { paths: Some(1024), steps: Some(400_000_000), ..Default::default() };
    let sgd = optsde::spec::example("sgd", &overrides).expect("the sgd example");
    let est = guard::sizes(std::slice::from_ref(&sgd), &CpuEngine::new(), true);
    assert_eq!(est.records, 4_000_001);
    assert!(est.host_bytes - est.write_bytes > 900 << 20 && est.host_bytes < 8 << 30, "{est:?}");
    let err = guard::check(&est, &limits, false).expect_err("over 512 MiB").to_string();
    assert!(err.contains("host memory") && err.contains("record.every") && err.contains("--force"), "{err}");
    assert!(guard::check(&est, &limits, true).is_ok_and(|w| w.len() == 2), "forced: warnings, not an error");
    // d = 256 with 65536 bins wrote 430 MB (a 65 MB SVG, a 150 MB JSON).
    let wide = common::exp(&toml(256, 65536, 30_000, 100, 65536));
    let est = guard::sizes(std::slice::from_ref(&wide), &CpuEngine::new(), true);
    assert!((200_000_000..900_000_000).contains(&est.output_bytes), "{est:?}");
    let err = guard::check(&est, &limits, false).expect_err("over 100 MiB of disk").to_string();
    assert!(err.contains("output ~") && err.contains("free on disk"), "{err}");
}

#[test]
fn forced_runs_over_the_time_limit_start() {
    let tmp = TempDir::new("guard-force");
    // 2^40 paths × (2^32 - 1) steps with two records: little memory, over a year.
    let mut t = toml(4, 1 << 40, u64::from(u32::MAX), u64::from(u32::MAX), 16);
    t.push_str("range = [-1, 1]\n");
    let file = tmp.file("slow.toml", &t);
    let out = tmp.path().join("slow");
    let args = ["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let (o, _) = optsde(&args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("one-year limit") && err.contains("years"), "{err}");
    assert!(!out.exists());

    let mut child = Command::new(BIN)
        .args(args)
        .arg("--force")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the optsde binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let warned = lines.find_map(|l| l.ok().filter(|l| l.starts_with("warning:")));
    child.kill().expect("the forced run is still running");
    let _ = child.wait();
    let warned = warned.expect("a warning before the run");
    assert!(warned.contains("one-year limit") && warned.contains("--force"), "{warned}");
}

#[test]
fn a_small_run_prints_its_estimate_and_runs() {
    let tmp = TempDir::new("guard-small");
    let file = tmp.file("tiny.toml", &toml(4, 512, 200, 50, 16));
    let out = tmp.path().join("out");
    let (o, _) = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    let line = err.lines().find(|l| l.starts_with("estimate")).expect("an estimate line");
    assert!(line.contains("host") && line.contains("of output") && line.contains("small run"), "{line}");
    let (o, _) = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success() && !text(&o.stderr).contains("estimate"), "{}", text(&o.stderr));
}

/// The record and segment counts the estimate uses are those of the plan's lists.
#[test]
fn counts_match_the_plan() {
    // (1, 1000, 1000): one segment covers the stationary window, so the split is inserted.
    for (d, steps, every) in
        [(1, 1, 1), (1, 1000, 1000), (4, 1000, 7), (4, 30_000, 100), (16, 5000, 5000), (64, 3001, 3000)]
    {
        assert_eq!(plan::record_count(steps, every), plan::record_steps(steps, every).len() as u64, "{steps} {every}");
        let e = common::exp(&toml(d, 4096, steps, every, 16));
        for chunk in [256, 4096] {
            let n = plan::segments(&e, chunk, true).len() as u64;
            assert_eq!(plan::segment_count(&e, chunk, true), n, "d {d} steps {steps} every {every} chunk {chunk}");
        }
    }
    // An SDE with 64 substeps per step: segments shorter than a record interval.
    let e = common::reference("sgd-sde", 64, 4096, 20_000, 1000, 10);
    assert_eq!(plan::segment_count(&e, 4096, true), plan::segments(&e, 4096, true).len() as u64);
}

/// Sizes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).sum()
}

/// The estimate against a run of the same experiment: the files written, and the peak memory the
/// run reports (summary.json's `peak_memory_bytes`, taken before the final write but after the
/// run's first snapshots, whose buffers the estimate's `write_bytes` counts).
#[test]
fn estimates_match_small_runs() {
    let tmp = TempDir::new("guard-sizes");
    for (d, steps, bins) in [(1, 2000, 16), (4, 300, 128), (16, 10, 4096), (64, 100, 1024), (8, 10, 65536)] {
        let t = toml(d, 256, steps, 1, bins);
        let file = tmp.file(&format!("d{d}.toml"), &t);
        let out = tmp.path().join(format!("d{d}"));
        let (o, _) = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let est: Estimate = guard::sizes(&[common::exp(&t)], &CpuEngine::new(), true);
        let written = dir_bytes(&out) as f64;
        let ratio = est.output_bytes as f64 / written;
        assert!(
            (0.5..2.0).contains(&ratio),
            "d {d} bins {bins}: estimated {} of output, wrote {written}",
            est.output_bytes
        );
        let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        if let Some(peak) = summary["peak_memory_bytes"].as_f64() {
            let ratio = est.host_bytes as f64 / peak;
            assert!((0.5..2.0).contains(&ratio), "d {d} bins {bins}: estimated {est:?}, peak {peak}");
        }
    }
}

/// The pilot's time against the run's (on the CPU, whose speed the pilot measures).
#[test]
fn the_pilot_predicts_the_run_time() {
    let e: Experiment = common::exp(&toml(4, 65536, 1200, 100, 64));
    let mut cpu = CpuEngine::new();
    let tmp = TempDir::new("guard-pilot");
    let opts = guard::Options { plots: false, force: false, quiet: true };
    let est = guard::guard(std::slice::from_ref(&e), &mut cpu, tmp.path(), &opts).expect("fits");
    assert!(!est.small, "{est:?}");
    let t0 = Instant::now();
    plan::run(&e, &mut cpu, &mut |_| {}).unwrap();
    let took = t0.elapsed().as_secs_f64();
    let predicted = est.seconds.unwrap();
    assert!((0.25..4.0).contains(&(predicted / took)), "predicted {predicted} s, took {took} s");
}

/// The GPU engine's estimate counts its buffers, and its pilot measures a rate.
#[test]
fn gpu_estimate_counts_device_buffers() {
    let Some(mut g) = common::gpu() else { return };
    let e = common::exp(&toml(4, 65536, 2000, 100, 64));
    let est = guard::sizes(std::slice::from_ref(&e), &g, true);
    let device = est.device_bytes.expect("the GPU engine has device memory");
    let state = est.chunk * 4 * 4;
    assert!(device >= state && device < state * 4 + (16 << 20), "{est:?}");
    let tmp = TempDir::new("guard-gpu");
    let opts = guard::Options { plots: false, force: false, quiet: true };
    let est = guard::guard(std::slice::from_ref(&e), &mut g, tmp.path(), &opts).expect("fits");
    assert!(est.path_steps_per_second.is_some_and(|r| r > 0.0) && est.seconds.is_some(), "{est:?}");
}
