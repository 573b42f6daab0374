//! Running a scaling check: the base, then the scaled experiment, and for each the optimizer
//! steps to the first crossing of `threshold` × its stationary loss.

use std::time::Instant;

use super::plan::ScalePlan;
use super::report::{ScaleReport, ScaleSide, agreement};
use crate::compare::report::{RunSummary, num};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::plan::{Engine, RunResult};

/// How [`side`] finds the steps to the target, stated in every report.
const INTERPOLATION: &str = "steps to the target: the first record whose ensemble-mean loss is at or below \
    threshold x stationary loss, interpolated linearly in the step between it and the record before; SE from the \
    record's loss SE and the stationary SE, divided by the local slope";

/// Run a scaling check. `log` receives one line per run before it starts.
pub fn scale(plan: &ScalePlan, engine: &mut dyn Engine, log: &mut dyn FnMut(&str)) -> Result<ScaleReport> {
    let t0 = Instant::now();
    let mut sides = Vec::new();
    for (i, (what, e)) in [("base", &plan.base), ("scaled", &plan.scaled)].into_iter().enumerate() {
        log(&format!(
            "[{}/2] {what}: {} eta = {}: {} paths × {} steps",
            i + 1,
            e.model.name.name(),
            num(e.model.eta),
            e.run.paths,
            e.run.steps
        ));
        let r = crate::plan::run(e, engine, &mut |_| {})?;
        sides.push((side(e, &r, plan.threshold), r.backend));
    }
    let (scaled, _) = sides.pop().expect("two runs");
    let (base, backend) = sides.pop().expect("two runs");
    let (a, b) = (&base.run, &scaled.run);
    let loss_ratio = b.stationary_loss / a.stationary_loss;
    let loss_ratio_se = loss_ratio
        * ((a.stationary_loss_se / a.stationary_loss).powi(2) + (b.stationary_loss_se / b.stationary_loss).powi(2))
            .sqrt();
    let (steps_ratio, steps_ratio_se) = match (base.steps_to_target, scaled.steps_to_target) {
        (Some(x), Some(y)) if x > 0.0 => {
            let r = y / x;
            (Some(r), r * ((base.steps_to_target_se / x).powi(2) + (scaled.steps_to_target_se / y).powi(2)).sqrt())
        }
        _ => (None, f64::NAN),
    };
    let (loss_ratio_z, loss_ratio_agrees) = agreement(loss_ratio, loss_ratio_se, plan.predicted_loss_ratio);
    let steps_agreement = steps_ratio.map(|r| agreement(r, steps_ratio_se, plan.predicted_steps_ratio));
    let mut notes = plan.notes.clone();
    for (what, s) in [("base", &base), ("scaled", &scaled)] {
        if s.steps_to_target.is_none() {
            notes.push(format!(
                "{what}: the loss never crosses {:.4e} from above (it starts at or below it, or stays above it); \
                 start away from the minimum (init.x0) or run longer",
                s.target_loss
            ));
        }
    }
    Ok(ScaleReport {
        name: plan.base.name.clone(),
        rule: plan.rule,
        section: plan.rule.section(),
        changes: plan.rule.changes(),
        kappa: plan.kappa,
        threshold: plan.threshold,
        backend,
        base,
        scaled,
        loss_ratio,
        loss_ratio_se,
        predicted_loss_ratio: plan.predicted_loss_ratio,
        loss_ratio_z,
        loss_ratio_agrees,
        steps_ratio,
        steps_ratio_se,
        predicted_steps_ratio: plan.predicted_steps_ratio,
        steps_ratio_z: steps_agreement.map(|a| a.0),
        steps_ratio_agrees: steps_agreement.and_then(|a| a.1),
        interpolation: INTERPOLATION,
        notes,
        wall_seconds: t0.elapsed().as_secs_f64(),
    })
}

/// One side of the check: `e`, its run `r`, and its optimizer steps to `threshold` × its own
/// stationary loss.
fn side(e: &Experiment, r: &RunResult, threshold: f64) -> ScaleSide {
    let dim = e.dim;
    let target = threshold * r.stationary.loss_mean;
    let target_se = threshold * r.stationary.loss_se;
    let recs: Vec<(f64, f64, f64)> = r
        .records
        .iter()
        .filter(|rec| rec.q[dim].n > 0.0)
        .map(|rec| {
            let l = rec.q[dim];
            (rec.step as f64, l.mean, (l.var() / l.n).sqrt())
        })
        .collect();
    let mut steps = None;
    let mut se = f64::NAN;
    if let Some(j) = recs.iter().position(|x| x.1 <= target)
        && j > 0
    {
        let ((k0, f0, s0), (k1, f1, s1)) = (recs[j - 1], recs[j]);
        let w = (f0 - target) / (f0 - f1);
        steps = Some(k0 + w * (k1 - k0));
        let slope = (f1 - f0) / (k1 - k0);
        let loss_se = s0 + w * (s1 - s0);
        se = (loss_se.powi(2) + target_se.powi(2)).sqrt() / slope.abs();
    }
    ScaleSide {
        run: RunSummary::new(e, r),
        record_every: e.record.every,
        stationary_start: e.stationary.start,
        target_loss: target,
        steps_to_target: steps,
        steps_to_target_se: se,
        experiment: e.clone(),
    }
}
