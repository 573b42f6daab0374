//! Reading a saved run or sweep back (`optsde plot`): `summary.json`'s experiment (validated
//! again), `moments.csv` into [`MomentRow`]s, `histograms.json`, `trajectories.npy` with its
//! steps where the run recorded trajectories, and `sweep.csv`. The files' names and columns are
//! [`crate::output`]'s.

use std::path::Path;

use serde_json::Value;

use super::sweep::SweepPoint;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::output::npy::{TRAJECTORIES_NPY, TRAJECTORY_STEPS_NPY};
use crate::output::{self, MomentRow};
use crate::stats::{Histogram, Histogram2d};
use crate::trajectory::Trajectories;

/// The rows of a `moments.csv` (`path` for messages): each with the live paths its moments are
/// over (`paths`) and the diverged ones.
pub fn rows_from_csv(text: &str, path: &Path, dim: usize) -> Result<Vec<MomentRow>> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let expected = output::moments::columns(dim);
    if header != expected {
        return Err(bad(format!(
            "the header is `{}`, expected `{}` (dimension {dim} from summary.json)",
            header.join(","),
            expected.join(",")
        )));
    }
    let lead = output::moments::LEAD_COLUMNS.len();
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != expected.len() {
            return Err(bad(format!("line {} has {} cells, expected {}", n + 2, cells.len(), expected.len())));
        }
        let num = |j: usize| -> Result<f64> {
            cells[j].trim().parse::<f64>().map_err(|_| bad(format!("line {}: `{}` is not a number", n + 2, cells[j])))
        };
        let int = |j: usize| -> Result<u64> {
            cells[j].trim().parse::<u64>().map_err(|_| bad(format!("line {}: `{}` is not an integer", n + 2, cells[j])))
        };
        let values: Vec<f64> = (lead..cells.len()).map(num).collect::<Result<_>>()?;
        rows.push(MomentRow {
            step: int(0)?,
            t: num(1)?,
            loss_mean: num(2)?,
            loss_var: num(3)?,
            diverged: int(4)?,
            finite: int(5)?,
            mean: values.iter().step_by(2).copied().collect(),
            var: values.iter().skip(1).step_by(2).copied().collect(),
        });
    }
    Ok(rows)
}

/// A run read back from its output directory.
#[derive(Clone, Debug)]
pub struct SavedRun {
    pub exp: Experiment,
    pub rows: Vec<MomentRow>,
    pub histograms: Vec<Histogram>,
    /// `trajectories.npy` (empty when the run recorded none).
    pub trajectories: Trajectories,
    /// `histograms2d.json` (empty when the run has no `[stationary] pairs`).
    pub histograms2d: Vec<Histogram2d>,
    /// `summary.json`'s `stationary.mean` (x0 where it has none: no sample yet).
    pub stationary_mean: Vec<f64>,
    pub complete: bool,
}

/// Read `summary.json` (its `experiment`, validated again), `moments.csv`, `histograms.json`
/// and, where they exist, `trajectories.npy` (with `trajectory_steps.npy`) and
/// `histograms2d.json` from `dir`, after
/// checking that they are the snapshot its `manifest.json`
/// lists (a folder of mixed snapshots is refused).
pub fn load_run(dir: &Path) -> Result<SavedRun> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map(|text| (text, path.clone())).map_err(|source| Error::Io {
            action: "not an optsde run directory (`optsde run --out DIR` writes one): cannot read",
            path,
            source,
        })
    };
    let json = |text: &str, path: &Path| {
        serde_json::from_str::<Value>(text)
            .map_err(|e| Error::Syntax { path: path.display().to_string(), message: e.to_string() })
    };
    // A folder with neither a manifest nor a summary is not a run's (that message first); then
    // the manifest check.
    if !dir.join(output::MANIFEST).exists() {
        read(output::SUMMARY)?;
    }
    output::manifest::verify(dir)?;
    let (text, summary_path) = read(output::SUMMARY)?;
    let summary = json(&text, &summary_path)?;
    let exp = crate::spec::experiment_from_summary(&summary, &summary_path)?;
    let complete = summary["complete"].as_bool().unwrap_or(true);
    let (text, csv_path) = read(output::MOMENTS)?;
    let rows = rows_from_csv(&text, &csv_path, exp.dim)?;
    let (text, hist_path) = read(output::HISTOGRAMS)?;
    let histograms = histograms_from_json(&json(&text, &hist_path)?, &hist_path)?;
    let traj_path = dir.join(TRAJECTORIES_NPY);
    let trajectories = if traj_path.is_file() {
        let bytes = |path: &Path| {
            std::fs::read(path).map_err(|source| Error::Io { action: "cannot read", path: path.to_path_buf(), source })
        };
        let steps_path = dir.join(TRAJECTORY_STEPS_NPY);
        trajectories_from_npy(&bytes(&traj_path)?, &bytes(&steps_path)?, &traj_path, exp.dim)?
    } else {
        Trajectories::default()
    };
    let hist2d_path = dir.join(output::HISTOGRAMS2D);
    let histograms2d = if hist2d_path.is_file() {
        let (text, path) = read(output::HISTOGRAMS2D)?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Syntax { path: path.display().to_string(), message: e.to_string() })?
    } else {
        Vec::new()
    };
    let stationary_mean = summary["stationary"]["mean"]
        .as_array()
        .map(|m| m.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect::<Vec<f64>>())
        .filter(|m| m.len() == exp.dim && m.iter().all(|v| v.is_finite()))
        .unwrap_or_else(|| exp.x0.clone());
    Ok(SavedRun { exp, rows, histograms, trajectories, histograms2d, stationary_mean, complete })
}

