//! Models as data behind one engine: each family supplies its per-coordinate coefficients
//! (derived on the host in f64, uploaded as f32) and one scalar update, which the WGSL kernel
//! (`shaders/shared/model.wgsl`) and the CPU twin evaluate in the same operation order.
//!
//! Common conventions (spec §1.3–1.4): optimizer step k ↔ SDE time t = kη; an SDE runs
//! `refine` = r Euler–Maruyama substeps of Δt = η/r per optimizer step, and each substep
//! consumes one standard normal per coordinate (normal index m = substep · d + i, see
//! [`crate::rng`]). Discrete optimizers consume one normal per coordinate per step.

pub mod sgd;
pub mod signsgd;

use crate::layout::Coef;
use crate::spec::{Experiment, ModelKind, Noise, Objective};

/// Per-coordinate model coefficients (p0, p1, p2) in f64, before the f32 upload.
pub fn model_coefs(exp: &Experiment, i: usize) -> [f64; 3] {
    let eta = exp.model.eta;
    let dt = eta / f64::from(exp.run.refine);
    let Noise::Gaussian { sigma } = &exp.noise;
    let s = sigma[i];
    match exp.model.name {
        ModelKind::SgdSde => sgd::sde_coefs(eta, dt, s),
        ModelKind::Sgd => sgd::discrete_coefs(eta, s),
        ModelKind::SignsgdSde => signsgd::sde_coefs(eta, dt, s),
        ModelKind::Signsgd => signsgd::discrete_coefs(eta, s),
    }
}

/// The coefficient table uploaded to binding 1; `ranges[i]` is the histogram range of
/// coordinate i.
pub fn coef_table(exp: &Experiment, ranges: &[(f64, f64)], bins: u32) -> Vec<Coef> {
    let Objective::Quadratic { h, center } = &exp.objective;
    (0..exp.dim)
        .map(|i| {
            let [p0, p1, p2] = model_coefs(exp, i);
            let (lo, hi) = ranges[i];
            Coef {
                h: h[i] as f32,
                c: center[i] as f32,
                p0: p0 as f32,
                p1: p1 as f32,
                p2: p2 as f32,
                x0: exp.x0[i] as f32,
                hist_lo: lo as f32,
                hist_inv_w: (f64::from(bins) / (hi - lo)) as f32,
            }
        })
        .collect()
}

/// One update of a coordinate (twin of `update` in `shaders/shared/model.wgsl`); `MODEL` is
/// [`ModelKind::id`].
#[inline(always)]
pub fn update<const MODEL: u32>(x: f32, g: f32, xi: f32, p0: f32, p1: f32, p2: f32) -> f32 {
    match MODEL {
        0 => sgd::sde_update(x, g, xi, p0, p1),
        1 => sgd::discrete_update(x, g, xi, p0, p1),
        2 => signsgd::sde_update(x, g, xi, p0, p1, p2),
        _ => signsgd::discrete_update(x, g, xi, p0, p1),
    }
}
