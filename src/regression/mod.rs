//! One-pass least squares with Gaussian data (docs/regression.md): the host's side of the
//! `linear-regression` objective (the kernels sample its data: `shaders/shared/data.wgsl`), and
//! the deterministic risk curves that simulations of it are compared against.
//!
//! | piece | module |
//! |-------|--------|
//! | the spectrum of K and the random target x* | [`data`] |
//! | the label noise: E ε², the drift factor φ(P) | [`label`] |
//! | φ(P) with Student-t labels, tabulated for signHSGD's kernels | [`phi_table`] |
//! | signSGD's and SGD's risk ODEs in t = k/d, their fixed points | [`risk_ode`] |
//! | `optsde risk`: both curves of an experiment file, `risk.csv`, the report | [`risk_cmd`] |
//! | the curve under a run's loss plot: its model's ODE at the record steps, P∞ | [`run_curve`] |

pub mod data;
pub mod label;
pub mod phi_table;
pub mod risk_cmd;
pub mod risk_ode;
pub mod run_curve;

pub use label::{LabelNoise, student_gauss_mean};
pub use risk_ode::{RiskCurve, RiskProblem, sgd_fixed_point, sgd_risk, sign_fixed_point, sign_risk};
pub use run_curve::{RiskOde, RunRiskCurve, run_fixed_point, run_risk_curve};
