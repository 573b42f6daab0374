//! `[record] trajectories = n` (README's "Outputs", `src/trajectory.rs`): the states of the first
//! n paths at every record are those paths' states (the same words `states_after` reads, at
//! every record, whatever the chunking, the thread count or the paths run beside them), bit for
//! bit the same on the GPU and its CPU twin on a software adapter, the closed form of a
//! noiseless gradient step, frozen where a path diverged, the first paths of every sweep
//! point, kept by snapshots; the files, the figure, `optsde plot`, and bad values refused.

use crate::backends::compare_states;
use crate::common;
use crate::landscapes::{ROTATED, on};
use crate::tolerance::Tolerance;

use common::{TempDir, count_colour, decode_png, exp, gpu, per_engine, run};
use optsde::cpu::{Arith, CpuEngine};
use optsde::plan::{Checkpoint, Engine, RunResult, record_steps, run_study, run_with_checkpoints, states_after};
use optsde::spec::{Experiment, Overrides, Study};
use optsde::trajectory::Trajectories;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// A coupled formula in d = 4 (tests/it/formula_runs.rs' COUPLED).
const COUPLED: &str = "[objective]\nname = 'expression'\n\
    loss = 'sum(i, 0.5*h[i]*(x[i] - c[i])^2 + b*x[i]*x[i+1]) + 0.1*cos(x2) + 0.05*cosh(x3)'\ndim = 4\n\
    params = { h = [1.0, 2.0, 5.0, 10.0], c = [0.5, 0.0, -0.5, 1.0], b = 0.3 }\n";
/// The tilted double well of examples/double-well.toml, d = 1.
const DOUBLE_WELL: &str = "[objective]\nname = 'expression'\nloss = '0.25*(x0^2 - 1)^2 + 0.1*x0'\n";
/// The diagonal quadratic in d = 2.
const DIAGONAL: &str = "[objective]\nname = 'quadratic'\nh = [1.0, 4.0]\ncenter = [0.5, -1.0]\n";

/// `x` recording `n` trajectories on `paths` paths in chunks of `chunk` (a test that assigns
/// fields takes over the checks: n ≤ paths here).
fn with(x: &Experiment, n: u32, paths: u64, chunk: Option<u64>) -> Experiment {
    let mut x = x.clone();
    x.record.trajectories = n;
    x.run.paths = paths;
    x.run.chunk = chunk;
    x
}

/// The experiments the engine tests run: a model of each kind of state (one slot, Adam's three,
/// the packed d = 1 kernels, the speculative sign SDE on a software adapter, several agents) on
/// each kind of objective (diagonal, dense, formula).
fn cases() -> Vec<(String, Experiment)> {
    let noise2 = "name = 'gaussian'\nsigma = [0.5, 1.0]";
    let noise4 = "name = 'gaussian'\nsigma = [0.5, 1.0, 0.2, 2.0]";
    let x04 = "[0.5, -0.25, 0.1, 1.0]";
    [
        ("sgd diagonal d=2", on("sgd", "", DIAGONAL, noise2, "[2.0, 1.0]")),
        ("adam diagonal d=2", on("adam", "", DIAGONAL, noise2, "[2.0, 1.0]")),
        ("sgd-sde double well d=1", on("sgd-sde", "", DOUBLE_WELL, "name = 'gaussian'\nsigma = 1.0", "0.5")),
        ("signsgd-sde double well d=1", on("signsgd-sde", "", DOUBLE_WELL, "name = 'gaussian'\nsigma = 1.0", "0.5")),
        ("rmsprop-sde dense d=4", on("rmsprop-sde", "", ROTATED, noise4, x04)),
        ("dsgd formula d=4", on("dsgd", "agents = 3", COUPLED, noise4, x04)),
    ]
    .into_iter()
    .map(|(name, x)| (name.to_string(), x))
    .collect()
}

/// x (state slot 0) of the first `n` paths after `steps` steps, as [`Trajectories`] lays out one
/// record: path p's coordinate i at `p * dim + i`.
fn first_states(x: &Experiment, e: &mut dyn Engine, n: u64, steps: u64) -> Vec<f32> {
    let s = states_after(x, e, n, steps).unwrap();
    let (n, d) = (n as usize, x.dim);
    (0..n * d).map(|j| s[(j % d) * n + j / d]).collect()
}

/// One record of `t`.
fn record(t: &Trajectories, r: usize) -> &[f32] {
    let w = t.paths * t.dim;
    &t.x[r * w..(r + 1) * w]
}

