//! `optsde compare`: an optimizer against its SDEs on the same problem, paths, seed and record
//! steps, their weak error and, over several η, its order in η. README's "Comparing SDE and
//! optimizer; scaling rules" describes the command, its families and its files; the reasoning
//! behind the method is here.
//!
//! The SDEs run `refine` Euler–Maruyama substeps per optimizer step, so their own
//! discretisation error (O(η/r), docs/statistics.md) stays small against the O(η) weak error being
//! measured; with r = 1 the additive-noise SDEs *are* their optimizers in law on a quadratic
//! (docs/objective-and-noise.md) and the comparison shows only Monte Carlo noise.
//!
//! Records are matched by optimizer step k. That is SDE time t = kη for P1's SDEs and the
//! SGD/SignSGD/distributed ones, and t = kη² for the SDEs of Malladi et al.
//! (docs/objective-and-noise.md, docs/adaptive.md): both are "the optimizer after k steps" in
//! their own time axis, so the comparison is at equal k.
//! The weak error of a quantity q is max over records |E q(X_k) − E q(x_k)|: for the loss, and for
//! each coordinate's mean and variance (reported per coordinate and as the largest). Its standard
//! error treats the two ensembles as independent: they share the seed but consume random words
//! at different rates (r per step for an SDE), so their coupling is weak. At
//! stationarity the report gives the SDE's stationary loss minus the optimizer's, with the
//! combined standard error √(SE₁² + SE₂²) of the two batch-spread estimates.
//!
//! With several η (`--etas`), every run keeps the file's SDE time (steps ∝ 1/η), and the
//! adaptive models keep ρ_i = (1 − β_i)/η fixed (the P1 convention β_i = 1 − ηρ_i, docs/README.md),
//! so the P1-type SDE is the same for every η and its weak error should fall as η^p with p = 1
//! (weak order one). The P7 SDEs assume 1 − β_i ∝ η² and σ ∝ 1/η (docs/objective-and-noise.md); along this η sweep
//! they are not a fixed SDE, so their fitted p need not be 1.
//!
//! Every experiment that runs is derived from the file's through the validated edits of
//! [`Experiment`](crate::experiment::Experiment) (`with_model`, `at_eta`, ...), so derived runs
//! get the same checks and messages as files; nothing runs and nothing is written until all of
//! them pass.
//!
//! | step | module |
//! |------|--------|
//! | the families, the options, every experiment derived and validated | [`plan`] |
//! | running the optimizer and its SDEs at each η | [`run`] |
//! | the weak errors of one SDE against the optimizer | [`weak`] |
//! | the order p of a weak error in η | [`order`] |
//! | the report: its types, `compare.csv`, `compare.json`, the printed table | [`report`] |
//!
//! Its figures are [`crate::plot::compare`]'s.

pub mod order;
pub mod plan;
pub mod report;
pub mod run;
pub mod weak;

pub use order::fit_order;
pub use plan::{CompareCase, CompareOptions, ComparePlan, DEFAULT_COMPARE_REFINE, family, parse_etas, plan_compare};
pub use report::{ComparePoint, CompareReport, OrderFit, RecordGap, RunSummary, SdeComparison};
pub use run::compare;
