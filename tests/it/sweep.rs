//! Sweeps (issue 6): every grid point runs in the same launches, with its own coefficient group
//! on the device and the random numbers of its separate run, so a sweep equals the separate runs
//! it replaces bit for bit (records, histograms, stationary sums); bad sweep specifications get
//! clear errors.

use crate::common;

use common::per_engine;
use optsde::plan::{Engine, run, run_study};
use optsde::spec::{Overrides, Study};

fn study(text: &str) -> optsde::Result<Study> {
    Study::from_str(text, "toml", "test", "test", &Overrides::default())
}

const BASE: &str = "[model]\nname = 'signsgd-sde'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = [1.0, 4.0]\n\
                    [noise]\nname = 'gaussian'\nsigma = [0.5, 1.0]\n[init]\nx0 = 0.3\n[run]\npaths = 512\nsteps = 300\n\
                    refine = 2\nseed = 9\n[record]\nevery = 50\n[stationary]\nstart = 100\nevery = 5\nbins = 24\n";

/// Each point of `text`'s sweep, run alone, equals the sweep's point: every record, histogram and
/// stationary estimate.
fn sweep_equals_separate_runs(name: &str, e: &mut dyn Engine, text: &str, expect_points: usize) {
    let st = study(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(st.points.len(), expect_points);
    let exps: Vec<_> = st.points.iter().map(|p| p.exp.clone()).collect();
    let all = run_study(&exps, e, &mut |_| {}, None).unwrap();
    for (i, (p, r)) in st.points.iter().zip(&all).enumerate() {
        let alone = run(&p.exp, e, &mut |_| {}).unwrap();
        assert_eq!(r.records, alone.records, "{name} point {i} {:?}: records differ", p.values);
        assert_eq!(r.histograms, alone.histograms, "{name} point {i}: histograms differ");
        assert_eq!(r.stationary, alone.stationary, "{name} point {i}: stationary estimates differ");
        assert_eq!(r.divergence, alone.divergence, "{name} point {i}");
    }
    // The points really differ (the sweep is not running one point many times).
    let losses: Vec<f64> = all.iter().map(|r| r.stationary.loss_mean).collect();
    for w in losses.windows(2) {
        assert_ne!(w[0], w[1], "{name}: consecutive points give the same loss");
    }
    eprintln!("{name}: {} points, stationary losses {losses:?}", all.len());
}

/// A 2 × 3 grid over η (list) and σ (log range) for the SignSGD SDE with `range = "auto"` (each
/// point's histogram range comes from its own pilot, also grouped).
fn grid_of_eta_and_sigma_equals_separate_runs(name: &str, e: &mut dyn Engine) {
    let text = format!("{BASE}[sweep]\neta = [0.01, 0.02]\nsigma = {{ log = [0.25, 1.0], points = 3 }}\n");
    sweep_equals_separate_runs(name, e, &text, 6);
}
per_engine!(grid_of_eta_and_sigma_equals_separate_runs);

/// Per-group scalars: AdamW SDE over β₂ and weight decay (the bias-correction rates and the
/// coefficients differ per point), and Student-t noise over ν for the SignSGD SDE (ν = 2.5 is
/// tabulated, ν = 3 closed form: the tables of one group and the closed form of another in the
/// same launch), and DCSGD over the bernoulli p.
fn group_scalars_tables_and_compressors_equal_separate_runs(name: &str, e: &mut dyn Engine) {
    let adam = BASE.replace("name = 'signsgd-sde'", "name = 'adam-sde'");
    let text = format!("{adam}[sweep]\nbeta2 = [0.99, 0.999]\nweight_decay = [0.0, 2.0]\n");
    sweep_equals_separate_runs(name, e, &text, 4);
    let t = BASE.replace("name = 'gaussian'\nsigma = [0.5, 1.0]", "name = 'student-t'\nnu = 3\nscale = [0.5, 1.0]");
    sweep_equals_separate_runs(name, e, &format!("{t}[sweep]\nnu = [2.5, 3.0, 7.5]\n"), 3);
    let dc = BASE
        .replace(
            "name = 'signsgd-sde'\neta = 0.01\n",
            "name = 'dcsgd'\neta = 0.01\nagents = 3\n[compressor]\nname = 'bernoulli'\np = 0.5\n",
        )
        .replace("refine = 2\n", "");
    sweep_equals_separate_runs(name, e, &format!("{dc}[sweep]\np = [0.25, 0.5, 1.0]\n"), 3);
}
per_engine!(group_scalars_tables_and_compressors_equal_separate_runs);

#[test]
fn bad_sweep_specs_are_rejected() {
    let cases: &[(&str, &[&str])] = &[
        ("eta = []", &["sweep.eta", "non-empty list"]),
        ("speed = [1, 2]", &["sweep.speed", "eta (model.eta)"]),
        ("model.agents = [1, 2]", &["sweep.model.agents"]),
        ("eta = { log = [0.0, 0.1], points = 3 }", &["sweep.eta", "log range must be positive"]),
        ("eta = { log = [-1e-3, 0.1], points = 3 }", &["sweep.eta", "> 0"]),
        ("eta = { log = [1e-3, 0.1], points = 1 }", &["sweep.eta.points", "1", ">= 2"]),
        ("eta = { log = [1e-3, 0.1] }", &["sweep.eta", "points"]),
        ("eta = { range = [1e-3, 0.1], points = 3 }", &["sweep.eta", "log = [lo, hi]"]),
        ("eta = [0.01, -0.01]", &["sweep point", "model.eta = -0.01", "eta", "> 0"]),
        ("eta = [0.01, 'x']", &["sweep.eta[1]", "finite number"]),
    ];
    for (sweep, want) in cases {
        let e = study(&format!("{BASE}[sweep]\n{sweep}\n")).unwrap_err().to_string();
        for w in *want {
            assert!(e.contains(w), "[sweep] {sweep}: message lacks {w:?}: {e}");
        }
    }
    // Points must share the kernel: rand-k with k = d is the identity SDE.
    let dc = BASE.replace(
        "name = 'signsgd-sde'\neta = 0.01\n",
        "name = 'dcsgd-sde'\neta = 0.01\nagents = 2\n[compressor]\nname = 'rand-k'\nk = 1\n",
    );
    let e = study(&format!("{dc}[sweep]\nk = [1, 2]\n")).unwrap_err().to_string();
    assert!(e.contains("different kernel") && e.contains("compressor.k = 2"), "{e}");
    // Whole workgroups per point.
    let e = study(&format!("{}[sweep]\neta = [0.01, 0.02]\n", BASE.replace("paths = 512", "paths = 500")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("run.paths = 500") && e.contains("multiple of 256"), "{e}");
    // One Experiment cannot be a sweep.
    let e = optsde::spec::Experiment::from_str(
        &format!("{BASE}[sweep]\neta = [0.01]\n"),
        "toml",
        "test",
        "test",
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("sweep") && e.contains("Study"), "{e}");
}

/// Range grids are the decimal values they stand for: the ends as written, the inner points
/// rounded to 15 significant digits (issue 23: a log grid once gave 1.0000000000000002e-1).
#[test]
fn range_grids_have_clean_values() {
    let values = |sweep: &str| -> Vec<f64> {
        let st = study(&format!("{BASE}[sweep]\n{sweep}\n")).unwrap_or_else(|e| panic!("{sweep}: {e}"));
        st.axes[0].values.clone()
    };
    assert_eq!(values("eta = { log = [1e-4, 1e-1], points = 4 }"), [1e-4, 1e-3, 1e-2, 1e-1]);
    assert_eq!(
        values("eta = { log = [0.01, 1.0], points = 5 }"),
        [0.01, 0.0316227766016838, 0.1, 0.316227766016838, 1.0]
    );
    assert_eq!(values("eta = { linear = [0.1, 0.3], points = 5 }"), [0.1, 0.15, 0.2, 0.25, 0.3]);
    let st = study(&format!("{BASE}[sweep]\neta = {{ log = [1e-3, 1e-1], points = 3 }}\n")).unwrap();
    assert_eq!(st.points[1].exp.model.eta, 1e-2, "the point's experiment carries the clean value");
}

/// `optsde run` on a sweep file writes `sweep.csv` (one row per point, the swept values first)
/// and a directory per point whose summary names its parameters.
#[test]
fn cli_writes_sweep_csv_and_point_directories() {
    let dir = std::env::temp_dir().join(format!("optsde-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.toml");
    std::fs::write(&file, format!("{BASE}[sweep]\neta = [0.01, 0.02, 0.04]\n")).unwrap();
    let out = dir.join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_optsde"))
        .args(["run", file.to_str().unwrap(), "--backend", "cpu", "--quiet", "--no-plots", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("point,model.eta,stationary_loss,stationary_loss_se,"), "{}", lines[0]);
    assert!(lines[3].starts_with("2,4e-2,"), "{}", lines[3]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("point-001/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["sweep"]["model.eta"], 0.02);
    assert_eq!(summary["experiment"]["model"]["eta"], 0.02);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("3 points"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