/// The same bits, NaN payloads aside, with the first difference named.
#[track_caller]
fn assert_same(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (j, (&u, &v)) in a.iter().zip(b).enumerate() {
        if let Some(msg) = Tolerance::Exact.check(&format!("{what} [{j}]"), f64::from(u), f64::from(v)) {
            panic!("{msg}");
        }
    }
}

/// The trajectories are the first paths' states: at the first, a middle and the last record,
/// the words `states_after` reads from a run of those paths alone (one chunk, one workgroup),
/// while the run itself has 700 paths in chunks of 256. A readback of other lanes, another
/// workgroup, another state slot (Adam's m, v) or another record fails this.
fn trajectories_are_the_first_paths_states(name: &str, e: &mut dyn Engine) {
    for (case, x) in cases() {
        let x = with(&x, 5, 700, Some(256));
        let r = run(&x, e).unwrap();
        let t = &r.trajectories;
        let steps = record_steps(x.run.steps, x.record.every);
        assert_eq!((t.paths, t.dim), (5, x.dim), "{name} {case}");
        assert_eq!(t.steps, steps, "{name} {case}: a trajectory record at every record step");
        assert_eq!(t.x.len(), steps.len() * 5 * x.dim, "{name} {case}");
        for ri in [0, steps.len() / 2, steps.len() - 1] {
            let want = first_states(&x, e, 5, steps[ri]);
            assert_same(&format!("{name} {case} record {ri} (step {})", steps[ri]), record(t, ri), &want);
        }
        let x0: Vec<f32> = (0..5).flat_map(|_| x.x0.iter().map(|&v| v as f32)).collect();
        assert_same(&format!("{name} {case} step 0"), record(t, 0), &x0);
    }
}

/// The first paths' trajectories do not depend on the paths run beside them, on the chunking or
/// (CPU) on the thread count: 64 paths in one workgroup, 1000 paths in chunks of 256, 1000 paths
/// in one chunk, and on one rayon thread.
fn trajectories_do_not_depend_on_the_run_around_them(name: &str, e: &mut dyn Engine) {
    for (case, x) in cases().into_iter().step_by(2) {
        let alone = run(&with(&x, 64, 64, None), e).unwrap().trajectories;
        for (paths, chunk) in [(1000, Some(256)), (1000, None)] {
            let t = run(&with(&x, 64, paths, chunk), e).unwrap().trajectories;
            assert_eq!(t.steps, alone.steps, "{name} {case}");
            assert_same(&format!("{name} {case}: {paths} paths, chunk {chunk:?}"), &t.x, &alone.x);
        }
        if name == "cpu" {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let one = pool.install(|| run(&with(&x, 64, 1000, Some(256)), &mut CpuEngine::new()).unwrap());
            assert_same(&format!("{name} {case}: one thread"), &one.trajectories.x, &alone.x);
        }
    }
}

/// Without noise a gradient step on the diagonal quadratic is a linear recursion with a closed
/// form: SGD x_k = c + (1 − ηh)^k (x0 − c), and the SGD SDE with r substeps
/// c + (1 − ηh/r)^(rk) (x0 − c). Every record of every trajectory, within the f32 rounding of the
/// recursion ([`Tolerance::f32_contraction`]).
fn noiseless_trajectories_follow_the_closed_form(name: &str, e: &mut dyn Engine) {
    let (h, c, x0) = ([1.0f64, 4.0], [0.5f64, -1.0], [2.0f64, 1.0]);
    for (model, refine) in [("sgd", 1u32), ("sgd-sde", 2)] {
        let x = exp(&format!(
            "[model]\nname = '{model}'\neta = 0.05\n{DIAGONAL}[noise]\nname = 'gaussian'\nsigma = 0.0\n\
             [init]\nx0 = [2.0, 1.0]\n[run]\npaths = 300\nsteps = 100\nrefine = {refine}\n[record]\nevery = 9\n\
             trajectories = 3\n[stationary]\nstart = 50\nrange = [-3.0, 3.0]\n"
        ));
        let t = run(&x, e).unwrap().trajectories;
        let dt = x.model.eta / f64::from(refine);
        let rho = h.iter().map(|h| (1.0 - dt * h).abs()).fold(0.0, f64::max);
        let tol = Tolerance::f32_contraction(2.0, rho);
        assert_eq!(t.steps.last(), Some(&100), "{name} {model}");
        for (r, &k) in t.steps.iter().enumerate() {
            for p in 0..3 {
                for i in 0..2 {
                    let exact = c[i] + (1.0 - dt * h[i]).powi((k * u64::from(refine)) as i32) * (x0[i] - c[i]);
                    let what = format!("{name} {model} step {k} path {p} x{i}");
                    tol.assert(&what, f64::from(t.at(r, p, i)), exact);
                }
            }
        }
    }
}

