//! Derived experiments: validated edits of an [`Experiment`]. `optsde compare` and `optsde scale`
//! build every experiment they run from the file's through these, so a derived run gets the same
//! checks (β < 1, ρΔt ≤ 1, ν > 2 for covariance-driven SDEs, ...) and the same messages as a
//! file, and nothing runs until all of them pass.

use super::{Adaptive, Compressor, Correction, Experiment, ModelKind, ModelSpec};
use crate::error::Result;

impl Experiment {
    /// This experiment after `edit` of a copy, checked as a whole.
    fn edited(&self, edit: impl FnOnce(&mut Experiment)) -> Result<Experiment> {
        let mut e = self.clone();
        edit(&mut e);
        e.check()?;
        Ok(e)
    }

    /// The same problem with another model of the family; SDEs get `refine` substeps,
    /// optimizers 1. An Adam SDE derived from another model gets the default (consistent) drift
    /// correction; the curvature correction stays where the new model has it (the SGD-type
    /// SDEs) and goes where it has not.
    pub fn with_model(&self, kind: ModelKind, refine: u32) -> Result<Experiment> {
        let from = self.model.name;
        self.edited(|e| {
            e.model.name = kind;
            e.model.curvature &= ModelSpec::CURVATURE_MODELS.contains(&kind);
            e.run.refine = if kind.is_sde() { refine } else { 1 };
            if let Some(a) = e.model.adaptive.as_mut() {
                a.correction = match (kind, from) {
                    (ModelKind::AdamSde, ModelKind::AdamSde) => a.correction,
                    (ModelKind::AdamSde, _) => Correction::Consistent,
                    _ => Correction::None,
                };
            }
        })
    }

    /// Learning rate `eta`, everything else kept.
    pub fn with_eta(&self, eta: f64) -> Result<Experiment> {
        self.edited(|e| e.model.eta = eta)
    }

    /// The file at learning rate `eta`, covering the same SDE time t = kη (steps ∝ 1/η, see
    /// [`Experiment::with_steps_scaled`]) with the same ρ_i = (1 − β_i)/η (the P1 convention
    /// β_i = 1 − ηρ_i, docs/README.md).
    pub fn at_eta(&self, eta: f64) -> Result<Experiment> {
        if eta == self.model.eta {
            return Ok(self.clone());
        }
        let eta0 = self.model.eta;
        self.with_eta(eta)?.with_one_minus_beta_scaled(eta / eta0)?.with_steps_scaled(eta0 / eta)
    }

    /// Every noise scale divided by `f` (batch B → f²B; Student-t: the scale).
    pub fn with_noise_divided_by(&self, f: f64) -> Result<Experiment> {
        self.edited(|e| e.noise = e.noise.divided_by(f))
    }

    /// 1 − β_i multiplied by `f` (both EMAs of Adam, the one of RMSprop; no change for the
    /// other models).
    pub fn with_one_minus_beta_scaled(&self, f: f64) -> Result<Experiment> {
        let adam = self.model.name.is_adam();
        self.edit_adaptive(|a| {
            if adam {
                a.beta1 = 1.0 - (1.0 - a.beta1) * f;
            }
            a.beta2 = 1.0 - (1.0 - a.beta2) * f;
        })
    }

    /// ε divided by `f` (RMSprop/Adam; no change for the other models).
    pub fn with_eps_divided_by(&self, f: f64) -> Result<Experiment> {
        self.edit_adaptive(|a| a.eps /= f)
    }

    /// The weight decay θ multiplied by `f` (RMSprop/Adam; no change for the other models).
    pub fn with_weight_decay_scaled(&self, f: f64) -> Result<Experiment> {
        self.edit_adaptive(|a| a.weight_decay *= f)
    }

    fn edit_adaptive(&self, edit: impl FnOnce(&mut Adaptive)) -> Result<Experiment> {
        self.edited(|e| {
            if let Some(a) = e.model.adaptive.as_mut() {
                edit(a);
            }
        })
    }

    /// Compressor `c` (dcsgd and dcsgd-sde).
    pub fn with_compressor(&self, c: Compressor) -> Result<Experiment> {
        self.edited(|e| e.model.compressor = c)
    }

    /// `n` agents (the distributed models).
    pub fn with_agents(&self, n: u32) -> Result<Experiment> {
        self.edited(|e| e.model.agents = n)
    }

    /// The step counts multiplied by `f`: steps, the record stride and the stationary start and
    /// stride (rounded; strides at least 1, start before the last step).
    pub fn with_steps_scaled(&self, f: f64) -> Result<Experiment> {
        if f == 1.0 {
            return Ok(self.clone());
        }
        let r = |n: u64| (n as f64 * f).round() as u64;
        self.edited(|e| {
            e.run.steps = r(e.run.steps).max(1);
            e.record.every = r(e.record.every).max(1);
            e.stationary.every = r(e.stationary.every).max(1);
            e.stationary.start = r(e.stationary.start).min(e.run.steps - 1);
        })
    }

    /// The first `steps` optimizer steps (0 allowed) of the first `paths` paths, recorded at
    /// the end only: what the plan runs to measure a pilot ensemble or per-path states. Not
    /// checked as an experiment of its own (a zero-step pilot is not one).
    pub fn truncated(&self, paths: u64, steps: u64) -> Experiment {
        let mut e = self.clone();
        e.run.paths = paths;
        e.run.steps = steps;
        e.record.every = steps.max(1);
        e
    }
}
