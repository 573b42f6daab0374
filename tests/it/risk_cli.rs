//! `optsde risk` end to end: spec §10.4's case as an experiment file gives the risk curve of
//! tests/it/risk_ode.rs (P at t = 1, 2, 4, 8 and the fixed point 0.14682) in risk.csv and the
//! report; a file whose objective is not linear-regression, or a bad option, is refused naming
//! the field, before anything is written.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// Spec §10.4: K = diag(linspace(0.2, 2, 300)), the paper's η = 0.5 as model.eta = 0.5/300,
/// σ_ε = 0.5, every coordinate of θ* 1/√300, θ₀ = 0; run.steps = 2400 makes the default end
/// t = 2400/300 = 8.
const SPEC_CASE: &str = r#"
[model]
name = "signsgd"
eta = 0.0016666666666666668   # 0.5 / 300

[objective]
name = "linear-regression"
spectrum = { linear = [0.2, 2.0] }
dim = 300
target = 0.05773502691896258   # 1/sqrt(300)

[noise]
name = "gaussian"
sigma = 0.5

[run]
paths = 64
steps = 2400
"#;

fn risk(args: &[&str]) -> Output {
    Command::new(BIN).arg("risk").args(args).output().expect("run optsde")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// risk.csv's rows (t, signSGD's P, SGD's P or `None` for an empty cell) after its `#` line and
/// header.
fn read_rows(csv: &Path) -> Vec<(f64, f64, Option<f64>)> {
    let body = std::fs::read_to_string(csv).unwrap_or_else(|e| panic!("{}: {e}", csv.display()));
    let mut lines = body.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("t,signsgd_risk,sgd_risk"), "header of\n{body}");
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), 3, "row {l:?}");
            let num = |s: &str| s.parse::<f64>().unwrap_or_else(|e| panic!("cell {s:?} of row {l:?}: {e}"));
            (num(cells[0]), num(cells[1]), (!cells[2].is_empty()).then(|| num(cells[2])))
        })
        .collect()
}

/// The defaults: 201 times from 0 to run.steps / d = 8, so t = 1, 2, 4, 8 are rows 25, 50, 100
/// and 200. signSGD's P there is tests/it/risk_ode.rs's (its ODE with η = model.eta × d = 0.5),
/// to the 1e-4 of the five digits quoted; the report prints P∞ = 0.146823 and names the file.
/// SGD's column is full (Gaussian labels), starts at the same P₀ = 0.55 and stays finite.
#[test]
fn spec_case_file_gives_the_spec_risk_curve() {
    let tmp = TempDir::new("risk-cli");
    let file = tmp.file("spec.toml", SPEC_CASE);
    let out = tmp.path().join("out");
    let run = risk(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "optsde risk failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let rows = read_rows(&out.join("risk.csv"));
    assert_eq!(rows.len(), 201, "default --points");
    assert_eq!((rows[0].0, rows[200].0), (0.0, 8.0), "times from 0 to run.steps / d");
    assert!((rows[0].1 - 0.55).abs() < 1e-12, "P0 = {}", rows[0].1);
    for (row, t, p) in [(25, 1.0, 0.38276), (50, 2.0, 0.27921), (100, 4.0, 0.18602), (200, 8.0, 0.15050)] {
        let (tr, sign, _) = rows[row];
        assert_eq!(tr, t, "row {row}");
        assert!((sign - p).abs() < 1e-4, "signSGD P({t}) = {sign}, spec {p}");
    }
    assert!(rows.iter().all(|r| r.2.is_some_and(f64::is_finite)), "SGD's column is full and finite");
    assert!((rows[0].2.unwrap() - 0.55).abs() < 1e-12, "SGD starts at P0 too");
    assert!(stdout.contains("eta_ode = model.eta × d = 0.5"), "eta in the report:\n{stdout}");
    let fixed =
        stdout.lines().find(|l| l.starts_with("signSGD")).unwrap_or_else(|| panic!("no signSGD line:\n{stdout}"));
    assert!(fixed.contains("P_inf = 0.14682"), "signSGD's fixed point:\n{stdout}");
    assert!(stdout.contains(&out.join("risk.csv").display().to_string()), "where risk.csv went:\n{stdout}");
}

/// --t-end and --points set the grid: 5 times from 0 to 2 hold P(2) of the default grid.
#[test]
fn t_end_and_points_set_the_times() {
    let tmp = TempDir::new("risk-cli-grid");
    let file = tmp.file("spec.toml", SPEC_CASE);
    let out = tmp.path().join("out");
    let run = risk(&[file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--t-end", "2", "--points", "5"]);
    assert!(run.status.success(), "stderr:\n{}", text(&run.stderr));
    let rows = read_rows(&out.join("risk.csv"));
    let times: Vec<f64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(times, [0.0, 0.5, 1.0, 1.5, 2.0]);
    assert!((rows[4].1 - 0.27921).abs() < 1e-4, "P(2) = {}", rows[4].1);
}

/// A quadratic objective is refused naming objective.name and its value; a bad --points or
/// --t-end names the option and its valid range. Nothing is written in any case.
#[test]
fn bad_input_is_refused_before_writing() {
    let tmp = TempDir::new("risk-cli-bad");
    let quadratic = tmp.file(
        "quad.toml",
        "[model]\nname = \"signsgd\"\neta = 0.01\n[objective]\nname = \"quadratic\"\nh = [1.0, 2.0]\ncenter = 0.0\n\
         [noise]\nname = \"gaussian\"\nsigma = 0.5\n[run]\npaths = 64\nsteps = 100\n",
    );
    let spec = tmp.file("spec.toml", SPEC_CASE);
    let out = tmp.path().join("out");
    let cases: [(&Path, &[&str], &[&str]); 3] = [
        (&quadratic, &[], &["objective.name", "\"quadratic\"", "linear-regression"]),
        (&spec, &["--points", "1"], &["--points", "1", ">= 2"]),
        (&spec, &["--t-end", "-1"], &["--t-end", "-1", "> 0"]),
    ];
    for (file, extra, words) in cases {
        let mut args = vec![file.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = risk(&args);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?} should fail with status 1\nstderr:\n{stderr}");
        for w in words {
            assert!(stderr.contains(w), "{args:?}: the message lacks {w:?}:\n{stderr}");
        }
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
