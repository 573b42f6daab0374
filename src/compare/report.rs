//! A comparison's report: its types (serialised as `compare.json`), `compare.csv` and the
//! printed table. [`RunSummary`] and the number formats (`num`, `pm`) serve `optsde scale`'s report
//! too.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::experiment::Experiment;
use crate::output::files::{create_dir, json_bytes, write_atomic};
use crate::plan::{BackendInfo, RunResult};

/// A number as the reports and messages show it (shortest round-trip form).
pub(crate) fn num(x: f64) -> String {
    format!("{x:?}")
}

/// "x ± se" as the tables show a mean and its standard error.
pub(crate) fn pm(x: f64, se: f64) -> String {
    format!("{x:.4e} ± {se:.1e}")
}

/// Least |weak error| / SE of a weak error resolved from zero: the table marks the rows below
/// it, and every point of a resolved order fit has at least this ([`super::order`] says why 3).
pub const RESOLVED_Z: f64 = 3.0;

/// One run's headline numbers.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub model: &'static str,
    pub eta: f64,
    pub steps: u64,
    pub refine: u32,
    /// Model time per optimizer step (η, or η² for the P7 SDEs).
    pub time_per_step: f64,
    pub stationary_loss: f64,
    pub stationary_loss_se: f64,
    pub diverged: u64,
    pub wall_seconds: f64,
}

impl RunSummary {
    pub(crate) fn new(e: &Experiment, r: &RunResult) -> Self {
        RunSummary {
            model: e.model.name.name(),
            eta: e.model.eta,
            steps: e.run.steps,
            refine: e.run.refine,
            time_per_step: e.model.name.time_per_step(e.model.eta),
            stationary_loss: r.stationary.loss_mean,
            stationary_loss_se: r.stationary.loss_se,
            diverged: r.diverged,
            wall_seconds: r.wall_seconds,
        }
    }
}

/// Gap between the SDE and the optimizer at one record (SDE − optimizer).
#[derive(Clone, Debug, Serialize)]
pub struct RecordGap {
    pub step: u64,
    /// The optimizer's time on the records' axis: kη, or k/d under `[record] time = "k/d"`.
    pub t: f64,
    /// The SDE's own time on the records' axis (kη, kη² for the P7 SDEs, or k/d).
    pub t_sde: f64,
    pub loss_optimizer: f64,
    /// Standard error of `loss_optimizer` (√(Var f / finite paths)).
    pub loss_optimizer_se: f64,
    pub loss_sde: f64,
    pub loss_sde_se: f64,
    pub loss_gap: f64,
    pub loss_gap_se: f64,
    pub mean_gap: Vec<f64>,
    pub mean_gap_se: Vec<f64>,
    pub var_gap: Vec<f64>,
}

/// An SDE against the optimizer at one η.
#[derive(Clone, Debug, Serialize)]
pub struct SdeComparison {
    pub run: RunSummary,
    /// max over records of |E f(X_k) − E f(x_k)|, its SE and the step where it is reached.
    pub weak_loss: f64,
    pub weak_loss_se: f64,
    pub weak_loss_step: u64,
    /// Per coordinate: max over records of |E X_i − E x_i| and of |Var X_i − Var x_i|.
    pub weak_mean: Vec<f64>,
    pub weak_var: Vec<f64>,
    /// Stationary E f of the SDE minus the optimizer's, with the combined SE.
    pub stationary_diff: f64,
    pub stationary_diff_se: f64,
    pub records: Vec<RecordGap>,
}

impl SdeComparison {
    /// Largest per-coordinate mean gap.
    pub fn weak_mean_max(&self) -> f64 {
        self.weak_mean.iter().fold(0.0, |a: f64, &b| a.max(b))
    }
    /// The largest coordinate's mean gap and its SE at the record where it peaks.
    pub fn weak_mean_peak(&self) -> (f64, f64) {
        let i = (0..self.weak_mean.len()).fold(0, |a, b| if self.weak_mean[b] > self.weak_mean[a] { b } else { a });
        let peak = self.records.iter().find(|r| r.mean_gap[i].abs() == self.weak_mean[i]);
        (self.weak_mean.get(i).copied().unwrap_or(f64::NAN), peak.map_or(f64::NAN, |r| r.mean_gap_se[i]))
    }
    /// Largest per-coordinate variance gap.
    pub fn weak_var_max(&self) -> f64 {
        self.weak_var.iter().fold(0.0, |a: f64, &b| a.max(b))
    }
}

/// All runs at one η.
#[derive(Clone, Debug, Serialize)]
pub struct ComparePoint {
    pub eta: f64,
    pub record_every: u64,
    pub stationary_start: u64,
    pub optimizer: RunSummary,
    pub sdes: Vec<SdeComparison>,
}

/// Least-squares order of a weak error in η: slope of ln(error) on ln(η).
#[derive(Clone, Debug, Serialize)]
pub struct OrderFit {
    pub model: &'static str,
    /// "loss", "mean" (largest coordinate) or "var" (largest coordinate).
    pub quantity: &'static str,
    pub etas: Vec<f64>,
    pub errors: Vec<f64>,
    /// Each error's standard error (NaN where there is none: "var").
    pub errors_se: Vec<f64>,
    pub order: f64,
    /// From the points' Monte Carlo standard errors (NaN where they have none: "var").
    pub order_se: f64,
    /// Whether the noise lets `order` stand as a result ([`super::order`]'s rule).
    pub order_resolved: bool,
    /// Why it is or is not resolved, with the paths a resolved fit would need.
    pub order_note: String,
}

