//! The files of one run: `summary.json`, `moments.csv`, `histograms.json` (the serde form of
//! [`crate::stats::Histogram`]), `histograms2d.json` and the `.npy` copies, written together as
//! one snapshot.

use std::path::Path;

use serde_json::Value;

use super::files::{create_dir, json_bytes};
use super::manifest::Manifest;
use super::moments::{MOMENTS, moments_csv};
use super::npy::npy_files;
use super::summary::{SUMMARY, summary_json};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::plan::RunResult;

/// The file name of the histograms' JSON list.
pub const HISTOGRAMS: &str = "histograms.json";
/// The file name of the 2-D histograms' JSON list (the serde form of
/// [`crate::stats::Histogram2d`]; written when `[stationary] pairs` names any).
pub const HISTOGRAMS2D: &str = "histograms2d.json";

/// Write `summary.json`, `moments.csv`, `histograms.json` and the `.npy` files of
/// [`super::npy`] into `dir` (created with its parents), then the [`super::manifest::MANIFEST`] that makes them
/// one snapshot.
pub fn write_outputs(dir: &Path, exp: &Experiment, r: &RunResult) -> Result<()> {
    write_run_files(dir, exp, r, summary_json(exp, r)).map(drop)
}

/// [`write_outputs`] with the `summary.json` given; returns the manifest's bytes.
pub(super) fn write_run_files(dir: &Path, exp: &Experiment, r: &RunResult, summary: Value) -> Result<Vec<u8>> {
    create_dir(dir)?;
    let mut m = Manifest::new("run", &exp.name, r.complete);
    m.claim(dir)?;
    m.write_file(dir, SUMMARY, &json_bytes(&summary))?;
    m.write_file(dir, crate::spec::EXPERIMENT_TOML, crate::spec::to_toml(exp).as_bytes())?;
    m.write_file(dir, MOMENTS, moments_csv(exp, r).as_bytes())?;
    let hists = serde_json::to_value(&r.histograms).unwrap_or(Value::Null);
    m.write_file(dir, HISTOGRAMS, &json_bytes(&hists))?;
    if !r.histograms2d.is_empty() {
        let hists2d = serde_json::to_value(&r.histograms2d).unwrap_or(Value::Null);
        m.write_file(dir, HISTOGRAMS2D, &json_bytes(&hists2d))?;
    }
    for (name, bytes) in npy_files(exp, r)? {
        m.write_file(dir, name, &bytes)?;
    }
    m.finish(dir)
}