/// A path that diverges keeps its frozen state, the one of the step at whose end it left the
/// bound, at every later record (not NaN). With η = 1/16 and h = 40 every step multiplies x by
/// −1.5 exactly in f32, so x_k = (−1.5)^k until |x| > 100 at k = 12.
fn diverged_paths_keep_their_frozen_state(name: &str, e: &mut dyn Engine) {
    let x = exp(
        "[model]\nname = 'sgd'\neta = 0.0625\n[objective]\nname = 'quadratic'\nh = 40.0\n[noise]\nname = 'gaussian'\n\
         sigma = 0.0\n[init]\nx0 = 1.0\n[run]\npaths = 256\nsteps = 20\ndivergence_bound = 100.0\n[record]\nevery = 5\n\
         trajectories = 4\n[stationary]\nstart = 10\nrange = [-1.0, 1.0]\n",
    );
    let r = run(&x, e).unwrap();
    let t = &r.trajectories;
    assert_eq!(t.steps, vec![0, 5, 10, 15, 20], "{name}");
    assert_eq!(r.diverged, 256, "{name}: every path diverged");
    for (ri, &k) in t.steps.iter().enumerate() {
        let want = (-1.5f64).powi(k.min(12) as i32) as f32;
        for p in 0..4 {
            assert_eq!(t.at(ri, p, 0).to_bits(), want.to_bits(), "{name} step {k} path {p}: {}", t.at(ri, p, 0));
        }
    }
}

/// In a sweep each point records its own first paths, and they are the separate run's (point g
/// draws the random numbers of paths [0, P)): three points of 256 paths in chunks of 512, so
/// the first chunk holds two points' first paths and the second chunk the third's.
fn every_sweep_point_records_its_first_paths(name: &str, e: &mut dyn Engine) {
    let text = "[model]\nname = 'sgd'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = [1.0, 4.0]\n[noise]\n\
                name = 'gaussian'\nsigma = [0.5, 1.0]\n[init]\nx0 = [1.0, -1.0]\n[run]\npaths = 256\nsteps = 200\n\
                chunk = 512\n[record]\nevery = 20\ntrajectories = 7\n[stationary]\nstart = 100\n\
                [sweep]\neta = [0.01, 0.02, 0.04]\n";
    let study = Study::from_str(text, "toml", "test", "sweep", &Overrides::default()).unwrap();
    let points: Vec<Experiment> = study.points.iter().map(|p| p.exp.clone()).collect();
    let results = run_study(&points, e, &mut |_| {}, None).unwrap();
    for (g, (p, r)) in points.iter().zip(&results).enumerate() {
        let alone = run(p, e).unwrap();
        assert_eq!(r.trajectories.steps, alone.trajectories.steps, "{name} point {g}");
        assert_eq!(r.trajectories.paths, 7, "{name} point {g}");
        assert_same(&format!("{name} sweep point {g}"), &r.trajectories.x, &alone.trajectories.x);
    }
    assert_ne!(results[0].trajectories.x, results[1].trajectories.x, "{name}: the points differ");
}