/// The result of [`compare`](super::compare).
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    pub name: String,
    pub optimizer: &'static str,
    pub sdes: Vec<&'static str>,
    pub refine: u32,
    pub paths: u64,
    pub seed: u64,
    pub backend: BackendInfo,
    pub points: Vec<ComparePoint>,
    /// Per SDE and quantity, with two or more η.
    pub orders: Vec<OrderFit>,
    pub notes: Vec<String>,
    /// The file's validated experiment.
    pub experiment: Experiment,
    pub wall_seconds: f64,
}

/// An optional number for CSV: empty when absent or not finite.
fn cell(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:e}"),
        _ => String::new(),
    }
}

impl CompareReport {
    /// `compare.csv`: one row per (η, model).
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "eta,model,role,steps,refine,time_per_step,weak_loss,weak_loss_se,weak_loss_step,weak_mean,weak_var,\
             stationary_loss,stationary_loss_se,stationary_diff,stationary_diff_se,diverged\n",
        );
        for p in &self.points {
            let o = &p.optimizer;
            let _ = writeln!(
                s,
                "{:e},{},optimizer,{},{},{:e},,,,,,{},{},,,{}",
                p.eta,
                o.model,
                o.steps,
                o.refine,
                o.time_per_step,
                cell(Some(o.stationary_loss)),
                cell(Some(o.stationary_loss_se)),
                o.diverged
            );
            for c in &p.sdes {
                let r = &c.run;
                let _ = writeln!(
                    s,
                    "{:e},{},sde,{},{},{:e},{},{},{},{},{},{},{},{},{},{}",
                    p.eta,
                    r.model,
                    r.steps,
                    r.refine,
                    r.time_per_step,
                    cell(Some(c.weak_loss)),
                    cell(Some(c.weak_loss_se)),
                    c.weak_loss_step,
                    cell(Some(c.weak_mean_max())),
                    cell(Some(c.weak_var_max())),
                    cell(Some(r.stationary_loss)),
                    cell(Some(r.stationary_loss_se)),
                    cell(Some(c.stationary_diff)),
                    cell(Some(c.stationary_diff_se)),
                    r.diverged
                );
            }
        }
        s
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let b = &self.backend;
        let _ = writeln!(
            s,
            "compare     {}: {} vs {} (SDEs with refine {}), {} paths, seed {}, backend {} ({})",
            self.name,
            self.optimizer,
            self.sdes.join(", "),
            self.refine,
            self.paths,
            self.seed,
            b.kind,
            b.adapter
        );
        s.push_str(
            "weak error: max over records of |E(SDE) - E(optimizer)| at equal step k (± its SE there); \
             mean, var: largest coordinate\n\n",
        );
        let _ = writeln!(
            s,
            "{:>10}  {:<20} {:>8}  {:>21}  {:>9}  {:>9}  {:>22}  {:>21}",
            "eta", "model", "steps", "weak loss ± SE", "weak mean", "weak var", "stationary E f ± SE", "SDE - opt ± SE"
        );
        for p in &self.points {
            let o = &p.optimizer;
            let _ = writeln!(
                s,
                "{:>10.3e}  {:<20} {:>8}  {:>21}  {:>9}  {:>9}  {:>22}",
                p.eta,
                o.model,
                o.steps,
                "",
                "",
                "",
                pm(o.stationary_loss, o.stationary_loss_se)
            );
            for c in &p.sdes {
                let r = &c.run;
                let _ = writeln!(
                    s,
                    "{:>10.3e}  {:<20} {:>8}  {:>21}  {:>9.2e}  {:>9.2e}  {:>22}  {:>21}{}",
                    p.eta,
                    r.model,
                    r.steps,
                    pm(c.weak_loss, c.weak_loss_se),
                    c.weak_mean_max(),
                    c.weak_var_max(),
                    pm(r.stationary_loss, r.stationary_loss_se),
                    pm(c.stationary_diff, c.stationary_diff_se),
                    if c.weak_loss < RESOLVED_Z * c.weak_loss_se {
                        format!("  (weak loss error within {RESOLVED_Z} SE of 0)")
                    } else {
                        String::new()
                    }
                );
            }
        }
        if !self.orders.is_empty() {
            s.push_str("\norder p of the weak error in eta (least-squares slope of ln error on ln eta):\n");
            for f in &self.orders {
                let se = if f.order_se.is_finite() { format!(" ± {:.3}", f.order_se) } else { String::new() };
                let pts: Vec<String> =
                    f.etas.iter().zip(&f.errors).map(|(e, v)| format!("({e:.3e}, {v:.3e})")).collect();
                // An unresolved p is not shown as a result: the note leads and p follows in brackets.
                let fit = if f.order_resolved {
                    format!("p = {:.3}{se}", f.order)
                } else {
                    format!("{} (p = {:.3}{se})", f.order_note, f.order)
                };
                let _ = writeln!(
                    s,
                    "  {:<20} {:<4}  {fit}   points (eta, weak error): {}",
                    f.model,
                    f.quantity,
                    pts.join(" ")
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let diverged: u64 =
            self.points.iter().map(|p| p.optimizer.diverged + p.sdes.iter().map(|c| c.run.diverged).sum::<u64>()).sum();
        if diverged > 0 {
            let _ = writeln!(
                s,
                "note: {diverged} paths diverged in total and are excluded from the moments (see compare.json)"
            );
        }
        let _ = writeln!(s, "wall time   {:.2} s", self.wall_seconds);
        s
    }

    /// Write `compare.csv` and `compare.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        write_atomic(dir, "compare.csv", self.csv().as_bytes())?;
        write_atomic(dir, "compare.json", &json_bytes(self))
    }
}
