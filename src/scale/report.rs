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

/// A ratio further than this many standard errors from its prediction disagrees with it (the
/// module docs say why 4).
pub const AGREE_Z: f64 = 4.0;

/// How many standard errors `measured` lies from `predicted` (signed), and whether that is
/// within [`AGREE_Z`]; `None` when `se` is not a positive finite number.
pub(crate) fn agreement(measured: f64, se: f64, predicted: f64) -> (f64, Option<bool>) {
    let z = (measured - predicted) / se;
    (z, (se > 0.0 && z.is_finite()).then(|| z.abs() <= AGREE_Z))
}

/// The verdict after a ratio in the table.
fn verdict(z: f64, agrees: Option<bool>, measured: f64, predicted: f64) -> String {
    let off = 100.0 * (measured / predicted - 1.0);
    match agrees {
        Some(true) => format!("agrees ({:.1} SE)", z.abs()),
        Some(false) => format!("DISAGREES: {:.1} SE from the prediction ({off:+.1}%)", z.abs()),
        None => "no standard error: agreement not judged".into(),
    }
}

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
    /// (loss_ratio − predicted) / SE, and whether it is within [`AGREE_Z`] (`None`: no SE).
    pub loss_ratio_z: f64,
    pub loss_ratio_agrees: Option<bool>,
    pub steps_ratio: Option<f64>,
    pub steps_ratio_se: f64,
    pub predicted_steps_ratio: f64,
    /// As for the loss ratio; `None` when the steps ratio was not measured.
    pub steps_ratio_z: Option<f64>,
    pub steps_ratio_agrees: Option<bool>,
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
            "\nstationary loss ratio (scaled/base)  {:.4} ± {:.4}   predicted {}   {}",
            self.loss_ratio,
            self.loss_ratio_se,
            num(self.predicted_loss_ratio),
            verdict(self.loss_ratio_z, self.loss_ratio_agrees, self.loss_ratio, self.predicted_loss_ratio)
        );
        match self.steps_ratio {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "steps ratio to {}x the stationary loss  {:.4} ± {:.4}   predicted {:.4}   {}",
                    num(self.threshold),
                    r,
                    self.steps_ratio_se,
                    self.predicted_steps_ratio,
                    verdict(
                        self.steps_ratio_z.unwrap_or(f64::NAN),
                        self.steps_ratio_agrees,
                        r,
                        self.predicted_steps_ratio
                    )
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
