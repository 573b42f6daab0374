//! A sweep's files: each point's run files in `point-NNN/` (its `summary.json` carries the point's
//! parameter values under `sweep`) and `sweep.csv`, one row per point.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::checks::last_reached;
use super::files::create_dir;
use super::manifest::{MANIFEST, Manifest};
use super::moments::MomentRow;
use super::run::write_run_files;
use super::summary::{num, ratio, summary_json};
use crate::error::Result;
use crate::plan::RunResult;
use crate::spec::Study;

/// The file name of [`sweep_csv`]'s text.
pub const SWEEP_CSV: &str = "sweep.csv";

/// The directory of sweep point `i` inside a sweep's output directory.
pub fn point_dir(i: usize) -> String {
    format!("point-{i:03}")
}

/// Write every point's files and `sweep.csv` into `dir`, then the sweep's [`MANIFEST`], which
/// lists `sweep.csv` and each point's manifest.
pub fn write_sweep(dir: &Path, study: &Study, results: &[RunResult]) -> Result<()> {
    create_dir(dir)?;
    let complete = results.iter().all(|r| r.complete);
    let mut m = Manifest::new("sweep", &study.points[0].exp.name, complete);
    m.claim(dir)?;
    for (i, (p, r)) in study.points.iter().zip(results).enumerate() {
        let mut summary = summary_json(&p.exp, r);
        let params: serde_json::Map<String, Value> =
            study.axes.iter().zip(&p.values).map(|(a, &v)| (a.key.clone(), num(v))).collect();
        summary["sweep"] = Value::Object(params);
        let point_manifest = write_run_files(&dir.join(point_dir(i)), &p.exp, r, summary)?;
        m.list(&format!("{}/{MANIFEST}", point_dir(i)), &point_manifest);
    }
    m.write_file(dir, crate::spec::EXPERIMENT_TOML, crate::spec::study_toml(study).as_bytes())?;
    m.write_file(dir, SWEEP_CSV, sweep_csv(study, results).as_bytes())?;
    m.finish(dir).map(drop)
}

/// The contents of `sweep.csv`: the swept parameters, the stationary loss ± SE, the final loss,
/// the diverged fraction, whether the point is complete, whether its stationary window passed
/// the stationarity check (`true`, `false`, or empty when it could not be made) and whether
/// its SE rests on enough batches, and the per-coordinate stationary variance ± SE. Values over
/// no live path are `NaN`, never 0.
pub fn sweep_csv(study: &Study, results: &[RunResult]) -> String {
    let dim = study.points[0].exp.dim;
    let mut out = String::from("point");
    for a in &study.axes {
        let _ = write!(out, ",{}", a.key);
    }
    out.push_str(",stationary_loss,stationary_loss_se,final_loss,diverged_fraction,complete,converged,se_reliable");
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
        let final_loss = last.map_or(f64::NAN, |rec| MomentRow::of(&p.exp, rec).loss_mean);
        let frac = ratio(r.diverged as f64, last.map_or(0, |rec| rec.paths) as f64);
        let st = &r.stationary;
        let converged = r.stationarity.converged.map_or(String::new(), |c| c.to_string());
        let _ = write!(
            out,
            ",{:e},{:e},{:e},{:e},{},{converged},{}",
            st.loss_mean,
            st.loss_se,
            final_loss,
            frac,
            r.complete,
            st.se_reliable()
        );
        for i in 0..dim {
            let _ = write!(out, ",{:e},{:e}", st.var[i], st.var_se[i]);
        }
        out.push('\n');
    }
    out
}
