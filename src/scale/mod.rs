//! `optsde scale`: a scaling rule checked by simulation. A [`Rule`] maps the file's
//! hyperparameters by a factor κ; the base (the file) and the scaled experiment both run, the
//! scaled one for as many steps as the rule predicts it needs to cover the same part of the
//! base's dynamics (steps, record and stationary strides multiplied by the predicted steps
//! ratio). The report compares the stationary losses and the optimizer steps each needs to reach
//! `threshold` × its own stationary loss with what the rule predicts. README's "Comparing SDE
//! and optimizer; scaling rules" describes the command and tabulates the rules.
//!
//! **Agreement.** A measured ratio agrees with its prediction when it lies within
//! [`AGREE_Z`] = 4 of its standard errors of it; further away, the table says DISAGREES and
//! `scale.json` has `"..._agrees": false` with the distance in SE (`..._z`). Four, not two: a
//! report checks two ratios, the batch-spread SEs (16 batches or more) are themselves uncertain
//! by a fifth or so, and the steps ratio's SE is a delta-method estimate through an interpolated
//! crossing, so a 2-SE rule would cry wolf; under a true prediction a normal deviation past 4 SE
//! has probability 6e-5. A disagreement is real but not always large: the predictions hold in the
//! SDE limit, and enough paths resolve the O(η) discretisation gaps, so the table gives the
//! relative difference beside it. A ratio without a finite SE is not judged (`null`).
//!
//! Both experiments are derived from the file's through the validated edits of
//! [`Experiment`](crate::experiment::Experiment) (`with_eta`, `with_noise_divided_by`, ...), so
//! the scaled one gets the same checks (β < 1, ρΔt ≤ 1, ...) and messages as a file; nothing
//! runs until both pass.
//!
//! | step | module |
//! |------|--------|
//! | the rules, their changes and predictions (derived from the time scalings, docs/statistics.md) | [`rule`] |
//! | the options, the base and scaled experiments | [`plan`] |
//! | running both, the steps to the target | [`run`] |
//! | the report: its types, `scale.json`, the printed table | [`report`] |

pub mod plan;
pub mod report;
pub mod rule;
pub mod run;

pub use plan::{DEFAULT_THRESHOLD, ScaleOptions, ScalePlan, plan_scale};
pub use report::{AGREE_Z, ScaleReport, ScaleSide};
pub use rule::Rule;
pub use run::scale;
