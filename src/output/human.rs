//! The short reports `optsde run` prints after a run or a sweep (stdout).

use std::fmt::Write as _;

use super::checks::{last_reached, warnings};
use super::moments::MomentRow;
use super::summary::{SUMMARY, em_updates_per_second, path_steps_per_second, ratio};
use crate::experiment::Experiment;
use crate::plan::RunResult;
use crate::spec::Study;

/// Coordinates shown in [`human_summary`].
const SHOW_COORDS: usize = 8;

/// A short multi-line report of a run.
pub fn human_summary(exp: &Experiment, r: &RunResult) -> String {
    let dim = exp.dim;
    let b = &r.backend;
    let mut s = String::new();
    let _ =
        writeln!(s, "experiment  {} (model {}, dim {}, eta {})", exp.name, exp.model.name.name(), dim, exp.model.eta);
    let _ = writeln!(s, "backend     {} — {} ({}, {})", b.kind, b.adapter, b.driver, b.api);
    let refine = if exp.model.name.is_sde() { format!(", refine {}", exp.run.refine) } else { String::new() };
    let _ = writeln!(s, "paths       {} × {} steps{refine} (chunk {})", exp.run.paths, exp.run.steps, r.chunk);
    let _ = writeln!(
        s,
        "wall time   {:.3} s, {:.3e} path-steps/s ({:.3e} EM updates/s)",
        r.wall_seconds,
        path_steps_per_second(exp, r),
        em_updates_per_second(exp, r)
    );
    if let Some(b) = r.peak_memory_bytes {
        let _ = writeln!(s, "peak memory {:.1} MiB (the process's resident high-water mark)", b as f64 / 1048576.0);
    }
    let _ = write!(
        s,
        "diverged    {} of {} paths ({:.3}%; |x_i| > {} or non-finite)",
        r.diverged,
        exp.run.paths,
        100.0 * ratio(r.diverged as f64, exp.run.paths as f64),
        exp.run.divergence_bound
    );
    if let Some(f) = r.divergence.first {
        let _ = write!(s, ", first at step {f}, mean step {:.1}", r.divergence.mean_step());
    }
    s.push('\n');
    if let Some(rec) = last_reached(r) {
        let row = MomentRow::of(exp, rec);
        let _ = writeln!(
            s,
            "final       step {} (t = {}): loss {:.6e} ± {:.3e} (mean ± sd over {} live paths; {:.3}% diverged)",
            row.step,
            row.t,
            row.loss_mean,
            row.loss_var.sqrt(),
            row.finite,
            100.0 * ratio(row.diverged as f64, rec.paths as f64)
        );
    }
    let st = &r.stationary;
    let batches = if st.batches == 1 { "batch" } else { "batches" };
    let _ = writeln!(
        s,
        "stationary  steps >= {} every {}: {} samples in {} {batches}",
        exp.stationary.start, exp.stationary.every, st.samples, st.batches
    );
    let unreliable = if st.se_reliable() || st.samples == 0 { "" } else { " (SE unreliable: too few batches)" };
    let _ = writeln!(s, "            loss {:.6e} ± {:.2e} (mean ± SE){unreliable}", st.loss_mean, st.loss_se);
    for i in 0..dim.min(SHOW_COORDS) {
        let _ = writeln!(
            s,
            "            x{i}: var {:.6e} ± {:.2e}, mean {:+.3e} ± {:.2e}",
            st.var[i], st.var_se[i], st.mean[i], st.mean_se[i]
        );
    }
    if dim > SHOW_COORDS {
        let _ = writeln!(s, "            ... {} more coordinates in {SUMMARY}", dim - SHOW_COORDS);
    }
    let c = &r.stationarity;
    match c.converged {
        Some(ok) => {
            let verdict = if ok { "converged" } else { "NOT CONVERGED" };
            let _ = writeln!(
                s,
                "            halves of the window: {:.4e} vs {:.4e}, {:.1} SE apart: {verdict}",
                c.first_loss, c.second_loss, c.z
            );
        }
        None => {
            let _ = writeln!(s, "            stationarity not checked (a half of the window has no standard error)");
        }
    }
    for w in warnings(exp, r) {
        let _ = writeln!(s, "warning     {w}");
    }
    s
}

/// A short table of a sweep.
pub fn sweep_summary(study: &Study, results: &[RunResult]) -> String {
    let exp = &study.points[0].exp;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sweep       {} (model {}, dim {}), {} points × {} paths × {} steps in the same launches",
        exp.name,
        exp.model.name.name(),
        exp.dim,
        study.points.len(),
        exp.run.paths,
        exp.run.steps
    );
    if let Some(r) = results.first() {
        let b = &r.backend;
        let _ =
            writeln!(s, "backend     {} — {} ({}, {}), {:.3} s", b.kind, b.adapter, b.driver, b.api, r.wall_seconds);
    }
    let head: Vec<String> = study.axes.iter().map(|a| format!("{:>14}", a.key)).collect();
    let _ =
        writeln!(s, "{}  {:>14}  {:>10}  {:>9}  {:>9}", head.join(" "), "stat. loss", "± SE", "diverged", "converged");
    for (p, r) in study.points.iter().zip(results) {
        let vals: Vec<String> = p.values.iter().map(|v| format!("{v:>14.6e}")).collect();
        let st = &r.stationary;
        let converged = r.stationarity.converged.map_or("?", |c| if c { "yes" } else { "NO" });
        let _ = writeln!(
            s,
            "{}  {:>14.6e}  {:>10.2e}  {:>9}  {:>9}",
            vals.join(" "),
            st.loss_mean,
            st.loss_se,
            r.diverged,
            converged
        );
    }
    for (i, (p, r)) in study.points.iter().zip(results).enumerate() {
        let at: Vec<String> = study.axes.iter().zip(&p.values).map(|(a, v)| format!("{} = {v}", a.key)).collect();
        for w in warnings(&p.exp, r) {
            let _ = writeln!(s, "warning     point {i} ({}): {w}", at.join(", "));
        }
    }
    s
}
