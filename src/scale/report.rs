//! A scaling check's report: its types (serialised as `scale.json`) and the printed table.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::rule::Rule;
use crate::compare::report::{RunSummary, num, pm};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::output::files::{create_dir, json_bytes, write_atomic};
use crate::plan::BackendInfo;

/// One side of a scaling check.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleSide {
    pub run: RunSummary,
    pub record_every: u64,
    pub stationary_start: u64,
    /// threshold × the stationary loss.
    pub target_loss: f64,
    /// Optimizer steps to the first crossing of `target_loss` (linear interpolation between the
    /// two records around it), `None` when the loss starts at or below it or never reaches it.
    pub steps_to_target: Option<f64>,
    pub steps_to_target_se: f64,
    pub experiment: Experiment,
}

/// The result of [`scale`](super::scale).
#[derive(Clone, Debug, Serialize)]
pub struct ScaleReport {
    pub name: String,
    pub rule: Rule,
    pub section: &'static str,
    pub changes: &'static str,
    pub kappa: f64,
    pub threshold: f64,
    pub backend: BackendInfo,
    pub base: ScaleSide,
    pub scaled: ScaleSide,
    /// Scaled over base stationary loss, with its SE (relative errors added in quadrature).
    pub loss_ratio: f64,
    pub loss_ratio_se: f64,
    pub predicted_loss_ratio: f64,
    pub steps_ratio: Option<f64>,
    pub steps_ratio_se: f64,
    pub predicted_steps_ratio: f64,
    pub interpolation: &'static str,
    pub notes: Vec<String>,
    pub wall_seconds: f64,
}

impl ScaleReport {
    /// A readable summary.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let b = &self.backend;
        let _ = writeln!(
            s,
            "scale       {}: --rule {} ({}), kappa = {}, threshold {} x stationary loss; backend {} ({})",
            self.name,
            self.rule.name(),
            self.section,
            num(self.kappa),
            num(self.threshold),
            b.kind,
            b.adapter
        );
        let _ = writeln!(s, "rule        {}", self.changes);
        let _ = writeln!(
            s,
            "\n{:<7} {:<20} {:>10} {:>9} {:>10} {:>22} {:>24}",
            "", "model", "eta", "steps", "t/step", "stationary E f ± SE", "steps to target ± SE"
        );
        for (what, side) in [("base", &self.base), ("scaled", &self.scaled)] {
            let r = &side.run;
            let reach = side
                .steps_to_target
                .map_or("not reached".to_string(), |k| format!("{k:.1} ± {:.1}", side.steps_to_target_se));
            let _ = writeln!(
                s,
                "{:<7} {:<20} {:>10.4e} {:>9} {:>10.3e} {:>22} {:>24}",
                what,
                r.model,
                r.eta,
                r.steps,
                r.time_per_step,
                pm(r.stationary_loss, r.stationary_loss_se),
                reach
            );
        }
        let _ = writeln!(
            s,
            "\nstationary loss ratio (scaled/base)  {:.4} ± {:.4}   predicted {}",
            self.loss_ratio,
            self.loss_ratio_se,
            num(self.predicted_loss_ratio)
        );
        match self.steps_ratio {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "steps ratio to {}x the stationary loss  {:.4} ± {:.4}   predicted {:.4}",
                    num(self.threshold),
                    r,
                    self.steps_ratio_se,
                    self.predicted_steps_ratio
                );
            }
            None => {
                let _ =
                    writeln!(s, "steps ratio: not measured (see notes); predicted {:.4}", self.predicted_steps_ratio);
            }
        }
        let _ = writeln!(s, "({})", self.interpolation);
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let _ = writeln!(s, "wall time   {:.2} s", self.wall_seconds);
        s
    }

    /// Write `scale.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        write_atomic(dir, "scale.json", &json_bytes(self))
    }
}
