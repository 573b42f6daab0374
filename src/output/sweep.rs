//! A sweep's files: each point's run files in `point-NNN/` (its `summary.json` carries the point's
//! parameter values under `sweep`) and `sweep.csv`, one row per point.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::files::{json_bytes, write_atomic};
use super::run::write_outputs;
use super::summary::{SUMMARY, last_reached, num, ratio, summary_json};
use crate::error::Result;
use crate::plan::RunResult;
use crate::spec::Study;

/// The file name of [`sweep_csv`]'s text.
pub const SWEEP_CSV: &str = "sweep.csv";

/// The directory of sweep point `i` inside a sweep's output directory.
pub fn point_dir(i: usize) -> String {
    format!("point-{i:03}")
}

/// Write every point's files and `sweep.csv` into `dir`.
pub fn write_sweep(dir: &Path, study: &Study, results: &[RunResult]) -> Result<()> {
    for (i, (p, r)) in study.points.iter().zip(results).enumerate() {
        let pd = dir.join(point_dir(i));
        write_outputs(&pd, &p.exp, r)?;
        let mut summary = summary_json(&p.exp, r);
        let params: serde_json::Map<String, Value> =
            study.axes.iter().zip(&p.values).map(|(a, &v)| (a.key.clone(), num(v))).collect();
        summary["sweep"] = Value::Object(params);
        write_atomic(&pd, SUMMARY, &json_bytes(&summary))?;
    }
    write_atomic(dir, crate::spec::EXPERIMENT_TOML, crate::spec::study_toml(study).as_bytes())?;
    write_atomic(dir, SWEEP_CSV, sweep_csv(study, results).as_bytes())
}

/// The contents of `sweep.csv`: the swept parameters, the stationary loss ± SE, the final loss,
/// the diverged fraction, whether the point is complete, and the per-coordinate stationary
/// variance ± SE.
pub fn sweep_csv(study: &Study, results: &[RunResult]) -> String {
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
        let last = last_reached(r);
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
