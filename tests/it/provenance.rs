//! Provenance (issue 23): a run's folder says where its numbers come from (`summary.json`'s
//! `provenance`) and keeps the input that makes them again: `experiment.toml`, and
//! `summary.json`'s `experiment` saved as a `.json` file, each run again give the same bytes.

use crate::common::TempDir;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

fn optsde(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("OPTSDE_CHECKPOINT_SECONDS").output().expect("the optsde binary runs")
}

#[track_caller]
fn ok(args: &[&str]) -> Output {
    let o = optsde(args);
    assert!(
        o.status.success(),
        "{args:?}:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&read(&dir.join("summary.json"))).expect("summary.json is JSON")
}

/// `a` and `b` hold the same bytes in each of `files`.
#[track_caller]
fn same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        assert!(read(&a.join(f)) == read(&b.join(f)), "{f} differs between {} and {}", a.display(), b.display());
    }
}

const RUN_FILES: &[&str] = &["moments.csv", "histograms.json", "experiment.toml"];

/// The example, its experiment.toml run again, and its summary's `experiment` run as a JSON
/// file: the same moments, histograms and experiment.toml; seeds up to and above 2^63.
#[test]
fn experiment_toml_and_summary_experiment_reproduce_the_run() {
    let tmp = TempDir::new("prov");
    for seed in ["1", "18446744073709551557"] {
        let a = tmp.path().join(format!("a{seed}"));
        let (a_s, b, c) = (a.to_str().unwrap(), a.with_extension("b"), a.with_extension("c"));
        let base = ["run", "--example", "sgd", "--paths", "2048", "--steps", "300", "--backend", "cpu"];
        ok(&[&base[..], &["--seed", seed, "--out", a_s, "--quiet", "--no-plots"]].concat());
        let toml = String::from_utf8(read(&a.join("experiment.toml"))).unwrap();
        assert!(toml.contains("backend = \"cpu\""), "the backend asked for:\n{toml}");
        if seed == "1" {
            assert!(toml.contains("seed = 1\n"), "{toml}");
        } else {
            assert!(toml.contains(&format!("seed = \"{seed}\"")), "a seed above 2^63 - 1 as a string:\n{toml}");
        }
        let b_s = b.to_str().unwrap();
        ok(&[
            "run",
            a.join("experiment.toml").to_str().unwrap(),
            "--out",
            b_s,
            "--backend",
            "cpu",
            "--quiet",
            "--no-plots",
        ]);
        same_files(&a, &b, RUN_FILES);

        // summary.json's `experiment` is the same experiment as a JSON file.
        let s = summary(&a);
        let json = tmp.file(&format!("from-summary-{seed}.json"), &s["experiment"].to_string());
        let c_s = c.to_str().unwrap();
        ok(&["run", json.to_str().unwrap(), "--out", c_s, "--quiet", "--no-plots"]);
        same_files(&a, &c, RUN_FILES);
        assert_eq!(summary(&c)["experiment"], s["experiment"]);
        assert_eq!(s["seed"].as_u64().map(|n| n.to_string()).as_deref(), Some(seed));

        // The provenance block.
        let p = &s["provenance"];
        assert_eq!(p["program"], "optsde");
        assert_eq!(p["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(p["random_stream"], optsde::rng::STREAM_VERSION);
        assert_eq!(p["backend"]["kind"], "cpu");
        let started = p["started"].as_str().expect("started");
        assert!(
            started.len() == 20 && started.ends_with('Z') && &started[10..11] == "T",
            "started = {started}: RFC 3339 UTC to the second"
        );
        assert!(p["host"].is_string() || p["host"].is_null(), "{p}");
        // From a clone with git the commit is there; from a package it is null, never absent.
        let commit = p.get("git_commit").expect("git_commit");
        assert!(commit.is_null() || commit.as_str().is_some_and(|c| c.len() == 40), "{commit}");
        assert_eq!(p["git_dirty"].is_null(), commit.is_null(), "{p}");
    }
}

/// A sweep's folder has the sweep file itself (the first point and the `[sweep]` table, a log
/// range as its values), which runs the same sweep again; each point's folder has the point.
#[test]
fn a_sweep_writes_the_sweep_file_and_each_point() {
    let tmp = TempDir::new("prov-sweep");
    let text = "[model]\nname = 'signsgd-sde'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = [1.0, 4.0]\n\
                [noise]\nname = 'gaussian'\nsigma = [0.5, 1.0]\n[run]\npaths = 512\nsteps = 200\nseed = 9\n\
                backend = 'cpu'\n[record]\nevery = 50\n[stationary]\nstart = 100\nevery = 5\nbins = 16\n\
                [sweep]\neta = [0.01, 0.02]\nsigma = { log = [0.3, 0.7], points = 3 }\n";
    let f = tmp.file("grid.toml", text);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(&["run", f.to_str().unwrap(), "--out", a.to_str().unwrap(), "--quiet", "--no-plots"]);
    let top = String::from_utf8(read(&a.join("experiment.toml"))).unwrap();
    assert!(top.contains("[sweep]\nmodel.eta = [0.01, 0.02]\nnoise.sigma = ["), "{top}");
    ok(&["run", a.join("experiment.toml").to_str().unwrap(), "--out", b.to_str().unwrap(), "--quiet", "--no-plots"]);
    same_files(&a, &b, &["sweep.csv", "experiment.toml"]);
    for i in 0..6 {
        let p = format!("point-{i:03}");
        same_files(&a.join(&p), &b.join(&p), RUN_FILES);
        let point = String::from_utf8(read(&a.join(&p).join("experiment.toml"))).unwrap();
        assert!(!point.contains("[sweep]"), "{p}: the point alone:\n{point}");
    }
}

/// The seed as a string: decimal or 0x-hexadecimal, validated like the integer.
#[test]
fn seed_strings_are_read_and_checked() {
    use optsde::spec::{Experiment, Overrides};
    let base = optsde::spec::to_toml(&optsde::spec::example("sgd", &Overrides::default()).unwrap());
    let with = |seed: &str| base.replace("seed = 1\n", &format!("seed = {seed}\n"));
    let parse = |t: &str| Experiment::from_str(t, "toml", "t", "t", &Overrides::default());
    assert_eq!(parse(&with("\"18446744073709551615\"")).unwrap().run.seed, u64::MAX);
    assert_eq!(parse(&with("\"0xffffffffffffffff\"")).unwrap().run.seed, u64::MAX);
    assert_eq!(parse(&with("\"42\"")).unwrap().run.seed, 42);
    for bad in ["\"18446744073709551616\"", "\"-1\"", "\"+5\"", "\"0x\"", "\"seven\"", "-1"] {
        let e = parse(&with(bad)).unwrap_err().to_string();
        assert!(e.contains("run.seed") && e.contains("as a string"), "seed = {bad}: {e}");
    }
}
