//! Models as data behind one engine: each family supplies its per-coordinate coefficients
//! (derived on the host in f64, uploaded as f32) and one scalar update, which the WGSL kernel
//! (`shaders/shared/model.wgsl`) and the CPU twin evaluate in the same operation order.
//!
//! Common conventions (docs/objective-and-noise.md): optimizer step k ↔ SDE time t = kη; an SDE runs
//! `refine` = r Euler–Maruyama substeps of Δt = η/r per optimizer step, and each substep
//! consumes one standard normal per coordinate (normal index m = substep · d + i, see
//! [`crate::rng`]). Discrete optimizers consume one normal per coordinate per step.

pub mod adaptive;
pub mod compressed;
pub mod distributed;
pub mod schedule;
pub mod sgd;
pub mod signsgd;

use crate::experiment::{Experiment, ModelKind, Noise, Objective};
use crate::kernel::Kernel;
use crate::kernel::coefs::{self, SLOTS};
use crate::layout::{Coef, Group, Upload};

/// Coordinate i's coefficient slots in f64 ([`crate::kernel::coefs`] names them), before the f32
/// upload.
///
/// Noise enters through two numbers: the *scale* (σ, or the Student-t scale), which the
/// discrete optimizers multiply their sampled variates by and the sign SDEs divide the gradient
/// by; and the *standard deviation* (σ, or scale·√(ν/(ν − 2))), which drives the SDEs built on
/// the noise covariance (SGD-type, compressed and adaptive SDEs; validation guarantees ν > 2).
pub fn model_coefs(exp: &Experiment, i: usize) -> [f64; SLOTS] {
    let mut c = first_order_coefs(exp, i);
    if exp.model.curvature {
        // `correction = "curvature"` on the diagonal quadratic (validated): the drift's Δt slot
        // scaled by ModelSpec::drift_factor while the diffusion keeps ∇f (docs/curvature.md).
        // Slot 0 is Δt in each SGD-type SDE layout.
        const _: () = assert!(coefs::sgd_sde::DT == 0 && coefs::bernoulli_sde::DT == 0 && coefs::randk_sde::DT == 0);
        let Objective::Quadratic { h, .. } = &exp.objective else { unreachable!("validated: diagonal quadratic") };
        c[coefs::sgd_sde::DT] *= exp.model.drift_factor(h[i]);
    }
    c
}

/// [`model_coefs`] of the first-order models.
fn first_order_coefs(exp: &Experiment, i: usize) -> [f64; SLOTS] {
    let eta = exp.model.eta;
    let dt = eta / f64::from(exp.run.refine);
    let scale = exp.noise.scale(i);
    // On sampled data the SGD SDE's diffusion is √(η/B) Σ(r)^{1/2}: its noise slot holds
    // √(ηΔt/B) and the data stage multiplies by the state-dependent factor (crate::objective).
    let std = match exp.objective {
        Objective::LinearRegression { batch, .. } => 1.0 / f64::from(batch).sqrt(),
        _ => exp.noise.std_dev(i),
    };
    let student = matches!(exp.noise, Noise::StudentT { .. });
    let n = exp.model.agents;
    match (exp.model.name, &exp.model.adaptive) {
        (ModelKind::SgdSde, _) => sgd::sde_coefs(eta, dt, std),
        // signHSGD's diffusion √η dW in t = kη (docs/regression.md): unit variance per coordinate.
        (ModelKind::Signhsgd, _) => sgd::sde_coefs(eta, dt, 1.0),
        (ModelKind::Sgd, _) => sgd::discrete_coefs(eta, scale),
        (ModelKind::SignsgdSde, _) => signsgd::sde_coefs(eta, dt, scale, student),
        (ModelKind::Signsgd, _) => signsgd::discrete_coefs(eta, scale),
        (kind, _) if kind.is_compressed() => {
            let c = &exp.model.compressor;
            match Kernel::of(exp) {
                Kernel::Dsgd => distributed::agent_coefs(eta, scale, n),
                Kernel::Dcsgd => compressed::discrete_coefs(c, eta, scale, n, exp.dim),
                Kernel::SgdSde => sgd::sde_coefs(eta, dt, std / f64::from(n).sqrt()),
                _ => match exp.objective {
                    Objective::LinearRegression { batch, .. } => {
                        compressed::data_sde_coefs(c, eta, dt, batch, n, exp.dim)
                    }
                    _ => compressed::sde_coefs(c, eta, dt, std, n, exp.dim),
                },
            }
        }
        (kind, _) if kind.is_distributed() => distributed::coefs(kind, eta, dt, scale, std, n, student),
        (kind, Some(a)) => adaptive::coefs(kind, a, eta, exp.run.refine, if kind.is_sde() { std } else { scale }),
        (kind, None) => unreachable!("validated: {} has adaptive parameters", kind.name()),
    }
}

