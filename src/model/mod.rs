//! Models as data behind one engine: each family supplies its per-coordinate coefficients
//! (derived on the host in f64, uploaded as f32) and one scalar update, which the WGSL kernel
//! (`shaders/shared/model.wgsl`) and the CPU twin evaluate in the same operation order.
//!
//! Common conventions (spec §1.3–1.4): optimizer step k ↔ SDE time t = kη; an SDE runs
//! `refine` = r Euler–Maruyama substeps of Δt = η/r per optimizer step, and each substep
//! consumes one standard normal per coordinate (normal index m = substep · d + i, see
//! [`crate::rng`]). Discrete optimizers consume one normal per coordinate per step.

pub mod adaptive;
pub mod distributed;
pub mod sgd;
pub mod signsgd;

use crate::layout::Coef;
use crate::spec::{Experiment, ModelKind, Noise, Objective};

/// Per-coordinate model coefficients p0..p8 in f64, before the f32 upload.
pub fn model_coefs(exp: &Experiment, i: usize) -> [f64; 9] {
    let eta = exp.model.eta;
    let dt = eta / f64::from(exp.run.refine);
    let Noise::Gaussian { sigma } = &exp.noise;
    let s = sigma[i];
    let three = |p: [f64; 3]| [p[0], p[1], p[2], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    match (exp.model.name, &exp.model.adaptive) {
        (ModelKind::SgdSde, _) => three(sgd::sde_coefs(eta, dt, s)),
        (ModelKind::Sgd, _) => three(sgd::discrete_coefs(eta, s)),
        (ModelKind::SignsgdSde, _) => three(signsgd::sde_coefs(eta, dt, s)),
        (ModelKind::Signsgd, _) => three(signsgd::discrete_coefs(eta, s)),
        (kind, _) if kind.is_distributed() => three(distributed::coefs(kind, eta, dt, s, exp.model.agents)),
        (kind, Some(a)) => adaptive::coefs(kind, a, eta, exp.run.refine, s),
        (kind, None) => unreachable!("validated: {} has adaptive parameters", kind.name()),
    }
}

/// The per-run scalars of `Params` (tf_a, tf_b, gsq).
pub fn time_rates(exp: &Experiment) -> (f64, f64, f64) {
    match &exp.model.adaptive {
        Some(a) => adaptive::time_rates(exp.model.name, a, exp.run.refine),
        None => (0.0, 0.0, 1.0),
    }
}

/// The coefficient table uploaded to binding 1; `ranges[i]` is the histogram range of
/// coordinate i.
pub fn coef_table(exp: &Experiment, ranges: &[(f64, f64)], bins: u32) -> Vec<Coef> {
    let Objective::Quadratic { h, center } = &exp.objective;
    (0..exp.dim)
        .map(|i| {
            let p = model_coefs(exp, i).map(|v| v as f32);
            let (lo, hi) = ranges[i];
            Coef {
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
                _pad0: 0.0,
                _pad1: 0.0,
            }
        })
        .collect()
}

/// One update of a coordinate's state (twin of `update` in `shaders/shared/model.wgsl`);
/// `MODEL` is [`ModelKind::id`]. For the multi-draw kernels (8, 9) `xi` is the aggregate of the
/// agents' draws ([`distributed::accumulate`]). `m`, `v` are the EMA slots (unused by SGD and SignSGD), `p` the
/// coefficients, `tf` the substep's time factors, `gsq` the (∇f)² flag of the V drift.
#[inline(always)]
pub fn update<const MODEL: u32>(
    x: &mut f32,
    m: &mut f32,
    v: &mut f32,
    g: f32,
    xi: f32,
    p: &[f32; 9],
    tf: [f32; 2],
    gsq: f32,
) {
    match MODEL {
        0 => *x = sgd::sde_update(*x, g, xi, p[0], p[1]),
        1 => *x = sgd::discrete_update(*x, g, xi, p[0], p[1]),
        2 => *x = signsgd::sde_update(*x, g, xi, p[0], p[1], p[2]),
        3 => *x = signsgd::discrete_update(*x, g, xi, p[0], p[1]),
        4 => adaptive::rmsprop_update(x, v, g, xi, p),
        5 => adaptive::adam_update(x, m, v, g, xi, p, tf),
        6 => adaptive::rmsprop_sde_update(x, v, g, xi, p, gsq),
        7 => adaptive::adam_sde_update(x, m, v, g, xi, p, tf, gsq),
        8 => *x = distributed::dsgd_update(*x, g, xi, p[0], p[1], p[2]),
        _ => *x = distributed::dsignsgd_update(*x, xi, p[0], p[2]),
    }
}
