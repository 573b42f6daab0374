//! The result files of a run (`summary.json`, `moments.csv`, `histograms.json`, and their
//! `.npy` copies from [`crate::npy`]) and the short text summary printed after it.
//!
//! Each file is written to a temporary name in the output directory and renamed into place, so
//! an interrupted run never leaves a half-written file. Non-finite numbers become JSON `null`
//! (never the invalid `NaN`), and `NaN`/`inf` in the CSV.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::plan::RunResult;
use crate::stats::RecordStats;

/// The file names written by [`write_outputs`].
pub const SUMMARY: &str = "summary.json";
pub const MOMENTS: &str = "moments.csv";
pub const HISTOGRAMS: &str = "histograms.json";
/// The table of a sweep, written by [`write_sweep`].
pub const SWEEP_CSV: &str = "sweep.csv";

/// Coordinates shown in [`human_summary`].
const SHOW_COORDS: usize = 8;

/// Write `summary.json`, `moments.csv`, `histograms.json` and the `.npy` files of
/// [`crate::npy`] into `dir`, creating it (and its parents).
pub fn write_outputs(dir: &Path, exp: &Experiment, r: &RunResult) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "cannot create output directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let summary = summary_json(exp, r);
    write_atomic(dir, SUMMARY, &to_json(&summary))?;
    write_atomic(dir, MOMENTS, moments_csv(exp, r).as_bytes())?;
    let hists = serde_json::to_value(&r.histograms).unwrap_or(Value::Null);
    write_atomic(dir, HISTOGRAMS, &to_json(&hists))?;
    crate::npy::write_npy(dir, exp, r)?;
    Ok(())
}

/// Pretty JSON with a trailing newline. A `Value` always serializes (non-finite floats are
/// already `null` in it).
fn to_json(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"null".to_vec());
    out.push(b'\n');
    out
}