/// Snapshots of a running experiment hold the trajectories of the records reached so far: each
/// one a prefix of the finished run's, as long as its moments' records; a stopped run's last
/// snapshot is what it finished, and its files say so with as many trajectory records as
/// `moments.csv` rows.
fn snapshots_hold_the_trajectories_so_far(name: &str, e: &mut dyn Engine) {
    let (_, x) = cases().remove(0);
    let x = with(&x, 6, 512, Some(256));
    let mut snaps: Vec<RunResult> = Vec::new();
    let mut write = |r: &[RunResult]| {
        snaps.push(r[0].clone());
        Ok(())
    };
    let cp = Checkpoint { every: std::time::Duration::ZERO, write: &mut write, stop: None };
    let full = run_with_checkpoints(&x, e, &mut |_| {}, Some(cp)).unwrap();
    assert!(snaps.len() > 3, "{name}: {} snapshots", snaps.len());
    for s in &snaps {
        let t = &s.trajectories;
        assert_eq!(t.records(), s.records.len(), "{name}: a trajectory record per moments record");
        assert_eq!(t.steps, full.trajectories.steps[..t.records()], "{name}");
        assert_same(&format!("{name} snapshot"), &t.x, &full.trajectories.x[..t.x.len()]);
    }

    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut count = 0;
    let mut last: Option<RunResult> = None;
    let mut write = |r: &[RunResult]| {
        count += 1;
        if count == 3 {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        last = Some(r[0].clone());
        Ok(())
    };
    let cp = Checkpoint { every: std::time::Duration::ZERO, write: &mut write, stop: Some(&stop) };
    let err = run_with_checkpoints(&x, e, &mut |_| {}, Some(cp)).unwrap_err();
    assert!(matches!(err, optsde::Error::Interrupted { .. }), "{name}: {err}");
    let last = last.unwrap();
    let t = &last.trajectories;
    assert!(t.records() > 0 && t.records() < full.trajectories.records(), "{name}: {} records", t.records());
    let dir = TempDir::new("traj-stopped");
    optsde::output::write_outputs(dir.path(), &x, &last).unwrap();
    let (shape, _) = npy_f32(&dir.path().join("trajectories.npy"));
    let rows = std::fs::read_to_string(dir.path().join("moments.csv")).unwrap().lines().count() - 1;
    assert_eq!(shape, vec![rows as u64, 6, x.dim as u64], "{name}: the snapshot's files agree");
}

per_engine!(
    trajectories_are_the_first_paths_states,
    trajectories_do_not_depend_on_the_run_around_them,
    noiseless_trajectories_follow_the_closed_form,
    diverged_paths_keep_their_frozen_state,
    every_sweep_point_records_its_first_paths,
    snapshots_hold_the_trajectories_so_far,
);

/// The GPU kernel and its CPU twin record the same trajectories on the same seed, for the
/// diagonal quadratic, a dense quadratic and formulas: bit for bit on a software adapter (the
/// twin in its split arithmetic) except for the sign SDE (its erfc branch, as in
/// tests/it/landscapes.rs), within the per-path bound otherwise.
#[test]
fn backends_record_the_same_trajectories() {
    let Some(mut g) = gpu() else { return };
    let software = g.is_software();
    for (case, x) in cases() {
        let x = with(&x, 16, 700, Some(256));
        let a = run(&x, &mut g).unwrap().trajectories;
        let b = run(&x, &mut CpuEngine::with_arith(Arith::of_adapter(software))).unwrap().trajectories;
        assert_eq!(a.steps, b.steps, "{case}");
        let n = a.x.len();
        let same = compare_states(&format!("{case} trajectories"), &a.x, &b.x, n, software);
        if software && !case.starts_with("signsgd-sde") {
            assert_eq!(same, n, "{case}: trajectories not bit-identical on lavapipe");
        }
    }
}

/// Bad values are refused before any work, naming the field, the value and the valid range; 0
/// (the default) records none.
#[test]
fn bad_trajectory_counts_are_refused() {
    let file = |n: &str, paths: u64| {
        format!(
            "[model]\nname = 'sgd'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = 1.0\n[noise]\nname = 'gaussian'\n\
             sigma = 1.0\n[run]\npaths = {paths}\nsteps = 100\n[record]\ntrajectories = {n}\n"
        )
    };
    let parse = |text: &str, o: &Overrides| Experiment::from_str(text, "toml", "t.toml", "t", o);
    for (n, paths, words) in [
        ("65", 1000, &["record.trajectories", "65", "<= 64"][..]),
        ("-1", 1000, &["record.trajectories", "-1", ">= 0"]),
        ("2.5", 1000, &["record.trajectories", "2.5", "integer"]),
        ("'4'", 1000, &["record.trajectories", "\"4\""]),
        ("11", 10, &["record.trajectories", "11", "run.paths = 10"]),
    ] {
        let e = parse(&file(n, paths), &Overrides::default()).unwrap_err().to_string();
        for w in words {
            assert!(e.contains(w), "trajectories = {n}, paths = {paths}: `{w}` not in: {e}");
        }
    }
    // --paths below the trajectories: the same message, with the paths asked for.
    let o = Overrides { paths: Some(8), ..Overrides::default() };
    let e = parse(&file("16", 1000), &o).unwrap_err().to_string();
    assert!(e.contains("record.trajectories") && e.contains("run.paths = 8"), "{e}");
    assert_eq!(parse(&file("0", 10), &Overrides::default()).unwrap().record.trajectories, 0);
    assert_eq!(parse(&file("64", 64), &Overrides::default()).unwrap().record.trajectories, 64);
    let none = parse(&file("0", 10).replace("trajectories = 0\n", ""), &Overrides::default()).unwrap();
    assert_eq!(none.record.trajectories, 0);
    assert!(!optsde::spec::to_toml(&none).contains("trajectories"), "a run without keeps its file as before");
    // A sweep point's paths are a multiple of 256: 64 trajectories always fit.
    let sweep = file("64", 256).replace("[record]", "[sweep]\neta = [0.01, 0.02]\n[record]");
    assert!(Study::from_str(&sweep, "toml", "t", "t", &Overrides::default()).is_ok());
}

/// `optsde run` writes `trajectories.npy` (float32, (records, n, d)) and `trajectory_steps.npy`
/// (uint64, the steps of `moments.csv`), draws `trajectories.svg/.png`, and its experiment.toml
/// runs again to the same trajectories; `optsde plot` redraws the figure; a rerun without
/// trajectories leaves no stale file.
#[test]
fn the_run_folder_holds_the_trajectories_and_their_figure() {
    let dir = TempDir::new("traj-cli");
    for (d, h, x0) in [(1, "1.0", "1.5"), (3, "[1.0, 4.0, 2.0]", "[1.5, -1.0, 0.5]")] {
        let toml = format!(
            "name = 'paths'\n[model]\nname = 'sgd'\neta = 0.02\n[objective]\nname = 'quadratic'\nh = {h}\n[noise]\n\
             name = 'gaussian'\nsigma = 1.0\n[init]\nx0 = {x0}\n[run]\npaths = 512\nsteps = 200\nbackend = 'cpu'\n\
             [record]\nevery = 10\ntrajectories = 9\n[stationary]\nstart = 100\n"
        );
        let file = dir.file("paths.toml", &toml);
        let out = dir.path().join(format!("out-{d}"));
        let (file, out_s) = (file.to_str().unwrap(), out.to_str().unwrap());
        status(&["run", file, "--quiet", "--out", out_s]);
        let (shape, x) = npy_f32(&out.join("trajectories.npy"));
        let moments = std::fs::read_to_string(out.join("moments.csv")).unwrap();
        let steps: Vec<u64> = moments.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
        assert_eq!(shape, vec![steps.len() as u64, 9, d], "d = {d}");
        let bytes = std::fs::read(out.join("trajectory_steps.npy")).unwrap();
        assert_eq!(descr(&bytes), "<u8", "d = {d}");
        let f = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(f.into_vec::<u64>().unwrap(), steps, "d = {d}: the steps of moments.csv");
        let x0: Vec<f32> = exp(&toml).x0.iter().map(|&v| v as f32).collect();
        assert_eq!(&x[..d as usize], &x0[..], "d = {d}: path 0 starts at x0");

        // The figure: the size of its kind, the paths in the palette, contours for d ≥ 2 (their
        // blue grey, (160, 160, 185), anti-aliased on white: r = g < b, which neither the text
        // nor the grid nor the palette has).
        let (w, hgt, rgb) = decode_png(&std::fs::read(out.join("trajectories.png")).unwrap());
        assert_eq!((w, hgt), (1000, if d == 1 { 700 } else { 940 }), "d = {d}");
        assert!(count_colour(&rgb, [31, 119, 180]) > 500, "d = {d}: path 0 in the first palette colour");
        let contour = rgb.chunks_exact(3).filter(|p| p[0] == p[1] && u16::from(p[2]) >= u16::from(p[0]) + 8).count();
        assert_eq!(contour > 500, d > 1, "d = {d}: {contour} contour pixels");
        let svg = std::fs::read_to_string(out.join("trajectories.svg")).unwrap();
        assert!(svg.contains("the first 9 paths"), "d = {d}: the title");

        // The experiment file runs again to the same trajectories; `optsde plot` redraws.
        let again = dir.path().join(format!("again-{d}"));
        let saved = out.join("experiment.toml");
        let (saved, again_s) = (saved.to_str().unwrap(), again.to_str().unwrap());
        status(&["run", saved, "--quiet", "--no-plots", "--out", again_s]);
        assert_eq!(npy_f32(&again.join("trajectories.npy")), (shape.clone(), x.clone()), "d = {d}: rerun");
        std::fs::remove_file(out.join("trajectories.png")).unwrap();
        status(&["plot", out_s]);
        assert!(out.join("trajectories.png").is_file(), "d = {d}: optsde plot draws the trajectories");

        // The same experiment without trajectories replaces the folder's files, these too.
        let plain = dir.file("paths.toml", &toml.replace("trajectories = 9\n", ""));
        status(&["run", plain.to_str().unwrap(), "--quiet", "--out", out_s]);
        for f in ["trajectories.npy", "trajectory_steps.npy", "trajectories.png", "trajectories.svg"] {
            assert!(!out.join(f).exists(), "d = {d}: a stale {f}");
        }
    }
}

/// A sweep writes each point's trajectories into its `point-NNN/`, and `optsde plot` draws
/// each point's figure.
#[test]
fn sweep_points_write_their_trajectories() {
    let dir = TempDir::new("traj-sweep");
    let file = dir.file(
        "s.toml",
        "name = 's'\n[model]\nname = 'sgd'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = [1.0, 2.0]\n[noise]\n\
         name = 'gaussian'\nsigma = 1.0\n[run]\npaths = 256\nsteps = 100\nbackend = 'cpu'\n[record]\nevery = 10\n\
         trajectories = 3\n[stationary]\nstart = 50\n[sweep]\neta = [0.01, 0.03]\n",
    );
    let out = dir.path().join("out");
    status(&["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()]);
    let mut xs = Vec::new();
    for i in 0..2 {
        let pd = out.join(format!("point-{i:03}"));
        let (shape, x) = npy_f32(&pd.join("trajectories.npy"));
        assert_eq!(shape, vec![11, 3, 2], "point {i}");
        assert!(pd.join("trajectories.png").is_file(), "point {i}");
        std::fs::remove_file(pd.join("trajectories.svg")).unwrap();
        xs.push(x);
    }
    assert_ne!(xs[0], xs[1]);
    status(&["plot", out.to_str().unwrap()]);
    assert!(out.join("point-001/trajectories.svg").is_file());
}

/// `optsde ARGS`, which must succeed.
#[track_caller]
fn status(args: &[&str]) {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(o.status.success(), "optsde {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The `descr` of an `.npy` file's header (`<f4`, `<u8`, ...).
fn descr(bytes: &[u8]) -> String {
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    let at = header.find("'descr': '").unwrap_or_else(|| panic!("{header}")) + "'descr': '".len();
    header[at..].split('\'').next().unwrap().to_string()
}

/// A float32 `.npy` file: its shape and values.
fn npy_f32(path: &std::path::Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(descr(&bytes), "<f4", "{}", path.display());
    let f = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = f.shape().to_vec();
    (shape, f.into_vec::<f32>().unwrap())
}

/// The resource estimate counts the trajectories' files and figure: within a factor of 2 of what
/// a run with 64 trajectories over 401 records writes, and more than the same run without.
#[test]
fn the_resource_estimate_counts_the_trajectories() {
    let dir = TempDir::new("traj-guard");
    let toml = "name = 'g'\n[model]\nname = 'sgd'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = [1.0, 4.0]\n\
                [noise]\nname = 'gaussian'\nsigma = 1.0\n[init]\nx0 = [1.0, -1.0]\n[run]\npaths = 256\nsteps = 2000\n\
                backend = 'cpu'\n[record]\nevery = 5\ntrajectories = 64\n[stationary]\nstart = 1000\n";
    let file = dir.file("g.toml", toml);
    let out = dir.path().join("out");
    status(&["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()]);
    let written: u64 = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    let est = optsde::guard::sizes(&[exp(toml)], &CpuEngine::new(), true);
    let ratio = est.output_bytes as f64 / written as f64;
    assert!((0.5..2.0).contains(&ratio), "estimated {} of output, wrote {written}", est.output_bytes);
    let without = optsde::guard::sizes(&[exp(&toml.replace("trajectories = 64\n", ""))], &CpuEngine::new(), true);
    let traj_files: u64 = ["trajectories.npy", "trajectory_steps.npy", "trajectories.svg", "trajectories.png"]
        .iter()
        .map(|f| std::fs::metadata(out.join(f)).unwrap().len())
        .sum();
    let counted = (est.output_bytes - without.output_bytes) as f64 / traj_files as f64;
    assert!((0.5..2.0).contains(&counted), "counted {counted} × the trajectories' {traj_files} bytes");
    assert!(est.host_bytes > without.host_bytes, "{est:?}");
}
