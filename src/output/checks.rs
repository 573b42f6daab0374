//! What a reader of a result must know before trusting it: every path diverged, some did, the
//! standard errors rest on too few batches, the stationary window was not stationary. The same
//! sentences go to the console (after a run and per sweep point) and to `summary.json`'s
//! `warnings`.

use crate::experiment::{BATCH, Experiment};
use crate::plan::RunResult;
use crate::stats::{MIN_RELIABLE_BATCHES, RecordStats, STATIONARITY_Z};

/// The last record any path has reached (the last step once the run is complete).
pub fn last_reached(r: &RunResult) -> Option<&RecordStats> {
    r.records.iter().rev().find(|rec| rec.paths > 0)
}

/// Whether paths reached a record and every one of them had diverged there.
pub fn all_diverged(r: &RunResult) -> bool {
    last_reached(r).is_some_and(|rec| rec.paths > 0 && rec.finite() == 0)
}

/// The warnings of a result, one sentence each (empty when there is nothing to say).
pub fn warnings(exp: &Experiment, r: &RunResult) -> Vec<String> {
    let mut w = Vec::new();
    let bound = exp.run.divergence_bound;
    if all_diverged(r) {
        let first = r.divergence.first.map_or(String::new(), |f| format!(", the first at step {f}"));
        w.push(format!(
            "every path diverged (|x_i| > {bound} or non-finite{first}): the moments and the stationary \
             estimates are undefined (NaN, null in JSON), not zero; lower eta or raise run.divergence_bound"
        ));
        return w;
    }
    if let Some(rec) = last_reached(r)
        && rec.diverged() > 0
    {
        w.push(format!(
            "{} of {} paths diverged (|x_i| > {bound} or non-finite) by step {}: the moments are over the \
             other {}, a biased sample",
            rec.diverged(),
            rec.paths,
            rec.step,
            rec.finite()
        ));
    }
    let st = &r.stationary;
    if st.samples > 0 && !st.se_reliable() {
        w.push(format!(
            "the stationary standard errors rest on {} batch{} of {BATCH} paths, fewer than \
             {MIN_RELIABLE_BATCHES}: they are unreliable (NaN with one batch); run at least {} paths",
            st.batches,
            if st.batches == 1 { "" } else { "es" },
            MIN_RELIABLE_BATCHES * BATCH
        ));
    }
    let c = &r.stationarity;
    if c.converged == Some(false) {
        w.push(format!(
            "not converged: the mean loss over steps ({}, {}] is {:.4e} ± {:.1e} but over ({}, {}] \
             {:.4e} ± {:.1e}, {:.1} combined SE apart (more than {STATIONARITY_Z}); the stationary \
             estimates still carry the transient: raise stationary.start (--start) or run.steps",
            exp.stationary.start,
            c.split.unwrap_or(0),
            c.first_loss,
            c.first_se,
            c.split.unwrap_or(0),
            exp.run.steps,
            c.second_loss,
            c.second_se,
            c.z
        ));
    }
    w
}
