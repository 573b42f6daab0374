//! Running a comparison: at each η the optimizer, then each SDE, each against the optimizer as
//! it finishes.

use std::time::Instant;

use super::order::fit_orders;
use super::plan::ComparePlan;
use super::report::{ComparePoint, CompareReport, RunSummary, num};
use super::weak::weak_errors;
use crate::error::Result;
use crate::experiment::Experiment;
use crate::plan::Engine;

/// Run a comparison. `log` receives one line per run before it starts.
pub fn compare(plan: &ComparePlan, engine: &mut dyn Engine, log: &mut dyn FnMut(&str)) -> Result<CompareReport> {
    let t0 = Instant::now();
    let total = plan.cases.len() * (1 + plan.sdes.len());
    let mut i = 0;
    let mut run = |e: &Experiment, log: &mut dyn FnMut(&str)| {
        i += 1;
        log(&format!(
            "[{i}/{total}] {} eta = {}: {} paths × {} steps{}",
            e.model.name.name(),
            num(e.model.eta),
            e.run.paths,
            e.run.steps,
            if e.model.name.is_sde() { format!(" × refine {}", e.run.refine) } else { String::new() }
        ));
        crate::plan::run(e, engine, &mut |_| {})
    };
    let mut points = Vec::new();
    let mut backend = None;
    for case in &plan.cases {
        let opt = run(&case.optimizer, log)?;
        backend.get_or_insert_with(|| opt.backend.clone());
        let mut sdes = Vec::new();
        for s in &case.sdes {
            let r = run(s, log)?;
            sdes.push(weak_errors(&case.optimizer, &opt, s, &r));
        }
        points.push(ComparePoint {
            eta: case.eta,
            record_every: case.optimizer.record.every,
            stationary_start: case.optimizer.stationary.start,
            optimizer: RunSummary::new(&case.optimizer, &opt),
            sdes,
        });
    }
    let orders = fit_orders(&plan.sdes, &points);
    let backend = backend.unwrap_or_else(|| engine.info());
    Ok(CompareReport {
        name: plan.base.name.clone(),
        optimizer: plan.optimizer.name(),
        sdes: plan.sdes.iter().map(|k| k.name()).collect(),
        refine: plan.refine,
        paths: plan.base.run.paths,
        seed: plan.base.run.seed,
        backend,
        points,
        orders,
        notes: plan.notes.clone(),
        experiment: plan.base.clone(),
        wall_seconds: t0.elapsed().as_secs_f64(),
    })
}
