//! Fault injection: `optsde run` is stopped by SIGINT, SIGTERM or SIGKILL at random moments,
//! with a snapshot after every segment (`OPTSDE_CHECKPOINT_SECONDS=0`), so many signals land
//! while a snapshot is being written. Afterwards the output folder must be either one
//! consistent snapshot — every file agrees: the summary's last record is the CSV's last row,
//! every row's live and diverged paths add up to the paths that reached it, the histograms hold
//! the stationary samples the summary counts, `moments.npy` is `moments.csv` — or refused by
//! the loader with a message that says why; never a silently mixed set. A graceful stop exits
//! with 128 + the signal's number; a second signal exits at once.
//!
//! A separate test binary, so its subprocesses and timings stay apart from the main suite's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use optsde::Error;
use optsde::output::{HISTOGRAMS, MOMENTS, SUMMARY};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("optsde-fault-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The experiment: a run long enough (seconds) to be hit mid-way, with many records and bins so
/// snapshot writes take a visible share of the time.
const EXPERIMENT: &str = r#"
name = "faults"

[model]
name = "sgd"
eta = 1e-3
[objective]
name = "quadratic"
h = [1.0, 2.0, 5.0, 10.0]
[noise]
name = "gaussian"
sigma = [1.0, 2.0, 0.5, 3.0]
[run]
paths = 16384
steps = 30000
backend = "cpu"
[record]
every = 20
[stationary]
start = 10000
every = 10
bins = 1024
"#;

/// `optsde run` of [`EXPERIMENT`] (its file written beside `out`) with `extra` arguments.
fn start(out: &Path, extra: &[&str]) -> Child {
    start_with(out, EXPERIMENT, extra)
}

/// `optsde run` of the experiment `text`.
fn start_with(out: &Path, text: &str, extra: &[&str]) -> Child {
    let file = out.with_extension("toml");
    std::fs::write(&file, text).unwrap();
    Command::new(BIN)
        .arg("run")
        .arg(&file)
        .args(["--no-plots", "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .env("OPTSDE_CHECKPOINT_SECONDS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn optsde")
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill");
    assert!(ok.success(), "kill -{name}");
}

fn wait(child: Child) -> (ExitStatus, String) {
    let out = child.wait_with_output().expect("wait");
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The `.NAME.tmp-PID` files in `dir`.
fn temporaries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains(".tmp-")).count()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The folder is one consistent snapshot (every file agrees), or the loader refuses it with a
/// message; returns whether it was accepted.
fn check_folder(dir: &Path, what: &str) -> bool {
    if !dir.join(SUMMARY).exists() && !dir.join("manifest.json").exists() {
        // Killed before the first snapshot: nothing claims to be a result.
        let _ = optsde::plot::load_run(dir).expect_err(what);
        return false;
    }
    let run = match optsde::plot::load_run(dir) {
        Ok(run) => run,
        Err(e @ Error::MixedOutputs { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("snapshot") && msg.contains(&dir.display().to_string()), "{what}: {msg}");
            return false;
        }
        Err(e) => panic!("{what}: the loader failed without saying the set is mixed: {e}"),
    };
    let summary = read_json(&dir.join(SUMMARY));
    let paths = run.exp.run.paths;
    // Every row: live + diverged = the paths that reached it (all of them in one chunk), and rows
    // only for reached records.
    assert!(!run.rows.is_empty(), "{what}: no rows");
    for r in &run.rows {
        assert_eq!(r.finite + r.diverged, paths, "{what}: step {} counts", r.step);
        assert!(r.loss_mean.is_finite(), "{what}: step {}", r.step);
    }
    let last = run.rows.last().unwrap();
    assert_eq!(summary["reached"]["step"].as_u64(), Some(last.step), "{what}: summary vs csv");
    assert_eq!(summary["final"]["step"].as_u64(), Some(last.step), "{what}");
    assert_eq!(summary["complete"].as_bool(), Some(run.complete), "{what}");
    if run.complete {
        assert_eq!(last.step, run.exp.run.steps, "{what}");
    }
    // The histograms hold the stationary samples the summary counts.
    let samples = summary["stationary"]["samples"].as_u64().unwrap();
    for h in &run.histograms {
        assert_eq!(h.total(), samples, "{what}: histogram {} total", h.name);
    }
    let hist_json = read_json(&dir.join(HISTOGRAMS));
    assert_eq!(hist_json.as_array().map(Vec::len), Some(run.exp.dim + 1), "{what}");
    // moments.npy = moments.csv.
    let bytes = std::fs::read(dir.join("moments.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    let values: Vec<f64> = npy.into_vec().unwrap();
    assert_eq!(shape[0] as usize, run.rows.len(), "{what}: npy rows");
    for (i, r) in run.rows.iter().enumerate() {
        let row = &values[i * shape[1] as usize..(i + 1) * shape[1] as usize];
        let want = r.values();
        assert!(row.iter().zip(&want).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())), "{what}: npy row {i}");
    }
    // Nothing but the snapshot: no temporaries were left behind by a graceful stop.
    let _ = std::fs::read_to_string(dir.join(MOMENTS)).unwrap();
    true
}

#[test]
fn random_signals_leave_a_consistent_snapshot_or_a_refused_folder() {
    // Delays spread over the run's few seconds (a fixed pseudo-random sequence: Weyl steps).
    let delay_ms = |trial: usize| 30 + (trial as u64 * 0x9E37_79B9 % 1471);
    let mut accepted = 0;
    let mut refused = 0;
    for trial in 0..12 {
        let sig = ["INT", "TERM", "KILL"][trial % 3];
        let out = scratch(&format!("trial-{trial}"));
        let child = start(&out, &[]);
        let delay = Duration::from_millis(delay_ms(trial));
        std::thread::sleep(delay);
        signal(&child, sig);
        let (status, stderr) = wait(child);
        let what = format!("trial {trial}: SIG{sig} after {delay:?}");
        match (sig, status.code()) {
            // Finished before the signal arrived.
            (_, Some(0)) => {}
            ("INT", Some(130)) | ("TERM", Some(143)) => {
                assert!(stderr.contains("stopped by a signal") && !stderr.contains("panicked"), "{what}: {stderr}");
            }
            ("KILL", None) => {}
            // Before the handlers are installed (process start, reading the file) the default
            // action kills the process: nothing is written yet.
            (_, None) if !out.exists() => {}
            (_, code) => panic!("{what}: exit {code:?}, stderr {stderr}"),
        }
        if sig != "KILL" && out.exists() {
            // A graceful stop leaves a whole snapshot, never a refused folder or temporaries.
            assert!(check_folder(&out, &what), "{what}: a graceful stop must leave a readable snapshot");
            assert_eq!(temporaries(&out), 0, "{what}: temporaries left");
            accepted += 1;
        } else if out.exists() {
            if check_folder(&out, &what) {
                accepted += 1
            } else {
                refused += 1
            }
            // The next run into the folder removes the killed run's temporaries and replaces it.
            let short = EXPERIMENT.replace("steps = 30000", "steps = 400").replace("start = 10000", "start = 200");
            let (status, stderr) = wait(start_with(&out, &short, &["--paths", "1024"]));
            assert!(status.success(), "{what}: rerun: {stderr}");
            assert!(check_folder(&out, &what));
            assert_eq!(temporaries(&out), 0, "{what}: temporaries survived the rerun");
        }
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_file(out.with_extension("toml"));
    }
    eprintln!("{accepted} consistent snapshots, {refused} refused folders");
    assert!(accepted > 0);
}

#[test]
fn a_second_signal_exits_at_once() {
    let out = scratch("second");
    let child = start(&out, &[]);
    std::thread::sleep(Duration::from_millis(700));
    signal(&child, "INT");
    signal(&child, "INT");
    let t = Instant::now();
    let (status, _) = wait(child);
    assert_eq!(status.code(), Some(130));
    assert!(t.elapsed() < Duration::from_secs(5));
    // Whatever the folder holds is a whole snapshot or refused, never mixed.
    if out.exists() {
        check_folder(&out, "second signal");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn an_early_signal_still_leaves_a_snapshot() {
    // Stopped well before the default 30 s interval: the stop writes a snapshot anyway.
    let out = scratch("early");
    let child = Command::new(BIN)
        .args(["run", "--example", "sgd", "--backend", "cpu", "--paths", "65536", "--no-plots", "--quiet", "--out"])
        .arg(&out)
        .env_remove("OPTSDE_CHECKPOINT_SECONDS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    signal(&child, "TERM");
    let (status, stderr) = wait(child);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(check_folder(&out, "early SIGTERM"));
    let summary = read_json(&out.join(SUMMARY));
    assert_eq!(summary["complete"], false);
    assert!(summary["reached"]["paths"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&out);
}
