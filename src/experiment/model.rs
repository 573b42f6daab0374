//! The model catalogue ([`ModelKind`] and what each model is), and a model's parameters
//! ([`ModelSpec`], with the RMSprop/Adam ones in [`Adaptive`]).

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};

use super::domain::{Domain, fmt_f64, round_to_15_digits};
use super::problem::Compressor;
use super::schedule::Schedule;
use crate::error::{Error, Result};

/// Which optimizer or SDE a run simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// SGD SDE, docs/sgd.md with N = 1.
    SgdSde,
    /// Discrete SGD with sampled noisy gradients, docs/sgd.md.
    Sgd,
    /// SignSGD SDE, Gaussian diagonal noise, docs/signsgd.md (P1 Cor 3.3).
    SignsgdSde,
    /// Discrete SignSGD, docs/signsgd.md.
    Signsgd,
    /// Discrete RMSprop(W), docs/adaptive.md.
    Rmsprop,
    /// Discrete Adam(W), docs/adaptive.md.
    Adam,
    /// RMSprop(W) SDE of P1, docs/adaptive.md (t = kη).
    RmspropSde,
    /// Adam(W) SDE of P1, docs/adaptive.md (t = kη).
    AdamSde,
    /// RMSprop SDE of Malladi et al. (P7), docs/adaptive.md (t = kη²).
    RmspropMalladiSde,
    /// Adam SDE of Malladi et al. (P7), docs/adaptive.md (t = kη²).
    AdamMalladiSde,
    /// Distributed SGD with N agents, docs/distributed.md.
    Dsgd,
    /// Its SDE, docs/distributed.md.
    DsgdSde,
    /// Distributed SignSGD (server averages the agents' signs), docs/distributed.md.
    Dsignsgd,
    /// Its SDE, docs/distributed.md.
    DsignsgdSde,
    /// Distributed compressed SGD (unbiased compressor per agent), docs/compressed.md.
    Dcsgd,
    /// Its SDE with the exact compressor covariance, docs/compressed.md.
    DcsgdSde,
    /// signHSGD, the high-dimensional limit SDE of signSGD on one-pass least squares
    /// (objective `linear-regression` only), docs/regression.md.
    Signhsgd,
}

impl ModelKind {
    /// All models.
    pub const ALL: [ModelKind; 17] = [
        Self::SgdSde,
        Self::Sgd,
        Self::SignsgdSde,
        Self::Signsgd,
        Self::Rmsprop,
        Self::Adam,
        Self::RmspropSde,
        Self::AdamSde,
        Self::RmspropMalladiSde,
        Self::AdamMalladiSde,
        Self::Dsgd,
        Self::DsgdSde,
        Self::Dsignsgd,
        Self::DsignsgdSde,
        Self::Dcsgd,
        Self::DcsgdSde,
        Self::Signhsgd,
    ];