/// Write `bytes` to `dir/.name.tmp-PID`, flush it to disk, and rename it to `dir/name`.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { action, path, source }
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io("cannot create", &tmp))?;
        f.write_all(bytes).map_err(io("cannot write", &tmp))?;
        f.sync_all().map_err(io("cannot write", &tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io("cannot rename a temporary file to", &path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A JSON number, or `null` when not finite.
fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn nums(xs: &[f64]) -> Value {
    Value::Array(xs.iter().map(|&x| num(x)).collect())
}

/// `a / b`, `NaN` (→ null) when `b` is not positive.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// Optimizer path-steps per second.
fn path_steps_per_second(exp: &Experiment, r: &RunResult) -> f64 {
    if !r.complete {
        return f64::NAN;
    }
    ratio(exp.path_steps() as f64, r.wall_seconds)
}

/// Euler–Maruyama coordinate updates per second (paths × dim × steps × refine).
fn em_updates_per_second(exp: &Experiment, r: &RunResult) -> f64 {
    if !r.complete {
        return f64::NAN;
    }
    let updates = exp.path_steps() as f64 * exp.dim as f64 * f64::from(exp.run.refine);
    ratio(updates, r.wall_seconds)
}

/// The contents of `summary.json`.
pub fn summary_json(exp: &Experiment, r: &RunResult) -> Value {
    let dim = exp.dim;
    // The last record any path has reached (the last step once the run is complete).
    let last = r.records.iter().rev().find(|rec| rec.paths > 0);
    let final_ = match last {
        Some(rec) => json!({
            "step": rec.step,
            "t": num(rec.step as f64 * exp.model.name.time_per_step(exp.model.eta)),
            "finite": rec.finite(),
            "paths": rec.paths,
            "loss_mean": num(rec.q[dim].mean),
            "loss_var": num(rec.q[dim].var()),
            "mean": nums(&rec.q[..dim].iter().map(|m| m.mean).collect::<Vec<_>>()),
            "var": nums(&rec.q[..dim].iter().map(|m| m.var()).collect::<Vec<_>>()),
        }),
        None => Value::Null,
    };
    let s = &r.stationary;
    let stationary = json!({
        "start": exp.stationary.start,
        "every": exp.stationary.every,
        "samples": s.samples,
        "batches": s.batches,
        "loss_mean": num(s.loss_mean),
        "loss_se": num(s.loss_se),
        "mean": nums(&s.mean),
        "mean_se": nums(&s.mean_se),
        "var": nums(&s.var),
        "var_se": nums(&s.var_se),
        "second_moment": nums(&s.second_moment),
        "second_moment_se": nums(&s.second_moment_se),
    });
    // Through `Value` so that any non-finite float inside the experiment also becomes null.
    let experiment = serde_json::to_value(exp).unwrap_or(Value::Null);
    json!({
        "name": exp.name,
        "experiment": experiment,
        "backend": {
            "kind": r.backend.kind,
            "adapter": r.backend.adapter,
            "driver": r.backend.driver,
            "api": r.backend.api,
        },
        "model": exp.model.name.name(),
        "paths": exp.run.paths,
        "steps": exp.run.steps,
        "refine": exp.run.refine,
        "dim": dim,
        "eta": num(exp.model.eta),
        "seed": exp.run.seed,
        "diverged": r.diverged,
        "diverged_fraction": num(ratio(r.diverged as f64, last.map_or(0, |rec| rec.paths) as f64)),
        "divergence": {
            "bound": num(exp.run.divergence_bound),
            "diverged": r.divergence.n as u64,
            "first_step": r.divergence.first,
            "mean_step": num(r.divergence.mean_step()),
        },
        "complete": r.complete,
        "paths_done": r.paths_done,
        "wall_seconds": num(r.wall_seconds),
        "path_steps_per_second": num(path_steps_per_second(exp, r)),
        "em_updates_per_second": num(em_updates_per_second(exp, r)),
        "chunk": r.chunk,
        "peak_memory_bytes": r.peak_memory_bytes,
        "final": final_,
        "stationary": stationary,
    })
}

/// The contents of `moments.csv`: one row per record step.
pub fn moments_csv(exp: &Experiment, r: &RunResult) -> String {
    let dim = exp.dim;
    let mut out = String::from("step,t,loss_mean,loss_var,diverged");
    for i in 0..dim {
        let _ = write!(out, ",mean_{i},var_{i}");
    }
    out.push('\n');
    for rec in &r.records {
        csv_row(&mut out, exp, rec);
    }
    out
}

/// One row of `moments.csv` as numbers (for `moments.npy`): the same values the CSV prints.
pub(crate) fn moment_row(exp: &Experiment, rec: &RecordStats) -> Vec<f64> {
    let dim = exp.dim;
    let t = rec.step as f64 * exp.model.name.time_per_step(exp.model.eta);
    let loss = &rec.q[dim];
    let mut row = vec![rec.step as f64, t, loss.mean, loss.var(), rec.diverged() as f64];
    row.extend(rec.q[..dim].iter().flat_map(|m| [m.mean, m.var()]));
    row
}

fn csv_row(out: &mut String, exp: &Experiment, rec: &RecordStats) {
    let dim = exp.dim;
    let t = rec.step as f64 * exp.model.name.time_per_step(exp.model.eta);
    let loss = &rec.q[dim];
    let diverged = rec.diverged();
    let _ = write!(out, "{},{:e},{:e},{:e},{}", rec.step, t, loss.mean, loss.var(), diverged);
    for m in &rec.q[..dim] {
        let _ = write!(out, ",{:e},{:e}", m.mean, m.var());
    }
    out.push('\n');
}

/// The directory of sweep point `i` inside a sweep's output directory.
pub fn point_dir(i: usize) -> String {
    format!("point-{i:03}")
}

/// A sweep's outputs: each point's files in `point-NNN/` (its `summary.json` carries the point's
/// parameter values under `sweep`) and `sweep.csv`, one row per point: the swept parameters,
/// the stationary loss ± SE, the final loss, the diverged fraction and the per-coordinate
/// stationary variance ± SE.
pub fn write_sweep(dir: &Path, study: &crate::spec::Study, results: &[RunResult]) -> Result<()> {
    for (i, (p, r)) in study.points.iter().zip(results).enumerate() {
        let pd = dir.join(point_dir(i));
        write_outputs(&pd, &p.exp, r)?;
        let mut summary = summary_json(&p.exp, r);
        let params: serde_json::Map<String, Value> =
            study.axes.iter().zip(&p.values).map(|(a, &v)| (a.key.clone(), num(v))).collect();
        summary["sweep"] = Value::Object(params);
        write_atomic(&pd, SUMMARY, &to_json(&summary))?;
    }
    write_atomic(dir, SWEEP_CSV, sweep_csv(study, results).as_bytes())
}

/// The contents of `sweep.csv`.
pub fn sweep_csv(study: &crate::spec::Study, results: &[RunResult]) -> String {
    let dim = study.points[0].exp.dim;
    let mut out = String::from("point");
    for a in &study.axes {
        let _ = write!(out, ",{}", a.key);
    }
    out.push_str(",stationary_loss,stationary_loss_se,final_loss,diverged_fraction,complete");
    for i in 0..dim {
        let _ = write!(out, ",var_{i},var_se_{i}");
    }
    out.push('\n');
    for (i, (p, r)) in study.points.iter().zip(results).enumerate() {
        let _ = write!(out, "{i}");
        for v in &p.values {
            let _ = write!(out, ",{v:e}");
        }
        let last = r.records.iter().rev().find(|rec| rec.paths > 0);
        let final_loss = last.map_or(f64::NAN, |rec| rec.q[dim].mean);
        let frac = ratio(r.diverged as f64, last.map_or(0, |rec| rec.paths) as f64);
        let st = &r.stationary;
        let _ = write!(out, ",{:e},{:e},{:e},{:e},{}", st.loss_mean, st.loss_se, final_loss, frac, r.complete);
        for i in 0..dim {
            let _ = write!(out, ",{:e},{:e}", st.var[i], st.var_se[i]);
        }
        out.push('\n');
    }
    out
}

/// A short table of a sweep (for stdout).
pub fn sweep_summary(study: &crate::spec::Study, results: &[RunResult]) -> String {
    let exp = &study.points[0].exp;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sweep       {} (model {}, dim {}), {} points × {} paths × {} steps in the same launches",
        exp.name,
        exp.model.name.name(),
        exp.dim,
        study.points.len(),
        exp.run.paths,
        exp.run.steps
    );
    if let Some(r) = results.first() {
        let b = &r.backend;
        let _ =
            writeln!(s, "backend     {} — {} ({}, {}), {:.3} s", b.kind, b.adapter, b.driver, b.api, r.wall_seconds);
    }
    let head: Vec<String> = study.axes.iter().map(|a| format!("{:>14}", a.key)).collect();
    let _ = writeln!(s, "{}  {:>14}  {:>10}  {:>9}", head.join(" "), "stat. loss", "± SE", "diverged");
    for (p, r) in study.points.iter().zip(results) {
        let vals: Vec<String> = p.values.iter().map(|v| format!("{v:>14.6e}")).collect();
        let st = &r.stationary;
        let _ = writeln!(s, "{}  {:>14.6e}  {:>10.2e}  {:>9}", vals.join(" "), st.loss_mean, st.loss_se, r.diverged);
    }
    s
}

/// A short multi-line report of a run (for stdout).
pub fn human_summary(exp: &Experiment, r: &RunResult) -> String {
    let dim = exp.dim;
    let b = &r.backend;
    let mut s = String::new();
    let _ =
        writeln!(s, "experiment  {} (model {}, dim {}, eta {})", exp.name, exp.model.name.name(), dim, exp.model.eta);
    let _ = writeln!(s, "backend     {} — {} ({}, {})", b.kind, b.adapter, b.driver, b.api);
    let refine = if exp.model.name.is_sde() { format!(", refine {}", exp.run.refine) } else { String::new() };
    let _ = writeln!(s, "paths       {} × {} steps{refine} (chunk {})", exp.run.paths, exp.run.steps, r.chunk);
    let _ = writeln!(
        s,
        "wall time   {:.3} s, {:.3e} path-steps/s ({:.3e} EM updates/s)",
        r.wall_seconds,
        path_steps_per_second(exp, r),
        em_updates_per_second(exp, r)
    );
    if let Some(b) = r.peak_memory_bytes {
        let _ = writeln!(s, "peak memory {:.1} MiB (the process's resident high-water mark)", b as f64 / 1048576.0);
    }
    let _ = write!(
        s,
        "diverged    {} of {} paths ({:.3}%; |x_i| > {:e} or non-finite)",
        r.diverged,
        exp.run.paths,
        100.0 * ratio(r.diverged as f64, exp.run.paths as f64),
        exp.run.divergence_bound
    );
    if let Some(f) = r.divergence.first {
        let _ = write!(s, ", first at step {f}, mean step {:.1}", r.divergence.mean_step());
    }
    s.push('\n');
    if let Some(rec) = r.records.last() {
        let l = &rec.q[dim];
        let _ = writeln!(
            s,
            "final       step {} (t = {}): loss {:.6e} ± {:.3e} (mean ± sd over paths)",
            rec.step,
            rec.step as f64 * exp.model.name.time_per_step(exp.model.eta),
            l.mean,
            l.var().sqrt()
        );
    }
    let st = &r.stationary;
    let _ = writeln!(
        s,
        "stationary  steps >= {} every {}: {} samples in {} batches",
        exp.stationary.start, exp.stationary.every, st.samples, st.batches
    );
    let _ = writeln!(s, "            loss {:.6e} ± {:.2e} (mean ± SE)", st.loss_mean, st.loss_se);
    for i in 0..dim.min(SHOW_COORDS) {
        let _ = writeln!(
            s,
            "            x{i}: var {:.6e} ± {:.2e}, mean {:+.3e} ± {:.2e}",
            st.var[i], st.var_se[i], st.mean[i], st.mean_se[i]
        );
    }
    if dim > SHOW_COORDS {
        let _ = writeln!(s, "            ... {} more coordinates in {SUMMARY}", dim - SHOW_COORDS);
    }
    s
}
