//! The validated problem, independent of how it was written down: an [`Experiment`] and its
//! parts (the model catalogue and a model's parameters in [`model`], the landscape, noise and
//! compressor in [`problem`], how it runs and records in [`run`]). `crate::spec` reads
//! experiment files into these types; the kernel configuration (`crate::kernel`), the plan and
//! the backends read them.
//!
//! Validate once, then trust the type (STYLE habit 9): every valid range is stated once, as a
//! [`Domain`] beside the type it constrains, and checked by the constructors (rand_distr style,
//! returning `Result`), by [`Experiment::new`] for what ties the sections together, and by the
//! derived-experiment edits of `derive.rs` (`Experiment::with_model`, `at_eta`, ...). The fields
//! are public for reading; code that assigns one (tests probing the engines do) takes over the
//! checks.

mod derive;
mod domain;
mod model;
mod objective;
mod problem;
mod run;
mod schedule;

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};

pub use domain::{Domain, SHOW_MAX, fmt_f64, round_to_15_digits, show_list, show_reals};
pub use model::{
    Adaptive, BETA, Correction, EPS, ETA, MAX_AGENTS, ModelKind, ModelSpec, NO_CLOSED_FORM, WEIGHT_DECAY,
    agents_domain, curvature_models, model_time, no_compressor,
};
pub use objective::{
    BASIS_SEED, BATCH_SAMPLES, Basis, FORMULA_BOUND_LIMIT, FormulaParam, MATRIX_ENTRY, Objective, Rotation, Spectrum,
    show_matrix,
};
pub use problem::{
    ANY_REAL, CURVATURE, Compressor, KEEP_PROBABILITY, LEVELS, MIN_NU, MIN_NU_SIGN_SDE, NOISE_SCALE, NU, Noise,
    kept_domain, min_nu_domain,
};
pub use run::{
    BATCH, BackendChoice, DEFAULT_DIVERGENCE_BOUND, HistRange, MAX_BINS, MAX_COV_DIM, MAX_HIST_PAIRS,
    MAX_LOSS_AT_BOUND, MAX_PATHS, MAX_REFINE, MAX_TRAJECTORIES, RANGE_EXPECTED, RecordBasis, RecordSpec, RunSpec,
    StationarySpec, TimeAxis, bins_domain, chunk_domain, every_domain, paths_domain, refine_domain, seed_domain,
    start_domain, steps_domain, trajectories_domain,
};

pub use schedule::{
    MAX_MILESTONES, MIN_FACTOR, NORM_PARAMETER, NormOf, POWER, SCHED_CLIPPED, SCHED_CONSTANT, SCHED_COSINE,
    SCHED_INVERSE_SQRT, SCHED_KIND_MASK, SCHED_NORM_TRUE, SCHED_NORMALIZED, SCHED_PER_COORDINATE, SCHED_POLY,
    SCHED_STEP, SCHEDULE_IDS, STEP_FACTOR, Schedule, ScheduleWords,
};

use crate::error::{Error, Result};

/// Largest supported dimension (per-path state lives in registers / private arrays).
pub const MAX_DIM: usize = 1024;

/// `objective.dim`.
pub fn dim_domain() -> Domain<i128> {
    Domain::worded(
        Included(1),
        Included(MAX_DIM as i128),
        format!("must be an integer >= 1 and <= {MAX_DIM} (MAX_DIM)"),
    )
}

/// `noise.sigma` or `noise.scale` (`student`) of model `kind`: the sign SDEs divide by it.
pub fn noise_scale_domain(kind: ModelKind, student: bool) -> Domain<f64> {
    if !kind.is_sign_sde() {
        return NOISE_SCALE;
    }
    let expected = if student {
        "must be a finite number > 0 for the sign SDEs signsgd-sde and dsignsgd-sde \
         (their drift 2F_nu(g / scale) - 1 is undefined at scale = 0; \
         the optimizers signsgd and dsignsgd allow scale = 0)"
    } else {
        "must be a finite number > 0 for the sign SDEs signsgd-sde and dsignsgd-sde \
         (their drift erf(g / (sqrt(2) sigma)) is undefined at sigma = 0; \
         the optimizers signsgd and dsignsgd allow sigma = 0)"
    };
    Domain::new(Excluded(0.0), Unbounded, expected)
}