    /// The name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::SgdSde => "sgd-sde",
            Self::Sgd => "sgd",
            Self::SignsgdSde => "signsgd-sde",
            Self::Signsgd => "signsgd",
            Self::Rmsprop => "rmsprop",
            Self::Adam => "adam",
            Self::RmspropSde => "rmsprop-sde",
            Self::AdamSde => "adam-sde",
            Self::RmspropMalladiSde => "rmsprop-malladi-sde",
            Self::AdamMalladiSde => "adam-malladi-sde",
            Self::Dsgd => "dsgd",
            Self::DsgdSde => "dsgd-sde",
            Self::Dsignsgd => "dsignsgd",
            Self::DsignsgdSde => "dsignsgd-sde",
            Self::Dcsgd => "dcsgd",
            Self::DcsgdSde => "dcsgd-sde",
            Self::Signhsgd => "signhsgd",
        }
    }

    /// Whether the model is an SDE (integrated by Euler–Maruyama with `refine` substeps).
    pub fn is_sde(self) -> bool {
        matches!(
            self,
            Self::SgdSde
                | Self::SignsgdSde
                | Self::RmspropSde
                | Self::AdamSde
                | Self::DsgdSde
                | Self::DsignsgdSde
                | Self::DcsgdSde
                | Self::Signhsgd
        ) || self.is_malladi()
    }

    /// The SDEs of Malladi et al. (P7): time t = kη² per optimizer step.
    pub fn is_malladi(self) -> bool {
        matches!(self, Self::RmspropMalladiSde | Self::AdamMalladiSde)
    }

    /// Distributed (key `agents`).
    pub fn is_distributed(self) -> bool {
        matches!(self, Self::Dsgd | Self::DsgdSde | Self::Dsignsgd | Self::DsignsgdSde | Self::Dcsgd | Self::DcsgdSde)
    }

    /// Distributed compressed SGD (table `[compressor]`).
    pub fn is_compressed(self) -> bool {
        matches!(self, Self::Dcsgd | Self::DcsgdSde)
    }

    /// The sign methods (their SDEs use the noise's CDF, not its variance).
    pub fn is_sign(self) -> bool {
        matches!(self, Self::SignsgdSde | Self::Signsgd | Self::DsignsgdSde | Self::Dsignsgd)
    }

    /// The sign SDEs (their drift divides by the noise scale).
    pub fn is_sign_sde(self) -> bool {
        matches!(self, Self::SignsgdSde | Self::DsignsgdSde)
    }

    /// SDEs driven by the gradient-noise covariance (SGD-type and adaptive): they need a
    /// finite noise variance.
    pub fn needs_variance(self) -> bool {
        self.is_sde() && !self.is_sign()
    }

    /// RMSprop-type (one EMA, key `beta`).
    pub fn is_rmsprop(self) -> bool {
        matches!(self, Self::Rmsprop | Self::RmspropSde | Self::RmspropMalladiSde)
    }

    /// Adam-type (two EMAs, keys `beta1`, `beta2`).
    pub fn is_adam(self) -> bool {
        matches!(self, Self::Adam | Self::AdamSde | Self::AdamMalladiSde)
    }

    /// State words per coordinate: x, then the EMAs (Adam: m, v; RMSprop: v).
    pub fn slots(self) -> usize {
        if self.is_adam() {
            3
        } else if self.is_rmsprop() {
            2
        } else {
            1
        }
    }

    /// Model time per optimizer step: η (P1 and SGD/SignSGD SDEs), η² (P7), 1 for the
    /// discrete optimizers' reports (t = kη there too, for side-by-side plots).
    pub fn time_per_step(self, eta: f64) -> f64 {
        if self.is_malladi() { eta * eta } else { eta }
    }
}

/// The model time t after `step` optimizer steps of `per_step` each
/// ([`ModelKind::time_per_step`]), rounded to 15 significant digits so that t = 700 × 1e-3
/// reads 0.7 wherever it is shown or written.
pub fn model_time(step: u64, per_step: f64) -> f64 {
    round_to_15_digits(step as f64 * per_step)
}

/// How the Adam SDE treats P1's ηρ₁(∇f − M) drift correction (docs/adaptive.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// The correction with its correlated noise companion (choice b): consistent.
    Consistent,
    /// The drift correction alone: biases the stationary variance low (×0.81 at β₁ = 0.9).
    DriftOnly,
    /// No correction (choice a).
    None,
}

impl Correction {
    /// All corrections, in the order listed in messages.
    pub const ALL: [Correction; 3] = [Self::Consistent, Self::DriftOnly, Self::None];

    /// The name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Consistent => "consistent",
            Self::DriftOnly => "drift-only",
            Self::None => "none",
        }
    }
}

/// Largest `model.agents`.
pub const MAX_AGENTS: u32 = 4096;

/// `model.eta`: SDE time t = kη.
pub const ETA: Domain<f64> = Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0");
/// `model.beta`, `model.beta1`, `model.beta2`.
pub const BETA: Domain<f64> = Domain::new(Included(0.0), Excluded(1.0), "must be a finite number with 0 <= beta < 1");
/// `model.eps`.
pub const EPS: Domain<f64> =
    Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0 (it keeps 1/(sqrt(v) + eps) finite)");
/// `model.weight_decay`.
pub const WEIGHT_DECAY: Domain<f64> = Domain::new(Included(0.0), Unbounded, "must be a finite number >= 0");

/// `model.agents`.
pub fn agents_domain() -> Domain<i128> {
    Domain::worded(
        Included(1),
        Included(MAX_AGENTS.into()),
        format!("must be an integer >= 1 and <= {MAX_AGENTS} (MAX_AGENTS)"),
    )
}

/// Parameters of the adaptive family (RMSprop: `beta1` = 0 and `beta2` = `beta`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adaptive {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub correction: Correction,
}

