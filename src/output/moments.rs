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
    /// Paths with a finite state at this record: the moments are over these (the CSV's
    /// `paths`). With none, the moments are NaN.
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
        // Moments over no path are undefined, not zero.
        let live = rec.finite() > 0;
        let mean = |m: &crate::stats::Moments| if live { m.mean } else { f64::NAN };
        let var = |m: &crate::stats::Moments| if live { m.var() } else { f64::NAN };
        MomentRow {
            step: rec.step,
            t: crate::experiment::model_time(rec.step, exp.record_time_per_step()),
            loss_mean: mean(loss),
            loss_var: var(loss),
            diverged: rec.diverged(),
            finite: rec.finite(),
            mean: rec.q[..dim].iter().map(mean).collect(),
            var: rec.q[..dim].iter().map(var).collect(),
        }
    }

    /// The row's numbers in the order of [`columns`] (a row of `moments.npy`).
    pub fn values(&self) -> Vec<f64> {
        let mut row =
            vec![self.step as f64, self.t, self.loss_mean, self.loss_var, self.diverged as f64, self.finite as f64];
        row.extend(self.mean.iter().zip(&self.var).flat_map(|(&m, &v)| [m, v]));
        row
    }

    /// Append the row as a line of `moments.csv`.
    fn write_csv(&self, out: &mut String) {
        let _ = write!(
            out,
            "{},{:e},{:e},{:e},{},{}",
            self.step, self.t, self.loss_mean, self.loss_var, self.diverged, self.finite
        );
        for (m, v) in self.mean.iter().zip(&self.var) {
            let _ = write!(out, ",{m:e},{v:e}");
        }
        out.push('\n');
    }
}

/// The columns before the per-coordinate ones.
pub const LEAD_COLUMNS: [&str; 6] = ["step", "t", "loss_mean", "loss_var", "diverged", "paths"];

/// The column names of `moments.csv` (and of `moments.npy`'s columns) in dimension `dim`:
/// `step, t, loss_mean, loss_var, diverged, paths, mean_0, var_0, …` (`paths`: the live paths
/// the row's moments are over; `diverged`: the paths that reached the record but are excluded).
pub fn columns(dim: usize) -> Vec<String> {
    let mut c: Vec<String> = LEAD_COLUMNS.map(String::from).into();
    for i in 0..dim {
        c.extend([format!("mean_{i}"), format!("var_{i}")]);
    }
    c
}

/// The contents of `moments.csv`: one row per record step that any path reached (a snapshot
/// holds no row for the records still ahead).
pub fn moments_csv(exp: &Experiment, r: &RunResult) -> String {
    let mut out = columns(exp.dim).join(",");
    out.push('\n');
    for row in rows_from_run(exp, r) {
        row.write_csv(&mut out);
    }
    out
}

/// The rows of a run's records that any path reached (`moments.csv`, `moments.npy`, figures).
pub fn rows_from_run(exp: &Experiment, r: &RunResult) -> Vec<MomentRow> {
    r.records.iter().filter(|rec| rec.paths > 0).map(|rec| MomentRow::of(exp, rec)).collect()
}