/// What `noise.nu` must be for model `kind`, checked in this order (docs/heavy-tails.md): the
/// samplers of the discrete optimizers take ν ≥ [`MIN_NU`]; the sign SDEs evaluate 2F_ν − 1,
/// tabulated for ν ≥ 1; SDEs driven by the noise covariance need a finite variance, ν > 2. (ν > 0
/// comes first: [`NU`].)
pub fn nu_domains(kind: ModelKind) -> Vec<Domain<f64>> {
    let mut domains = vec![min_nu_domain()];
    if kind.is_sign_sde() {
        domains.push(Domain::worded(
            Included(MIN_NU_SIGN_SDE),
            Unbounded,
            format!(
                "must be >= {MIN_NU_SIGN_SDE} for {}: its drift 2F_nu - 1 is tabulated for nu >= 1 \
                 (docs/heavy-tails.md); the discrete {} samples any nu >= {MIN_NU}",
                kind.name(),
                if kind == ModelKind::SignsgdSde { "signsgd" } else { "dsignsgd" }
            ),
        ));
    }
    if kind.needs_variance() {
        domains.push(Domain::worded(
            Excluded(2.0),
            Unbounded,
            format!(
                "must be > 2 for {}: this SDE is driven by the noise covariance, and Student-t noise \
                 with nu <= 2 has infinite variance; simulate the discrete optimizer ({}) or the sign \
                 methods (signsgd, signsgd-sde, dsignsgd, dsignsgd-sde), which need no variance",
                kind.name(),
                kind.name().trim_end_matches("-sde").trim_end_matches("-malladi")
            ),
        ));
    }
    domains
}

/// What `run.refine` != 1 says for a discrete model.
pub fn refine_only_for_sdes(kind: ModelKind) -> String {
    let sde: Vec<&str> = ModelKind::ALL.into_iter().filter(|m| m.is_sde()).map(ModelKind::name).collect();
    format!(
        "refine applies to SDE models only ({}); model {} is a discrete optimizer, so leave refine out or \
         set it to 1",
        sde.join(", "),
        kind.name()
    )
}

/// `run.divergence_bound` on `objective` from `x0`: above the start's max |x0|, and at most
/// [`Objective::bound_limit`].
pub fn divergence_domain(objective: &Objective, x0: &[f64]) -> Domain<f64> {
    let limit = objective.bound_limit();
    let x0_max = max_abs(x0);
    Domain::worded(
        Excluded(x0_max),
        Included(limit),
        format!(
            "must be a finite number > max |x0| = {x0_max} and <= {limit:.4e} (beyond it {} exceeds \
             {MAX_LOSS_AT_BOUND:e}, which the f32 statistics cannot hold)",
            objective.bound_reason()
        ),
    )
}

/// The default `run.divergence_bound`: [`DEFAULT_DIVERGENCE_BOUND`], lowered to
/// [`Objective::bound_limit`] for very stiff objectives; an error when `x0` starts beyond it.
pub fn default_divergence_bound(objective: &Objective, x0: &[f64]) -> Result<f64> {
    let b = DEFAULT_DIVERGENCE_BOUND.min(objective.bound_limit());
    let x0_max = max_abs(x0);
    if b <= x0_max {
        return Err(Error::invalid(
            "init.x0",
            fmt_f64(x0_max),
            format!("is beyond the default run.divergence_bound = {b:e}; set run.divergence_bound above it"),
        ));
    }
    Ok(b)
}

fn max_abs(xs: &[f64]) -> f64 {
    xs.iter().fold(0.0f64, |a, x| a.max(x.abs()))
}

/// A validated experiment. All vectors have length `dim`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    pub dim: usize,
    pub model: ModelSpec,
    pub objective: Objective,
    pub noise: Noise,
    pub x0: Vec<f64>,
    pub run: RunSpec,
    pub record: RecordSpec,
    pub stationary: StationarySpec,
}