impl Adaptive {
    /// RMSprop's parameters: one EMA (`model.beta`), no drift correction.
    pub fn rmsprop(beta: f64, eps: f64, weight_decay: f64) -> Result<Adaptive> {
        let a = Adaptive { beta1: 0.0, beta2: beta, eps, weight_decay, correction: Correction::None };
        a.check_values(false)?;
        Ok(a)
    }

    /// Adam's parameters: two EMAs, no drift correction (see [`Adaptive::with_correction`]).
    pub fn adam(beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Result<Adaptive> {
        let a = Adaptive { beta1, beta2, eps, weight_decay, correction: Correction::None };
        a.check_values(true)?;
        Ok(a)
    }

    /// The same parameters with the Adam SDE's drift correction `c` (only `adam-sde` has one:
    /// [`ModelSpec::new`] checks it).
    pub fn with_correction(self, correction: Correction) -> Adaptive {
        Adaptive { correction, ..self }
    }

    /// The ranges of the values, named as an Adam (`beta1`, `beta2`) or an RMSprop (`beta`)
    /// file writes them.
    fn check_values(&self, adam: bool) -> Result<()> {
        if adam {
            BETA.check("model.beta1", self.beta1)?;
            BETA.check("model.beta2", self.beta2)?;
        } else {
            if self.beta1 != 0.0 {
                return Err(Error::invalid(
                    "model.beta1",
                    fmt_f64(self.beta1),
                    "must be 0 for the RMSprop models: they have one EMA, model.beta",
                ));
            }
            BETA.check("model.beta", self.beta2)?;
        }
        EPS.check("model.eps", self.eps)?;
        WEIGHT_DECAY.check("model.weight_decay", self.weight_decay)?;
        Ok(())
    }

    /// The values, and what `kind` allows: the P7 SDEs have no weight decay, and only the Adam
    /// SDE has a drift correction.
    fn check_for(&self, kind: ModelKind) -> Result<()> {
        self.check_values(kind.is_adam())?;
        if kind.is_malladi() && self.weight_decay != 0.0 {
            return Err(Error::invalid(
                "model.weight_decay",
                fmt_f64(self.weight_decay),
                format!(
                    "must be 0 for {}: the SDEs of Malladi et al. (docs/adaptive.md) have no weight decay",
                    kind.name()
                ),
            ));
        }
        if kind != ModelKind::AdamSde && self.correction != Correction::None {
            return Err(Error::invalid(
                "model.correction",
                format!("{:?}", self.correction.name()),
                format!("applies to adam-sde only; model {} has no drift correction", kind.name()),
            ));
        }
        Ok(())
    }
}

/// What `[compressor]` says when the model has none.
pub fn no_compressor(kind: ModelKind) -> String {
    format!("applies to dcsgd and dcsgd-sde only; model {} has no compressor", kind.name())
}

/// What `model.correction = "curvature"` says on a model without the corrected SDE.
pub fn curvature_models(kind: ModelKind) -> String {
    format!(
        "applies to the SGD-type SDEs sgd-sde, dsgd-sde and dcsgd-sde (adam-sde takes \"consistent\", \
         \"drift-only\" or \"none\"); model {} has no curvature-corrected SDE",
        kind.name()
    )
}

/// What `compressor.name` says when dcsgd-sde cannot use it.
pub const NO_CLOSED_FORM: &str = "has no closed-form covariance, so dcsgd-sde cannot use it (docs/compressed.md: the \
    SDE is exact for identity, bernoulli and rand-k); simulate the discrete optimizer dcsgd with this compressor";

/// The model and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: ModelKind,
    /// Learning rate η > 0; SDE time t = k η.
    pub eta: f64,
    /// RMSprop/Adam parameters: present exactly for those models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<Adaptive>,
    /// Number of agents N (1 for the single-agent models).
    pub agents: u32,
    /// The compressor of `dcsgd`/`dcsgd-sde` (identity for every other model).
    pub compressor: Compressor,
    /// `correction = "curvature"`: the SGD-type SDEs (`sgd-sde`, `dsgd-sde`, `dcsgd-sde`) take
    /// the drift −∇f + (η/2)∇²f∇f, which keeps gradient descent's step-size limit
    /// (docs/curvature.md). See [`ModelSpec::with_curvature`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub curvature: bool,
    /// `[schedule]`: the learning rate η_k = η s(τ) (constant by default; see
    /// [`ModelSpec::with_schedule`]; checked against the run's length by the experiment).
    #[serde(default, skip_serializing_if = "Schedule::is_constant")]
    pub schedule: Schedule,
}

