//! The risk ODE under a run's loss plot: for a `linear-regression` run whose model one of the
//! risk ODEs ([`super::risk_ode`]) describes, the ODE's excess risk P at the run's record steps,
//! and its fixed point. `crate::plot::run` draws it; this module only computes.
//!
//! **Time.** The ODEs run in τ = k/d with η_ode = `model.eta` × d (the problem of
//! [`risk_problem`], the same as `optsde risk`'s). A record of step k is compared with the ODE at
//! τ = k/d whatever its own time axis says (t = kη by default, t = k/d with `[record] time =
//! "k/d"`): the step is the one quantity both share.
//!
//! **Cost.** signSGD's set-up is O(d³) once (its modes' noise weights; d ≤ `MAX_DIM` = 1024:
//! about 1.5 s at most), SGD's O(d²); the integration is O(d) per RK4 step of
//! [`DEFAULT_RK4_STEP`]. A run long in τ would take (τ_end / step) × d operations, so the curve
//! stops at the τ where [`MAX_PLOT_RK4_WORK`] is spent ([`RunRiskCurve::truncated`]); the fixed
//! point, drawn as a horizontal line, still covers the rest (the curves settle within τ ~ 10 to
//! 100 for O(1) spectra; the budget reaches τ ≈ 98 at d = 1024, further at smaller d).

use super::risk_cmd::{DEFAULT_RK4_STEP, risk_problem};
use super::risk_ode::{sgd_fixed_point, sgd_risk, sign_fixed_point, sign_risk};
use crate::experiment::{Experiment, ModelKind, Objective};

/// Most d × (RK4 steps) spent on one plotted curve: 10⁸, about a second on one core (about
/// 10 ns per coordinate and step, measured at d = 1024, where it reaches τ ≈ 98).
pub const MAX_PLOT_RK4_WORK: f64 = 1e8;

/// Which risk ODE describes a model's E P on one-pass least squares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskOde {
    /// signSGD's, through its signHSGD limit ([`sign_risk`]).
    Sign,
    /// SGD's ([`sgd_risk`]).
    Sgd,
}

impl RiskOde {
    /// The ODE of `exp`'s model, where one applies: the objective is `linear-regression` with one
    /// sample per step (`batch = 1`), one agent, and the model is `signsgd` (the ODE's own
    /// algorithm, steps of η/d), `signhsgd` (its limit) or `sgd`/`sgd-sde`. Every other experiment has none (no curve
    /// is drawn; nothing is refused). The ODEs take a constant learning rate: a scheduled run has
    /// none.
    pub fn of(exp: &Experiment) -> Option<RiskOde> {
        if !matches!(exp.objective, Objective::LinearRegression { batch: 1, .. })
            || exp.model.agents != 1
            || !exp.model.schedule.is_constant()
        {
            return None;
        }
        match exp.model.name {
            // signHSGD at `eta` is signSGD's limit at the same step (docs/regression.md): one of
            // its steps stands for one signSGD step, τ = k/d, η_ode = eta × d.
            ModelKind::Signsgd | ModelKind::Signhsgd => Some(RiskOde::Sign),
            ModelKind::Sgd | ModelKind::SgdSde => Some(RiskOde::Sgd),
            _ => None,
        }
    }

    /// The legend's name of the curve.
    pub fn label(self) -> &'static str {
        match self {
            RiskOde::Sign => "risk ODE (signSGD)",
            RiskOde::Sgd => "risk ODE (SGD)",
        }
    }
}

/// The risk ODE of a run at its record steps.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRiskCurve {
    pub ode: RiskOde,
    /// The steps k the curve is given at: the requested ones, ascending and without repeats, up
    /// to the budget's end.
    pub steps: Vec<u64>,
    /// τ = k/d of each step.
    pub tau: Vec<f64>,
    /// The ODE's P at each τ.
    pub risk: Vec<f64>,
    /// Whether requested steps beyond the budget ([`MAX_PLOT_RK4_WORK`]) were left out.
    pub truncated: bool,
}

/// The risk ODE of `exp` (see [`RiskOde::of`]) at the record steps `steps` (any order), by RK4
/// with steps of [`DEFAULT_RK4_STEP`] in τ, up to the budget; `None` where no ODE applies.
pub fn run_risk_curve(exp: &Experiment, steps: &[u64]) -> Option<RunRiskCurve> {
    let ode = RiskOde::of(exp)?;
    let pr = risk_problem(exp).ok()?;
    let d = exp.dim as f64;
    let tau_max = MAX_PLOT_RK4_WORK / d * DEFAULT_RK4_STEP;
    let mut sorted = steps.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let all = sorted.len();
    sorted.retain(|&k| k as f64 / d <= tau_max);
    let tau: Vec<f64> = sorted.iter().map(|&k| k as f64 / d).collect();
    let risk = match ode {
        RiskOde::Sign => sign_risk(&pr, &tau, DEFAULT_RK4_STEP).risk,
        RiskOde::Sgd => sgd_risk(&pr, &tau, DEFAULT_RK4_STEP)?.risk,
    };
    Some(RunRiskCurve { ode, truncated: sorted.len() < all, steps: sorted, tau, risk })
}

/// The stationary P∞ of `exp`'s risk ODE ([`sign_fixed_point`], [`sgd_fixed_point`]), without
/// integrating the curve (the theory line of a run's and a sweep's figures); `None` where no
/// ODE applies or it has none (SGD with η_ode mean(K) ≥ 2: the risk grows).
pub fn run_fixed_point(exp: &Experiment) -> Option<f64> {
    let pr = risk_problem(exp).ok()?;
    match RiskOde::of(exp)? {
        RiskOde::Sign => Some(sign_fixed_point(&pr)),
        RiskOde::Sgd => sgd_fixed_point(&pr),
    }
}
