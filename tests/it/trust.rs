//! What a run reports when things go wrong (issue 23): every path diverged, an output folder
//! that held something else, a folder whose files are from different snapshots, too few batches
//! for a standard error, a stationary window that was not stationary.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{TempDir, exp};
use optsde::cpu::CpuEngine;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

fn optsde(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("OPTSDE_CHECKPOINT_SECONDS").output().expect("run optsde")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A small SGD experiment on the reference quadratic (`eta`, name, extra `[run]` keys).
fn sgd(name: &str, eta: f64, paths: u64, steps: u64, start: u64) -> String {
    format!(
        "name = \"{name}\"\n[model]\nname = \"sgd\"\neta = {eta}\n[objective]\nname = \"quadratic\"\n\
         h = [1.0, 2.0, 5.0, 10.0]\n[noise]\nname = \"gaussian\"\nsigma = [1.0, 2.0, 0.5, 3.0]\n[run]\n\
         paths = {paths}\nsteps = {steps}\nbackend = \"cpu\"\n[record]\nevery = {rec}\n[stationary]\n\
         start = {start}\nevery = 10\nbins = 32\n",
        rec = (steps / 20).max(1)
    )
}

/// η = 1.5 on h up to 10 is unstable: every path diverges. The run still writes its files, but
/// nothing reads as a result: NaN moments in the CSV (with `paths` = 0 live), null in JSON, the
/// `all_diverged` flag and a warning, exit status 3; a sweep point the same, `final_loss` NaN.
#[test]
fn every_path_diverged_reads_as_undefined_never_as_zero() {
    let dir = TempDir::new("diverged");
    let file = dir.file("div.toml", &sgd("div", 1.5, 1024, 2000, 1000));
    let out = dir.path().join("out");
    let o = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-plots"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("every path diverged") && t.contains("loss NaN"), "{t}");
    assert!(!t.contains("0.000000e0"), "a zero loss is printed: {t}");
    let s = json(&out.join("summary.json"));
    assert_eq!(s["all_diverged"], true);
    assert_eq!(s["final"]["loss_mean"], Value::Null);
    assert_eq!(s["final"]["finite"], 0);
    assert_eq!(s["stationary"]["loss_mean"], Value::Null);
    assert!(s["warnings"][0].as_str().unwrap().contains("every path diverged"), "{s}");
    let csv = std::fs::read_to_string(out.join("moments.csv")).unwrap();
    let last: Vec<&str> = csv.lines().last().unwrap().split(',').collect();
    assert_eq!((last[2], last[4], last[5]), ("NaN", "1024", "0"), "{csv}");

    // A sweep with one stable and one unstable point: the unstable one is NaN in sweep.csv and
    // makes the exit status 3; the stable one is a number.
    let sweep = format!("{}[sweep]\neta = [1e-3, 1.5]\n", sgd("divsweep", 1e-3, 1024, 2000, 1000));
    let file = dir.file("sweep.toml", &sweep);
    let out = dir.path().join("sweep");
    let o = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-plots"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("sweep point 1"), "{}", text(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let final_loss = csv.lines().next().unwrap().split(',').position(|c| c == "final_loss").unwrap();
    assert!(rows[0][final_loss].parse::<f64>().unwrap() > 0.0, "{csv}");
    assert_eq!(rows[1][final_loss], "NaN", "{csv}");
}

/// A folder that held a sweep is refused for a plain run (nothing deleted, nothing written);
/// `--force` deletes what optsde wrote there, and only that; a rerun of the same experiment
/// replaces its own files, so `--no-plots` leaves no figure of the previous run.
#[test]
fn reused_output_folders_are_refused_or_replaced_never_mixed() {
    let dir = TempDir::new("reuse");
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let sweep = dir.file("s.toml", &format!("{}[sweep]\neta = [1e-3, 2e-3]\n", sgd("s", 1e-3, 256, 200, 100)));
    let plain = dir.file("p.toml", &sgd("p", 1e-3, 256, 200, 100));
    assert!(optsde(&["run", sweep.to_str().unwrap(), "--out", o]).status.success());
    assert!(out.join("sweep.csv").exists() && out.join("point-001").is_dir() && out.join("sweep.png").exists());
    std::fs::write(out.join("notes.txt"), "mine").unwrap();

    let refused = optsde(&["run", plain.to_str().unwrap(), "--out", o, "--no-plots"]);
    assert_eq!(refused.status.code(), Some(1));
    let t = text(&refused);
    assert!(t.contains("another experiment (sweep \"s\")") && t.contains("--force"), "{t}");
    assert!(out.join("sweep.csv").exists() && !out.join("moments.csv").exists(), "a refusal wrote or deleted files");

    let forced = optsde(&["run", plain.to_str().unwrap(), "--out", o, "--no-plots", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    for stale in ["sweep.csv", "sweep.png", "sweep.svg", "point-000", "point-001"] {
        assert!(!out.join(stale).exists(), "{stale} survived --force");
    }
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine", "--force deleted a user's file");
    assert_eq!(json(&out.join("manifest.json"))["kind"], "run");

    // The same experiment again, with figures, then without: no figure of the first survives.
    assert!(optsde(&["run", plain.to_str().unwrap(), "--out", o]).status.success());
    assert!(out.join("loss.png").exists());
    let again = optsde(&["run", plain.to_str().unwrap(), "--out", o, "--no-plots", "--seed", "9"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!out.join("loss.png").exists() && !out.join("hist.svg").exists(), "stale figures");
    assert_eq!(json(&out.join("summary.json"))["seed"], 9);

    // A smaller sweep into a bigger sweep's folder (same name) leaves no stale point.
    let big = dir.file("b.toml", &format!("{}[sweep]\neta = [1e-3, 2e-3, 3e-3]\n", sgd("b", 1e-3, 256, 200, 100)));
    let small = dir.file("b2.toml", &format!("{}[sweep]\neta = [1e-3, 2e-3]\n", sgd("b", 1e-3, 256, 200, 100)));
    let out2 = dir.path().join("sweeps");
    let o2 = out2.to_str().unwrap();
    assert!(optsde(&["run", big.to_str().unwrap(), "--out", o2, "--no-plots"]).status.success());
    assert!(out2.join("point-002").is_dir());
    assert!(optsde(&["run", small.to_str().unwrap(), "--out", o2, "--no-plots"]).status.success());
    assert!(!out2.join("point-002").exists(), "a stale sweep point survived");
    assert!(optsde(&["plot", o2]).status.success());
}

/// A folder whose files come from different snapshots (here: a moments.csv of another run
/// copied over) is refused by `optsde plot` with a message naming the file; one without a
/// manifest too.
#[test]
fn a_mixed_folder_is_refused_by_the_reader() {
    let dir = TempDir::new("mixed");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let file = dir.file("m.toml", &sgd("m", 1e-3, 256, 200, 100));
    for (out, seed) in [(&a, "1"), (&b, "2")] {
        let o = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-plots", "--seed", seed]);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert!(optsde(&["plot", a.to_str().unwrap()]).status.success());
    std::fs::copy(b.join("moments.csv"), a.join("moments.csv")).unwrap();
    let o = optsde(&["plot", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("moments.csv is not the file manifest.json lists") && t.contains("different snapshots"), "{t}");
    std::fs::remove_file(b.join("manifest.json")).unwrap();
    let t = text(&optsde(&["plot", b.to_str().unwrap()]));
    assert!(t.contains("there is no manifest.json"), "{t}");
}

/// A run killed while writing its first snapshot leaves the manifest that claimed the folder
/// (no files listed) beside the data files it had written: the reader refuses the folder, a
/// rerun of the same experiment replaces it, another experiment is refused without `--force`.
#[test]
fn a_folder_killed_in_its_first_snapshot_is_refused_then_replaced_by_a_rerun() {
    let dir = TempDir::new("first-snapshot");
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let file = dir.file("k.toml", &sgd("k", 1e-3, 256, 200, 100));
    assert!(optsde(&["run", file.to_str().unwrap(), "--out", o, "--no-plots"]).status.success());
    // What a SIGKILL after the first two data files leaves: the claim, summary.json,
    // experiment.toml.
    for f in std::fs::read_dir(&out).unwrap().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if !["summary.json", "experiment.toml"].contains(&name.as_str()) {
            std::fs::remove_file(f.path()).unwrap();
        }
    }
    optsde::output::manifest::Manifest::new("run", "k", false).claim(&out).unwrap();
    assert_eq!(json(&out.join("manifest.json"))["files"], serde_json::json!([]));

    let t = text(&optsde(&["plot", o]));
    assert!(t.contains("lists no files") && t.contains("before its first snapshot was whole"), "{t}");
    let other = dir.file("p.toml", &sgd("p", 1e-3, 256, 200, 100));
    let t = text(&optsde(&["run", other.to_str().unwrap(), "--out", o, "--no-plots"]));
    assert!(t.contains("another experiment (run \"k\")") && t.contains("--force"), "{t}");
    let rerun = optsde(&["run", file.to_str().unwrap(), "--out", o, "--no-plots"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert!(optsde(&["plot", o]).status.success());
    assert_eq!(json(&out.join("manifest.json"))["complete"], true);
}

/// 256 paths make one batch: the SE is NaN and marked unreliable, and the console says so;
/// 4096 paths (16 batches) are reliable.
#[test]
fn too_few_batches_mark_the_standard_error_unreliable() {
    let few = optsde::plan::run(&exp(&sgd("few", 1e-3, 256, 400, 200)), &mut CpuEngine::new(), &mut |_| {}).unwrap();
    assert_eq!(few.stationary.batches, 1);
    assert!(few.stationary.loss_se.is_nan() && !few.stationary.se_reliable());
    let x = exp(&sgd("few", 1e-3, 256, 400, 200));
    let w = optsde::output::warnings(&x, &few);
    assert!(w.iter().any(|w| w.contains("1 batch of 256 paths") && w.contains("unreliable")), "{w:?}");
    let printed = optsde::output::human_summary(&x, &few);
    assert!(printed.contains("in 1 batch:") || printed.contains("1 batch\n"), "{printed}");
    assert!(printed.contains("SE unreliable"), "{printed}");
    let enough = exp(&sgd("enough", 1e-3, 4096, 400, 200));
    let r = optsde::plan::run(&enough, &mut CpuEngine::new(), &mut |_| {}).unwrap();
    assert!(r.stationary.se_reliable() && optsde::output::warnings(&enough, &r).is_empty());
}

/// The stationarity check: SGD started far from the minimum (x0 = 3, relaxation time
/// 1/(ηh) = 1000 steps for h = 1) and sampled from step 0 is still relaxing in the first half of
/// the window: flagged `converged: false` with a warning. The same run sampled from step 8000
/// (8 relaxation times: the transient is e^−16 of the start) is stationary: converged. The
/// tolerance is the check's own, 4 combined batch SEs (`stats::STATIONARITY_Z`): a stationary
/// window passes it with probability above 1 − 6·10⁻⁵ (the halves' positive correlation only
/// raises it), and the relaxing one is thousands of SEs apart.
#[test]
fn a_window_that_is_still_relaxing_is_flagged() {
    let relaxing = |start: u64| exp(&format!("{}[init]\nx0 = 3.0\n", sgd("relax", 1e-3, 4096, 16000, start)));
    let early = relaxing(0);
    let r = optsde::plan::run(&early, &mut CpuEngine::new(), &mut |_| {}).unwrap();
    let c = r.stationarity;
    assert_eq!(c.converged, Some(false), "{c:?}");
    assert!(c.first_loss > c.second_loss && c.z > 4.0, "{c:?}");
    assert!(optsde::output::warnings(&early, &r).iter().any(|w| w.starts_with("not converged")));
    let late = relaxing(8000);
    let r = optsde::plan::run(&late, &mut CpuEngine::new(), &mut |_| {}).unwrap();
    assert_eq!(r.stationarity.converged, Some(true), "{:?}", r.stationarity);
    assert_eq!(r.stationarity.split, Some(12000));
}