impl ModelSpec {
    /// Whether the model's SDE is the (distributed) SGD SDE in dimension `dim`: `sgd-sde`,
    /// `dsgd-sde`, and `dcsgd-sde` with a compressor that adds no covariance of its own (not
    /// bernoulli, not rand-k with k < d). `crate::kernel::Kernel::of` runs these on one kernel.
    pub fn is_sgd_sde(&self, dim: usize) -> bool {
        let c = self.compressor;
        match self.name {
            ModelKind::SgdSde | ModelKind::DsgdSde => true,
            ModelKind::DcsgdSde => {
                !(matches!(c, Compressor::Bernoulli { .. })
                    || matches!(c, Compressor::RandK { .. }) && c.omega(dim) > 0.0)
            }
            _ => false,
        }
    }

    /// A model with its parameters: `adaptive` exactly for the RMSprop/Adam models, `agents`
    /// 1 unless distributed, a compressor other than the identity only for dcsgd(-sde), and
    /// one with a closed-form covariance for dcsgd-sde.
    pub fn new(
        kind: ModelKind,
        eta: f64,
        adaptive: Option<Adaptive>,
        agents: u32,
        compressor: Compressor,
    ) -> Result<ModelSpec> {
        let m =
            ModelSpec { name: kind, eta, adaptive, agents, compressor, curvature: false, schedule: Schedule::Constant };
        m.check()?;
        Ok(m)
    }

    /// The factor of the SGD-type SDEs' drift on a coordinate of curvature h of the diagonal
    /// quadratic: 1 − ηh/2 with `correction = "curvature"` (the drift −h(1 − ηh/2)(x − c) is
    /// −∇f + (η/2)∇²f∇f; docs/curvature.md), else 1.
    pub fn drift_factor(&self, h: f64) -> f64 {
        if self.curvature { 1.0 - 0.5 * self.eta * h } else { 1.0 }
    }

    /// The models that take `correction = "curvature"`.
    pub const CURVATURE_MODELS: [ModelKind; 3] = [ModelKind::SgdSde, ModelKind::DsgdSde, ModelKind::DcsgdSde];

    /// This model with the curvature-corrected drift (`correction = "curvature"`), or an error
    /// naming the model when it has no such SDE.
    pub fn with_curvature(self) -> Result<ModelSpec> {
        let m = ModelSpec { curvature: true, ..self };
        m.check()?;
        Ok(m)
    }

    /// This model with the learning-rate schedule `s` (whose values the experiment checks
    /// against the run's length).
    pub fn with_schedule(self, schedule: Schedule) -> ModelSpec {
        ModelSpec { schedule, ..self }
    }

    pub(super) fn check(&self) -> Result<()> {
        let kind = self.name;
        let name = || format!("{:?}", kind.name());
        ETA.check("model.eta", self.eta)?;
        if self.curvature && !Self::CURVATURE_MODELS.contains(&kind) {
            return Err(Error::invalid("model.correction", "\"curvature\"", curvature_models(kind)));
        }
        match (&self.adaptive, kind.is_rmsprop() || kind.is_adam()) {
            (Some(a), true) => a.check_for(kind)?,
            (None, false) => {}
            (Some(_), false) => {
                return Err(Error::invalid(
                    "model.name",
                    name(),
                    "has no RMSprop/Adam parameters (beta, beta1, beta2, eps, weight_decay, correction)",
                ));
            }
            (None, true) => {
                return Err(Error::invalid("model.name", name(), "needs its RMSprop/Adam parameters"));
            }
        }
        agents_domain().check("model.agents", self.agents)?;
        if self.agents != 1 && !kind.is_distributed() {
            return Err(Error::invalid(
                "model.agents",
                self.agents,
                format!("must be 1 for {}, a single-agent model", kind.name()),
            ));
        }
        if self.compressor != Compressor::Identity && !kind.is_compressed() {
            return Err(Error::invalid("compressor", format!("{:?}", self.compressor.name()), no_compressor(kind)));
        }
        if kind == ModelKind::DcsgdSde && !self.compressor.has_sde() {
            return Err(Error::invalid("compressor.name", format!("{:?}", self.compressor.name()), NO_CLOSED_FORM));
        }
        Ok(())
    }
}