/// The per-run scalars (tf_a, tf_b of `Group`, gsq of `Params`).
pub fn time_rates(exp: &Experiment) -> (f64, f64, f64) {
    match &exp.model.adaptive {
        Some(a) => adaptive::time_rates(exp.model.name, a, exp.run.refine),
        None => (0.0, 0.0, 1.0),
    }
}

/// One parameter group of [`upload`]: the experiment, its coordinates' histogram ranges and its
/// loss-histogram range.
pub type GroupInput<'a> = (&'a Experiment, &'a [(f64, f64)], (f64, f64));

/// What the kernel reads besides its parameters, for one or more parameter groups (sweep
/// points; all with the same kernel constants): each group's coefficient table (binding 1;
/// `ranges[i]` is the histogram range of coordinate i), the Student-t CDF tables for a sign SDE
/// with tabulated ν (binding 5; one placeholder word otherwise), and the per-group scalars
/// (binding 6: Adam time rates, loss-histogram range, divergence bound).
pub fn upload(groups: &[GroupInput<'_>], bins: u32) -> Upload {
    let mut up = Upload { coef: Vec::new(), tcdf: Vec::new(), groups: Vec::new(), objective: Vec::new() };
    for (exp, ranges, loss_range) in groups {
        add_group(&mut up, exp, ranges, *loss_range, bins);
    }
    if up.tcdf.is_empty() {
        up.tcdf.push(0.0);
    }
    if up.objective.is_empty() {
        up.objective.push(0.0);
    }
    up
}

/// What the objective stage reads per coordinate (h_i, c_i; `Coef::h`, `Coef::c`) and per group
/// (the objective buffer's words): the diagonal quadratic's h and c; a dense quadratic's
/// diagonal H_ii (read by no kernel), its c, and H row by row; a regression's diag K and x* (its
/// population loss is that quadratic) and the data stage's words (`Stage::Regression`): √k_i,
/// or, rotated, K, the noise factor (Q diag(√k), or signHSGD's Cholesky factor of K_σ) and after
/// the scalars K_ii^{−1/2}; the scalars are the label's scale (σ_ε, or the Student-t scale s),
/// E ε² (σ_ε², or s²ν/(ν − 2), infinite for ν ≤ 2, where only the discrete models and signHSGD
/// run, which do not read it) and 1/B; for formulas, c = 0 (the stationary sums are then raw moments).
/// signHSGD with Student-t labels then takes its φ table (`crate::regression::phi_table`).
fn objective_inputs(exp: &Experiment) -> (Vec<f64>, Vec<f64>, Vec<f32>) {
    let (h, center, mut words) = objective_words(exp);
    if let (crate::objective::Stage::Regression { phi_table: true, .. }, Noise::StudentT { nu, scale }) =
        (crate::kernel::stage_of(exp), &exp.noise)
    {
        words.extend(crate::regression::phi_table::phi_words(nu[0], scale[0]));
    }
    (h, center, words)
}

fn objective_words(exp: &Experiment) -> (Vec<f64>, Vec<f64>, Vec<f32>) {
    let (label, label_var) = (exp.noise.scale(0), exp.noise.std_dev(0).powi(2));
    let f32s = |m: &[Vec<f64>]| m.iter().flatten().map(|&v| v as f32).collect::<Vec<f32>>();
    let scalars = |batch: u32| [label as f32, label_var as f32, (1.0 / f64::from(batch)) as f32];
    match &exp.objective {
        Objective::LinearRegression { k, target, batch, rotation: None } => {
            let mut words: Vec<f32> = k.iter().map(|&v| v.sqrt() as f32).collect();
            words.extend(scalars(*batch));
            (k.clone(), target.clone(), words)
        }
        Objective::LinearRegression { k, target, batch, rotation: Some(r) } => {
            let cov = &r.covariance;
            let factor = if exp.model.name == ModelKind::Signhsgd {
                crate::objective::rotated::sign_noise_factor(cov).expect("validated: K_sigma is positive definite")
            } else {
                crate::objective::rotated::sampling_factor(&r.q, k)
            };
            let mut words = f32s(cov);
            words.extend(f32s(&factor));
            words.extend(scalars(*batch));
            words.extend(cov.iter().enumerate().map(|(i, row)| (1.0 / row[i].sqrt()) as f32));
            let diag = (0..k.len()).map(|i| cov[i][i]).collect();
            (diag, target.clone(), words)
        }
        Objective::Quadratic { h, center } => (h.clone(), center.clone(), Vec::new()),
        Objective::DenseQuadratic { hessian, center, .. } => {
            let diag = (0..hessian.len()).map(|i| hessian[i][i]).collect();
            (diag, center.clone(), hessian.iter().flatten().map(|&v| v as f32).collect())
        }
        Objective::Expression { dim, .. } => {
            let (_, words) = exp.objective.formula().expect("a formula");
            (vec![0.0; *dim], vec![0.0; *dim], words.into_iter().map(|v| v as f32).collect())
        }
    }
}

fn add_group(up: &mut Upload, exp: &Experiment, ranges: &[(f64, f64)], loss_range: (f64, f64), bins: u32) {
    let (h, center, words) = objective_inputs(exp);
    let obj_base = up.objective.len() as u32;
    up.objective.extend(words);
    let sign_sde = matches!(exp.model.name, ModelKind::SignsgdSde | ModelKind::DsignsgdSde);
    for i in 0..exp.dim {
        let p = model_coefs(exp, i).map(|v| v as f32);
        let (lo, hi) = ranges[i];
        let (mut nu, mut sqrt_nu, mut two_over_nu, mut tab) = (0.0, 0.0, 0.0, -1.0);
        if let Some(v) = exp.noise.nu(i) {
            let t = crate::noise::t_params(v);
            (nu, sqrt_nu, two_over_nu) = (t.nu, t.sqrt_nu, t.two_over_nu);
            if sign_sde && !t.closed {
                tab = up.tcdf.len() as f32;
                up.tcdf.extend(crate::noise::t_table(v));
            }
        }
        up.coef.push(Coef {
            h: h[i] as f32,
            c: center[i] as f32,
            p0: p[0],
            p1: p[1],
            p2: p[2],
            p3: p[3],
            p4: p[4],
            p5: p[5],
            p6: p[6],
            p7: p[7],
            p8: p[8],
            x0: exp.x0[i] as f32,
            hist_lo: lo as f32,
            hist_inv_w: (f64::from(bins) / (hi - lo)) as f32,
            nu,
            sqrt_nu,
            two_over_nu,
            tab,
        });
    }
    let (tf_a, tf_b, _) = time_rates(exp);
    let sched = exp.model.schedule.words(exp.model.eta, exp.run.steps);
    up.groups.push(Group {
        tf_a: tf_a as f32,
        tf_b: tf_b as f32,
        loss_lo: loss_range.0 as f32,
        loss_inv_w: (f64::from(bins) / (loss_range.1 - loss_range.0)) as f32,
        div_bound: exp.run.divergence_bound as f32,
        obj_base,
        sched: sched.reals,
        milestones: sched.milestones,
        ..Group::default()
    });
}

/// One update of a coordinate's state (twin of `update` in `shaders/shared/model.wgsl`);
/// `MODEL` is a [`Kernel::id`]. For the kernels that aggregate agents `xi` is the aggregate of
/// the agents' draws ([`distributed::accumulate`]). `m`, `v` are the EMA slots (unused by SGD and
/// SignSGD), `p` the coefficient slots, `tf` the substep's time factors, `gsq` the (∇f)² flag of
/// the V drift.
#[inline(always)]
pub fn update<const MODEL: u32, const FMA: bool>(
    x: &mut f32,
    m: &mut f32,
    v: &mut f32,
    g: f32,
    xi: f32,
    p: &[f32; SLOTS],
    tf: [f32; 2],
    gsq: f32,
) {
    use coefs::{agents, bernoulli_sde, discrete, sgd_sde, signsgd_sde};
    match const { Kernel::from_id(MODEL) } {
        Kernel::SgdSde => *x = sgd::sde_update(*x, g, xi, p[sgd_sde::DT], p[sgd_sde::NOISE]),
        Kernel::Sgd => *x = sgd::discrete_update(*x, g, xi, p[discrete::ETA], p[discrete::SCALE]),
        Kernel::SignsgdSde => {
            let (dt, noise, inv_scale) = (p[signsgd_sde::DT], p[signsgd_sde::NOISE], p[signsgd_sde::INV_SCALE]);
            *x = signsgd::sde_update::<FMA>(*x, g, xi, dt, noise, inv_scale)
        }
        Kernel::Signsgd => *x = signsgd::discrete_update(*x, g, xi, p[discrete::ETA], p[discrete::SCALE]),
        Kernel::Rmsprop => adaptive::rmsprop_update(x, v, g, xi, p),
        Kernel::Adam => adaptive::adam_update(x, m, v, g, xi, p, tf),
        Kernel::RmspropSde => adaptive::rmsprop_sde_update(x, v, g, xi, p, gsq),
        Kernel::AdamSde => adaptive::adam_sde_update(x, m, v, g, xi, p, tf, gsq),
        Kernel::Dsgd => {
            *x = distributed::dsgd_update(*x, g, xi, p[agents::ETA], p[agents::SCALE], p[agents::INV_AGENTS])
        }
        Kernel::Dsignsgd => *x = distributed::dsignsgd_update(*x, xi, p[agents::ETA], p[agents::INV_AGENTS]),
        Kernel::BernoulliSde => {
            let (dt, base, grad) = (p[bernoulli_sde::DT], p[bernoulli_sde::BASE_VAR], p[bernoulli_sde::GRAD_VAR]);
            *x = compressed::bernoulli_sde_update(*x, g, xi, dt, base, grad)
        }
        Kernel::Dcsgd | Kernel::RandkSde => unreachable!("{MODEL:?} takes a step of its own (src/cpu/advance.rs)"),
    }
}