impl Experiment {
    /// An experiment from its validated parts, checking what ties them together: one dimension
    /// (that of the objective, at most [`MAX_DIM`]) for every vector, the noise each model can
    /// use ([`noise_scale_domain`], [`nu_domains`]), the compressor's parameter in that
    /// dimension, `refine` only for SDEs and ρΔt ≤ 1, the divergence bound for this objective
    /// and start ([`divergence_domain`]), and `stationary.start` before the last step.
    pub fn new(
        name: String,
        model: ModelSpec,
        objective: Objective,
        noise: Noise,
        x0: Vec<f64>,
        run: RunSpec,
        record: RecordSpec,
        stationary: StationarySpec,
    ) -> Result<Experiment> {
        let e = Experiment { name, dim: objective.dim(), model, objective, noise, x0, run, record, stationary };
        e.check()?;
        Ok(e)
    }

    /// Every check of [`Experiment::new`] and of the parts' constructors, in the order of the
    /// file's sections.
    fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", format!("{:?}", self.name), "must be a non-empty string"));
        }
        let kind = self.model.name;
        self.model.check()?;
        self.objective.check()?;
        let d = self.objective.dim();
        if !(1..=MAX_DIM).contains(&d) || self.dim != d {
            let (field, values) = self.objective.vectors()[0];
            return Err(Error::invalid(
                field,
                show_reals(values),
                format!(
                    "has length {d} (the dimension, dim = {}); 1 to {MAX_DIM} coordinates (MAX_DIM) are supported",
                    self.dim
                ),
            ));
        }
        if self.model.curvature && !matches!(self.objective, Objective::Quadratic { .. }) {
            return Err(Error::invalid(
                "model.correction",
                "\"curvature\"",
                format!(
                    "needs the Hessian–vector product ∇²f∇f in the kernels, which they compute for the diagonal \
                     quadratic (objective.h) only so far; objective {} is not one",
                    self.objective.name()
                ),
            ));
        }
        self.noise.check()?;
        let student = matches!(self.noise, Noise::StudentT { .. });
        let scales = format!("noise.{}", self.noise.scale_key());
        noise_scale_domain(kind, student).check_each(&scales, self.noise.scales())?;
        if let Noise::StudentT { nu, .. } = &self.noise {
            let domains = nu_domains(kind);
            for (j, &v) in nu.iter().enumerate() {
                for domain in &domains {
                    domain.check(&format!("noise.nu[{j}]"), v)?;
                }
            }
        }
        ANY_REAL.check_each("init.x0", &self.x0)?;
        let mut vectors = self.objective.vectors();
        vectors.extend(self.noise.vectors());
        vectors.push(("init.x0", &self.x0));
        problem::same_lengths(&vectors)?;
        if self.x0.len() != d {
            return Err(Error::invalid(
                "init.x0",
                show_reals(&self.x0),
                format!("has length {} but the objective's dimension is d = {d}", self.x0.len()),
            ));
        }
        if let Some((f, words)) = self.objective.formula() {
            f.defined_at(&self.x0, &words).map_err(|why| {
                Error::invalid(
                    "objective.loss",
                    format!("{:?}", f.text()),
                    format!("is undefined at the start init.x0 = {}: {why}", show_reals(&self.x0)),
                )
            })?;
        }
        self.model.compressor.check(d)?;
        if self.objective.samples_data() {
            self.check_regression()?;
        } else if kind == ModelKind::Signhsgd {
            return Err(Error::invalid(
                "model.name",
                kind.name(),
                format!(
                    "needs objective linear-regression: signHSGD is the limit of signSGD on one-pass least squares \
                     (docs/regression.md), its drift phi(P) D^(-1/2) K r (D = diag K) is that problem's; objective {} has no data \
                     (simulate signsgd or signsgd-sde on it)",
                    self.objective.name()
                ),
            ));
        }

        self.run.check()?;
        self.model.schedule.check(self.run.steps)?;
        if self.model.curvature && !self.model.schedule.is_constant() {
            return Err(Error::invalid(
                "model.correction",
                "\"curvature\"",
                format!(
                    "takes a constant learning rate so far: its drift −∇f + (η/2)s(t)²∇²f∇f needs the schedule s(t) \
                     inside the correction, which the kernels do not compute yet; schedule.name = {:?} is not constant",
                    self.model.schedule.name()
                ),
            ));
        }
        self.check_norm_schedule()?;
        let refine = self.run.refine;
        if refine != 1 && !kind.is_sde() {
            return Err(Error::invalid("run.refine", refine, refine_only_for_sdes(kind)));
        }
        // Euler–Maruyama of dV = ρ(· − V)dt keeps V a convex combination only while ρΔt <= 1
        // (docs/adaptive.md); ρΔt = (1 − β)/refine in both time scalings.
        if let (Some(a), true) = (&self.model.adaptive, kind.is_sde()) {
            for (key, beta) in [("beta1", a.beta1), ("beta2", a.beta2)] {
                let rho_dt = (1.0 - beta) / f64::from(refine);
                if (kind.is_adam() || key == "beta2") && rho_dt > 1.0 {
                    let key = if kind.is_adam() { key } else { "beta" };
                    return Err(Error::invalid(
                        format!("model.{key}"),
                        beta,
                        format!(
                            "gives rho * dt = (1 - beta) / refine = {rho_dt} > 1, so V could go negative; need rho * dt <= 1"
                        ),
                    ));
                }
            }
        }
        divergence_domain(&self.objective, &self.x0).check("run.divergence_bound", self.run.divergence_bound)?;

        every_domain().check("record.every", self.record.every)?;
        trajectories_domain(Some(self.run.paths)).check("record.trajectories", self.record.trajectories)?;
        start_domain(self.run.steps).check("stationary.start", self.stationary.start)?;
        self.stationary.check()?;
        if self.record.basis == RecordBasis::Hessian && self.objective.eigenbasis().is_none() {
            return Err(Error::invalid(
                "record.basis",
                "\"hessian\"",
                format!("needs a quadratic objective (h, hessian or eigenvalues), not {}", self.objective.name()),
            ));
        }
        if self.record.time == TimeAxis::PerDimension && !self.objective.samples_data() {
            return Err(Error::invalid(
                "record.time",
                "\"k/d\"",
                format!(
                    "needs objective linear-regression, whose time k/d counts d data points per unit; objective {} \
                     has no data, so its time is the model's (leave record.time out or set it to \"model\")",
                    self.objective.name()
                ),
            ));
        }
        self.stationary.check_dim(d, self.record.basis)
    }

    /// What a gradient-norm schedule needs: ∇f in the kernel (not on sampled data, whose
    /// kernels form only the sampled gradients), and for `norm_of = "stochastic"` a model whose
    /// increment of x is −η times the sampled gradient (sgd, dsgd, dcsgd: for several agents the
    /// server's average, so the server normalises or clips it).
    fn check_norm_schedule(&self) -> Result<()> {
        let Some((norm_of, _)) = self.model.schedule.norm() else { return Ok(()) };
        let kind = self.model.name;
        if self.objective.samples_data() {
            return Err(Error::invalid(
                "schedule.name",
                format!("{:?}", self.model.schedule.name()),
                format!(
                    "needs the gradient's norm at each step, which the kernels on sampled data do not form yet; \
                     objective {} samples data (use a time schedule: poly, inverse-sqrt, step, cosine)",
                    self.objective.name()
                ),
            ));
        }
        if norm_of == NormOf::Stochastic && !matches!(kind, ModelKind::Sgd | ModelKind::Dsgd | ModelKind::Dcsgd) {
            return Err(Error::invalid(
                "schedule.norm_of",
                "\"stochastic\"",
                format!(
                    "takes the sampled gradient's norm from the step (−η times that gradient), which only sgd, dsgd \
                     and dcsgd take; model {} needs norm_of = \"true\" (∇f without noise: an SDE's drift)",
                    kind.name()
                ),
            ));
        }
        Ok(())
    }

    /// What a `linear-regression` objective needs of the model and the noise: a model whose
    /// update takes a sampled gradient (every discrete optimizer), whose SDE is driven by the
    /// gradient covariance alone (the SGD and compressed SDEs, with the state-dependent
    /// covariance of Gaussian design; the adaptive SDEs, with its diagonal), or signHSGD (one
    /// sample per step), not a sign SDE; and one label-noise law for every sample (`[noise]`:
    /// one σ).
    fn check_regression(&self) -> Result<()> {
        let kind = self.model.name;
        if kind.is_sign_sde() {
            return Err(Error::invalid(
                "model.name",
                kind.name(),
                "cannot run on objective linear-regression: its drift erf(g / (sqrt(2) sigma)) assumes Gaussian \
                 gradient noise of a fixed scale, which sampled data does not have; simulate signhsgd (the \
                 high-dimensional limit SDE of signSGD on this objective), the discrete signsgd (with eta/d, the \
                 paper's algorithm), or the risk ODE of `optsde risk`",
            ));
        }
        if let (ModelKind::Signhsgd, Objective::LinearRegression { batch, .. }) = (kind, &self.objective)
            && *batch != 1
        {
            return Err(Error::invalid(
                "objective.batch",
                batch,
                "must be 1 for signhsgd: its drift factor phi(P) (2/(pi sqrt(2P + sigma^2)) for Gaussian labels) is \
                 the mean sign of one sample's gradient (a minibatch mean has another law); simulate the discrete signsgd with this batch",
            ));
        }
        let scales = self.noise.scales();
        if scales.iter().any(|&s| s != scales[0]) {
            return Err(Error::invalid(
                format!("noise.{}", self.noise.scale_key()),
                show_reals(scales),
                "must be one number for linear-regression: it is the label noise's scale (y = a^T x* + eps)",
            ));
        }
        if let Noise::StudentT { nu, .. } = &self.noise
            && nu.iter().any(|&v| v != nu[0])
        {
            return Err(Error::invalid(
                "noise.nu",
                show_reals(nu),
                "must be one number for linear-regression: it is the Student-t label noise's nu",
            ));
        }
        if let (ModelKind::Signhsgd, Objective::LinearRegression { rotation: Some(r), .. }) = (kind, &self.objective)
            && let Err((row, pivot)) = crate::objective::rotated::sign_noise_factor(&r.covariance)
        {
            return Err(Error::invalid(
                "objective.basis",
                match &r.basis {
                    Basis::Random { seed } => format!("\"random\" (basis_seed = {seed})"),
                    Basis::Given { q } => show_matrix(q),
                },
                format!(
                    "gives a K whose sign-data covariance K_sigma = (2/pi) arcsin(D^-1/2 K D^-1/2) is not positive \
                     definite in f64 (Cholesky pivot {pivot:e} at row {row}), so signhsgd has no noise factor; \
                     K is then nearly singular: raise objective.k's smallest entry"
                ),
            ));
        }
        Ok(())
    }

    /// The time a record advances per optimizer step on the records' axis (`[record] time`):
    /// the model's ([`ModelKind::time_per_step`]) or 1/d.
    pub fn record_time_per_step(&self) -> f64 {
        match self.record.time {
            TimeAxis::Model => self.model.name.time_per_step(self.model.eta),
            TimeAxis::PerDimension => 1.0 / self.dim as f64,
        }
    }

    /// A regression's irreducible risk ½ E ε² (the label noise's variance; the population risk
    /// is the excess risk P, the kernels' loss, plus this); `None` for other objectives.
    pub fn irreducible_risk(&self) -> Option<f64> {
        self.objective.samples_data().then(|| 0.5 * self.noise.std_dev(0).powi(2))
    }

    /// Total optimizer-steps times paths (for progress).
    pub fn path_steps(&self) -> u128 {
        self.run.paths as u128 * self.run.steps as u128
    }
}
