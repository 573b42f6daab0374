//! The weak errors of one SDE against the optimizer at one η: record by record (same record
//! steps) the SDE's moments minus the optimizer's with their standard errors, the largest gap of
//! the loss and of each coordinate's mean and variance, and the stationary loss difference.

use super::report::{RecordGap, RunSummary, SdeComparison};
use crate::experiment::{Experiment, model_time};
use crate::plan::RunResult;
use crate::stats::Moments;

/// SDE `se` (its run `sde`) against optimizer `oe` (its run `opt`).
pub fn weak_errors(oe: &Experiment, opt: &RunResult, se: &Experiment, sde: &RunResult) -> SdeComparison {
    let dim = oe.dim;
    // The records' time axes (`[record] time`): kη (kη² for the P7 SDEs), or k/d for both.
    let (opt_tps, sde_tps) = (oe.record_time_per_step(), se.record_time_per_step());
    let mut records = Vec::new();
    for (a, b) in opt.records.iter().zip(&sde.records) {
        debug_assert_eq!(a.step, b.step, "same record steps");
        if a.q[0].n == 0.0 || b.q[0].n == 0.0 {
            continue;
        }
        let diff = |q: usize| {
            let (x, y) = (&a.q[q], &b.q[q]);
            (y.mean - x.mean, (x.var() / x.n + y.var() / y.n).sqrt())
        };
        let (loss_gap, loss_gap_se) = diff(dim);
        let se_of = |m: &Moments| (m.var().max(0.0) / m.n).sqrt();
        let (mean_gap, mean_gap_se): (Vec<f64>, Vec<f64>) = (0..dim).map(diff).unzip();
        records.push(RecordGap {
            step: a.step,
            t: model_time(a.step, opt_tps),
            t_sde: model_time(a.step, sde_tps),
            loss_optimizer: a.q[dim].mean,
            loss_optimizer_se: se_of(&a.q[dim]),
            loss_sde: b.q[dim].mean,
            loss_sde_se: se_of(&b.q[dim]),
            loss_gap,
            loss_gap_se,
            mean_gap,
            mean_gap_se,
            var_gap: (0..dim).map(|i| b.q[i].var() - a.q[i].var()).collect(),
        });
    }
    let mut peak: Option<&RecordGap> = None;
    for r in &records {
        if r.loss_gap.is_finite() && peak.is_none_or(|p| r.loss_gap.abs() > p.loss_gap.abs()) {
            peak = Some(r);
        }
    }
    let per_coord = |f: &dyn Fn(&RecordGap, usize) -> f64| -> Vec<f64> {
        (0..dim).map(|i| records.iter().map(|r| f(r, i).abs()).filter(|v| v.is_finite()).fold(0.0, f64::max)).collect()
    };
    let weak_mean = per_coord(&|r, i| r.mean_gap[i]);
    let weak_var = per_coord(&|r, i| r.var_gap[i]);
    let (sa, sb) = (&opt.stationary, &sde.stationary);
    SdeComparison {
        run: RunSummary::new(se, sde),
        weak_loss: peak.map_or(f64::NAN, |p| p.loss_gap.abs()),
        weak_loss_se: peak.map_or(f64::NAN, |p| p.loss_gap_se),
        weak_loss_step: peak.map_or(0, |p| p.step),
        weak_mean,
        weak_var,
        stationary_diff: sb.loss_mean - sa.loss_mean,
        stationary_diff_se: (sa.loss_se.powi(2) + sb.loss_se.powi(2)).sqrt(),
        records,
    }
}
