//! The files of one run: `summary.json`, `moments.csv`, `histograms.json` (the serde form of
//! [`crate::stats::Histogram`]) and the `.npy` copies, written together.

use std::path::Path;

use serde_json::Value;

use super::files::{create_dir, json_bytes, write_atomic};
use super::moments::{MOMENTS, moments_csv};
use super::npy::write_npy;
use super::summary::{SUMMARY, summary_json};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::plan::RunResult;

/// The file name of the histograms' JSON list.
pub const HISTOGRAMS: &str = "histograms.json";

/// Write `summary.json`, `moments.csv`, `histograms.json` and the `.npy` files of
/// [`super::npy`] into `dir`, creating it (and its parents).
pub fn write_outputs(dir: &Path, exp: &Experiment, r: &RunResult) -> Result<()> {
    create_dir(dir)?;
    write_atomic(dir, SUMMARY, &json_bytes(&summary_json(exp, r)))?;
    write_atomic(dir, crate::spec::EXPERIMENT_TOML, crate::spec::to_toml(exp).as_bytes())?;
    write_atomic(dir, MOMENTS, moments_csv(exp, r).as_bytes())?;
    let hists = serde_json::to_value(&r.histograms).unwrap_or(Value::Null);
    write_atomic(dir, HISTOGRAMS, &json_bytes(&hists))?;
    write_npy(dir, exp, r)
}
