//! `moments.csv` and its row. [`MomentRow`] is one record's moments, the one type behind a line of
//! `moments.csv`, a row of `moments.npy` ([`super::npy`]) and a point of the figures
//! ([`crate::plot`]), which also reads a saved `moments.csv` back into it.
//!
//! The CSV prints every float with `{:e}`, the shortest text that reads back as the same f64, so
//! the `.npy` rows, the CSV and the rows read back from it hold the same numbers; non-finite
//! values print as `NaN`/`inf`.

use std::fmt::Write as _;

use crate::experiment::Experiment;
use crate::plan::RunResult;
use crate::stats::RecordStats;

/// The file name of [`moments_csv`]'s text.
pub const MOMENTS: &str = "moments.csv";

/// The moments of one record.
#[derive(Clone, Debug, PartialEq)]
pub struct MomentRow {
    pub step: u64,
    /// The model time of `step` (kη, or kη² for the P7 SDEs).
    pub t: f64,
    pub loss_mean: f64,
    pub loss_var: f64,
    /// Paths that reached this record but are excluded as diverged (the CSV's `diverged`).
    pub diverged: u64,
    /// Paths with a finite state at this record: the moments are over these. Not in the CSV;
    /// a row read back from one takes it from the run's path count (see `plot`'s loader).
    pub finite: u64,
    /// Per coordinate.
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

impl MomentRow {
    /// The row of one of `exp`'s records.
    pub fn of(exp: &Experiment, rec: &RecordStats) -> MomentRow {
        let dim = exp.dim;
        let loss = &rec.q[dim];
        MomentRow {
            step: rec.step,
            t: rec.step as f64 * exp.model.name.time_per_step(exp.model.eta),
            loss_mean: loss.mean,
            loss_var: loss.var(),
            diverged: rec.diverged(),
            finite: rec.finite(),
            mean: rec.q[..dim].iter().map(|m| m.mean).collect(),
            var: rec.q[..dim].iter().map(|m| m.var()).collect(),
        }
    }

    /// The row's numbers in the order of [`columns`] (a row of `moments.npy`).
    pub fn values(&self) -> Vec<f64> {
        let mut row = vec![self.step as f64, self.t, self.loss_mean, self.loss_var, self.diverged as f64];
        row.extend(self.mean.iter().zip(&self.var).flat_map(|(&m, &v)| [m, v]));
        row
    }

    /// Append the row as a line of `moments.csv`.
    fn write_csv(&self, out: &mut String) {
        let _ = write!(out, "{},{:e},{:e},{:e},{}", self.step, self.t, self.loss_mean, self.loss_var, self.diverged);
        for (m, v) in self.mean.iter().zip(&self.var) {
            let _ = write!(out, ",{m:e},{v:e}");
        }
        out.push('\n');
    }
}

/// The column names of `moments.csv` (and of `moments.npy`'s columns) in dimension `dim`:
/// `step, t, loss_mean, loss_var, diverged, mean_0, var_0, …`.
pub fn columns(dim: usize) -> Vec<String> {
    let mut c: Vec<String> = ["step", "t", "loss_mean", "loss_var", "diverged"].map(String::from).into();
    for i in 0..dim {
        c.extend([format!("mean_{i}"), format!("var_{i}")]);
    }
    c
}

/// The contents of `moments.csv`: one row per record step (a snapshot's records that no path
/// reached yet included, all zero).
pub fn moments_csv(exp: &Experiment, r: &RunResult) -> String {
    let mut out = columns(exp.dim).join(",");
    out.push('\n');
    for rec in &r.records {
        MomentRow::of(exp, rec).write_csv(&mut out);
    }
    out
}

/// The rows of a run's records that any path reached (the figures' rows).
pub fn rows_from_run(exp: &Experiment, r: &RunResult) -> Vec<MomentRow> {
    r.records.iter().filter(|rec| rec.paths > 0).map(|rec| MomentRow::of(exp, rec)).collect()
}
