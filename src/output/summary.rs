//! `summary.json`: the validated experiment, the backend, the run's state (complete, paths done,
//! how far the paths got, divergence), its speed and memory, the last record any path reached,
//! the stationary estimates with their checks, and the warnings ([`super::checks`]).

use serde_json::{Value, json};

use super::checks::{all_diverged, last_reached, warnings};
use super::moments::MomentRow;
use crate::experiment::Experiment;
use crate::plan::RunResult;
use crate::stats::StationaryEstimate;

/// The file name of [`summary_json`]'s text.
pub const SUMMARY: &str = "summary.json";

/// The per-coordinate stationary moments of `e` and their standard errors, as fields of `obj`
/// (the coordinates' own, or those in H's eigenbasis).
fn add_moments(obj: &mut Value, e: &StationaryEstimate) {
    for (key, xs) in [
        ("mean", &e.mean),
        ("mean_se", &e.mean_se),
        ("var", &e.var),
        ("var_se", &e.var_se),
        ("second_moment", &e.second_moment),
        ("second_moment_se", &e.second_moment_se),
    ] {
        obj[key] = nums(xs);
    }
}

/// A JSON number, or `null` when not finite.
pub(super) fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn nums(xs: &[f64]) -> Value {
    Value::Array(xs.iter().map(|&x| num(x)).collect())
}

/// `a / b`, `NaN` (→ null) when `b` is not positive.
pub(super) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// Optimizer path-steps per second.
pub(super) fn path_steps_per_second(exp: &Experiment, r: &RunResult) -> f64 {
    if !r.complete {
        return f64::NAN;
    }
    ratio(exp.path_steps() as f64, r.wall_seconds)
}

/// Euler–Maruyama coordinate updates per second (paths × dim × steps × refine).
pub(super) fn em_updates_per_second(exp: &Experiment, r: &RunResult) -> f64 {
    if !r.complete {
        return f64::NAN;
    }
    let updates = exp.path_steps() as f64 * exp.dim as f64 * f64::from(exp.run.refine);
    ratio(updates, r.wall_seconds)
}

/// The contents of `summary.json`.
pub fn summary_json(exp: &Experiment, r: &RunResult) -> Value {
    let dim = exp.dim;
    let last = last_reached(r);
    let final_ = match last {
        Some(rec) => {
            let row = MomentRow::of(exp, rec);
            let mut f = json!({
                "step": row.step,
                "t": num(row.t),
                "finite": row.finite,
                "paths": rec.paths,
                "diverged_fraction": num(ratio(row.diverged as f64, rec.paths as f64)),
                "loss_mean": num(row.loss_mean),
                "loss_var": num(row.loss_var),
                "mean": nums(&row.mean),
                "var": nums(&row.var),
            });
            // A regression's loss is its excess risk P; the population risk adds ½ E ε².
            if let Some(floor) = exp.irreducible_risk() {
                f["risk"] = json!({
                    "excess_mean": num(row.loss_mean),
                    "excess_var": num(row.loss_var),
                    "population_mean": num(row.loss_mean + floor),
                    "irreducible": num(floor),
                });
            }
            f
        }
        None => Value::Null,
    };
    let s = &r.stationary;
    let matrix =
        |m: &Option<Vec<Vec<f64>>>| m.as_ref().map_or(Value::Null, |rows| rows.iter().map(|r| nums(r)).collect());
    let mut stationary = json!({
        "start": exp.stationary.start,
        "every": exp.stationary.every,
        "samples": s.samples,
        "batches": s.batches,
        "loss_mean": num(s.loss_mean),
        "loss_se": num(s.loss_se),
        "se_reliable": s.se_reliable(),
        "converged": r.stationarity.converged,
        "halves": {
            "split_step": r.stationarity.split,
            "first_loss_mean": num(r.stationarity.first_loss),
            "first_loss_se": num(r.stationarity.first_se),
            "second_loss_mean": num(r.stationarity.second_loss),
            "second_loss_se": num(r.stationarity.second_se),
            "z": num(r.stationarity.z),
        },
    });
    add_moments(&mut stationary, s);
    if let Some(floor) = exp.irreducible_risk() {
        stationary["risk"] = json!({
            "excess_mean": num(s.loss_mean),
            "excess_se": num(s.loss_se),
            "population_mean": num(s.loss_mean + floor),
            "population_se": num(s.loss_se),
            "irreducible": num(floor),
        });
    }
    // The covariance matrix (rows), where the run kept it (`[stationary] cov`).
    if s.cov.is_some() {
        stationary["cov"] = matrix(&s.cov);
        stationary["cov_se"] = matrix(&s.cov_se);
    }
    // The moments of y = Qᵀ(x − c) (`[record] basis = "hessian"`).
    if let Some((values, e)) = &s.eigenbasis {
        let mut eigen = json!({ "eigenvalues": nums(values) });
        add_moments(&mut eigen, e);
        stationary["eigenbasis"] = eigen;
    }
    // The file form (experiment.toml as JSON): copied into a .json file, it runs again.
    let experiment = crate::spec::to_json(exp);
    json!({
        "name": exp.name,
        "experiment": experiment,
        "provenance": crate::provenance::json(&r.backend),
        "backend": {
            "kind": r.backend.kind,
            "adapter": r.backend.adapter,
            "driver": r.backend.driver,
            "api": r.backend.api,
        },
        "model": exp.model.name.name(),
        // What the loss columns hold: f, or a regression's excess risk P = ½ rᵀKr.
        "loss": if exp.irreducible_risk().is_some() { "excess-risk" } else { "objective" },
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
        "all_diverged": all_diverged(r),
        "paths_done": r.paths_done,
        "reached": last.map(|rec| json!({ "step": rec.step, "paths": rec.paths })),
        "wall_seconds": num(r.wall_seconds),
        "path_steps_per_second": num(path_steps_per_second(exp, r)),
        "em_updates_per_second": num(em_updates_per_second(exp, r)),
        "chunk": r.chunk,
        "peak_memory_bytes": r.peak_memory_bytes,
        "final": final_,
        "stationary": stationary,
        "warnings": warnings(exp, r),
    })
}