/// The trajectories of a `trajectories.npy` (float32, (records, paths, dim); `path` for
/// messages) and its `trajectory_steps.npy` (uint64, (records,)), of dimension `dim`.
pub fn trajectories_from_npy(x: &[u8], steps: &[u8], path: &Path, dim: usize) -> Result<Trajectories> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let not_npy = |name: &str, e: std::io::Error| bad(format!("{name} is not a .npy file: {e}"));
    let xf = npyz::NpyFile::new(x).map_err(|e| not_npy(TRAJECTORIES_NPY, e))?;
    let shape: Vec<u64> = xf.shape().to_vec();
    if shape.len() != 3 || shape[2] != dim as u64 {
        return Err(bad(format!(
            "shape {shape:?}, expected (records, paths, {dim}) (dimension {dim} from summary.json)"
        )));
    }
    let x: Vec<f32> = xf.into_vec().map_err(|e| bad(format!("expected float32 states: {e}")))?;
    let sf = npyz::NpyFile::new(steps).map_err(|e| not_npy(TRAJECTORY_STEPS_NPY, e))?;
    let steps: Vec<u64> =
        sf.into_vec().map_err(|e| bad(format!("{TRAJECTORY_STEPS_NPY}: expected uint64 steps: {e}")))?;
    if steps.len() as u64 != shape[0] {
        return Err(bad(format!("{} records, but {TRAJECTORY_STEPS_NPY} lists {} steps", shape[0], steps.len())));
    }
    Ok(Trajectories { paths: shape[1] as usize, dim, steps, x })
}

/// The histograms of a `histograms.json`.
pub fn histograms_from_json(v: &Value, path: &Path) -> Result<Vec<Histogram>> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let list = v.as_array().ok_or_else(|| bad("expected a list of histograms".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            let f = |k: &str| h[k].as_f64().ok_or_else(|| bad(format!("histogram {i}: `{k}` is not a number")));
            let u = |k: &str| h[k].as_u64().ok_or_else(|| bad(format!("histogram {i}: `{k}` is not a count")));
            let counts = h["counts"].as_array().ok_or_else(|| bad(format!("histogram {i}: no `counts` list")))?;
            Ok(Histogram {
                name: h["name"].as_str().unwrap_or("").to_string(),
                lo: f("lo")?,
                hi: f("hi")?,
                counts: counts
                    .iter()
                    .map(|c| c.as_u64().ok_or_else(|| bad(format!("histogram {i}: a count is not an integer"))))
                    .collect::<Result<_>>()?,
                underflow: u("underflow")?,
                overflow: u("overflow")?,
            })
        })
        .collect()
}

/// The swept parameters, the points (without theory) and whether every point is complete, from
/// the `sweep.csv` in `dir`.
pub fn load_sweep(dir: &Path) -> Result<(Vec<String>, Vec<SweepPoint>, bool)> {
    output::manifest::verify(dir)?;
    let path = dir.join(output::SWEEP_CSV);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "not an optsde sweep directory (`optsde run` on a file with [sweep] writes one): cannot read",
        path: path.clone(),
        source,
    })?;
    sweep_from_csv(&text, &path)
}

/// [`load_sweep`] from the text of a `sweep.csv` (`path` for messages).
fn sweep_from_csv(text: &str, path: &Path) -> Result<(Vec<String>, Vec<SweepPoint>, bool)> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let k = header.iter().position(|h| *h == "stationary_loss").unwrap_or(0);
    let tail = [
        "stationary_loss",
        "stationary_loss_se",
        "final_loss",
        "diverged_fraction",
        "complete",
        "converged",
        "se_reliable",
    ];
    if header.first() != Some(&"point") || k < 2 || header.get(k..k + tail.len()) != Some(&tail[..]) {
        return Err(bad(format!(
            "the header is `{}`, expected `point,<swept parameters>,{},...`",
            header.join(","),
            tail.join(",")
        )));
    }
    let keys: Vec<String> = header[1..k].iter().map(|s| s.to_string()).collect();
    let mut points = Vec::new();
    let mut complete = true;
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            return Err(bad(format!("line {} has {} cells, expected {}", n + 2, cells.len(), header.len())));
        }
        if cells[0].parse::<usize>().ok() != Some(n) {
            return Err(bad(format!("line {}: point `{}`, expected {n}", n + 2, cells[0])));
        }
        let num = |j: usize| -> Result<f64> {
            cells[j].parse::<f64>().map_err(|_| bad(format!("line {}: `{}` is not a number", n + 2, cells[j])))
        };
        let values = (1..k).map(num).collect::<Result<Vec<f64>>>()?;
        complete &= cells[k + 4] == "true";
        points.push(SweepPoint { values, loss: num(k)?, se: num(k + 1)?, theory: None });
    }
    Ok((keys, points, complete))
}
