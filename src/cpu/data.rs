//! The data stage of a `linear-regression` objective for a block of lanes: twin of
//! `shaders/shared/data.wgsl` (same variates in the same order, same operations). The discrete
//! models' step on sampled gradients ([`data_step`]) and the SDEs' state-dependent diffusions
//! and signHSGD's drift ([`data_sde_coords`]). The group's objective words
//! (`crate::objective::Stage::Regression`): √k_i, or K and the noise factor M when rotated; then
//! the label scale (σ_ε or the Student-t scale), E ε², 1/B; rotated, then K_ii^{−1/2}.

use std::f32::consts::FRAC_2_PI;

use super::LANES;
use super::cursor::Cursor;
use super::inputs::{Inputs, Rows};
use super::step::{compress_into, randk_z2};

use crate::kernel::coefs::{SLOTS, adam_sde, agents, bernoulli_sde, dcsgd, randk_sde, rmsprop_sde};
use crate::kernel::{Kernel, KernelConsts};
use crate::layout::{Coef, Params};
use crate::math::sign_f32;
use crate::model::update;
use crate::objective::{PHI_WORDS, Stage, phi_tabulated};
use crate::rng::{STREAM_COMPRESS, STREAM_LABEL};

/// Where a step's Student-t labels come from (`data_t_label`): the optimizer step, the run's
/// seed (in `params`) and the block's first path.
#[derive(Clone, Copy)]
pub(super) struct LabelKey<'a> {
    pub step: u32,
    pub params: &'a Params,
    pub path0: u64,
}

impl LabelKey<'_> {
    /// DCSGD's compressor words of the step (`data_comp_start`): the compressor stream from
    /// block (0, step) of the path, read in order over agents and coordinates.
    #[inline(always)]
    fn compressor<const FMA: bool, const TF: usize>(&self) -> Cursor<FMA, TF> {
        Cursor::<FMA, TF>::new(u64::from(self.step) << 34, 4, false, STREAM_COMPRESS, self.params, self.path0)
    }

    /// Label j of the step for every lane: [`STREAM_LABEL`]'s block (step, j), made a t_ν
    /// variate with coordinate 0's ν.
    #[inline(always)]
    fn t_label<const FMA: bool, const TF: usize>(&self, j: u32, q: &Coef) -> [f32; LANES] {
        let blk = u64::from(j) << 32 | u64::from(self.step);
        Cursor::<FMA, TF>::new(blk, 1, false, STREAM_LABEL, self.params, self.path0).variate(q)
    }
}

/// The group's scalars from [`crate::objective::Stage::data_scalars`]: the label scale, E ε², 1/B,
/// then (rotated) K_ii^{−1/2}.
#[inline(always)]
fn scalars<'a>(k: &KernelConsts, inp: &Inputs<'a>) -> &'a [f32] {
    &inp.objective[k.objective.data_scalars(k.dim)..]
}

/// signHSGD's φ table with Student-t labels (`Stage::data_phi`): s_l², then R at the nodes.
#[inline(always)]
fn phi_table<'a>(k: &KernelConsts, inp: &Inputs<'a>) -> Option<&'a [f32]> {
    matches!(k.objective, Stage::Regression { phi_table: true, .. })
        .then(|| &inp.objective[k.objective.data_phi(k.dim)..][..PHI_WORDS])
}

/// d normals of the noise stream into `z`, then (M z)_i of every lane into `mz` (`data_normals`,
/// `data_factor_row`): M's row i from word d² + i·d, summed over j in order from 0.0.
#[inline(always)]
fn factor_times_normals<const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    z: &mut Rows,
    mz: &mut Rows,
) {
    let dim = k.dim;
    for j in 0..dim {
        z[j] = noise.variate(&inp.coef[j]);
    }
    for i in 0..dim {
        let row = &inp.objective[dim * dim + i * dim..dim * dim + (i + 1) * dim];
        let mut s = [0.0f32; LANES];
        for j in 0..dim {
            for l in 0..LANES {
                s[l] += row[j] * z[j][l];
            }
        }
        mz[i] = s;
    }
}

/// One stochastic gradient of every lane into `g` (`data_gradient`) for agent `agent`: per data
/// point the design's d normals z (a = √k z, or M z rotated), then the label's (or its
/// Student-t variate, `tlabel`); u = aᵀr − ε and g accumulates a·u; then the batch mean. `a`,
/// `z`: a row per coordinate of scratch each.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn data_gradient<const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    key: LabelKey<'_>,
    agent: u32,
    x: &Rows,
    g: &mut Rows,
    [a, z]: [&mut Rows; 2],
) {
    let (dim, w, sc) = (k.dim, inp.objective, scalars(k, inp));
    let rotated = k.objective.is_dense();
    for gi in g.iter_mut() {
        *gi = [0.0; LANES];
    }
    let batch = k.objective.batch();
    for b in 0..batch {
        let mut u = [0.0f32; LANES];
        if rotated {
            factor_times_normals(k, inp, noise, z, a);
            for i in 0..dim {
                let ci = inp.c[i];
                for l in 0..LANES {
                    u[l] += a[i][l] * (x[i][l] - ci);
                }
            }
        } else {
            for i in 0..dim {
                let z = noise.variate(&inp.coef[i]);
                let (sk, ci) = (w[i], inp.c[i]);
                for l in 0..LANES {
                    let ai = sk * z[l];
                    a[i][l] = ai;
                    u[l] += ai * (x[i][l] - ci);
                }
            }
        }
        let e = if k.tlabel {
            key.t_label::<FMA, TF>(agent * batch + b, &inp.coef[0])
        } else {
            noise.variate(&inp.coef[0])
        };
        for l in 0..LANES {
            u[l] -= sc[0] * e[l];
        }
        for i in 0..dim {
            for l in 0..LANES {
                g[i][l] += a[i][l] * u[l];
            }
        }
    }
    let inv_b = sc[2];
    for gi in g.iter_mut() {
        for l in 0..LANES {
            gi[l] *= inv_b;
        }
    }
}

/// The model's update of one lane's state slots (x, m, v) given its gradient and variate, kept
/// only where the lane is `alive`.
#[inline(always)]
fn update_lane<const M: u32, const FMA: bool>(
    state: [&mut f32; 3],
    g: f32,
    xi: f32,
    p: &[f32; SLOTS],
    tf: [f32; 2],
    gsq: f32,
    alive: bool,
) {
    let [x, m, v] = state;
    let (mut x1, mut m1, mut v1) = (*x, *m, *v);
    update::<M, FMA>(&mut x1, &mut m1, &mut v1, g, xi, p, tf, gsq);
    if alive {
        (*x, *m, *v) = (x1, m1, v1);
    }
}

/// A discrete model's step on sampled data (`data_step`): each agent's gradient from its own
/// data points, summed per coordinate (their signs for DSignSGD, their compressed vectors for
/// DCSGD, with the step's compressor words), then the update with ξ = 0.
/// `acc`, `ga`, `a`, `z`: scratch rows.
#[inline(always)]
pub(super) fn data_step<const M: u32, const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    key: LabelKey<'_>,
    tf: [f32; 2],
    gsq: f32,
    x: &mut Rows,
    mm: &mut Rows,
    vv: &mut Rows,
    scratch: [&mut Rows; 4],
    alive: &[bool; LANES],
) {
    let kernel = const { Kernel::from_id(M) };
    let [acc, ga, a, z] = scratch;
    for r in acc.iter_mut() {
        *r = [0.0; LANES];
    }
    let mut cw = (kernel == Kernel::Dcsgd).then(|| key.compressor::<FMA, TF>());
    for agent in 0..k.draws {
        data_gradient(k, inp, noise, key, agent, x, ga, [&mut *a, &mut *z]);
        if let Some(cw) = cw.as_mut() {
            compress_into(k, inp, cw, ga, acc);
            continue;
        }
        for i in 0..k.dim {
            for l in 0..LANES {
                acc[i][l] += if kernel == Kernel::Dsignsgd { sign_f32(ga[i][l]) } else { ga[i][l] };
            }
        }
    }
    if kernel == Kernel::Dcsgd {
        for i in 0..k.dim {
            let pi = &inp.p[i];
            for l in 0..LANES {
                let nx = x[i][l] - pi[dcsgd::ETA] * (acc[i][l] * pi[dcsgd::INV_AGENTS]);
                x[i][l] = if alive[l] { nx } else { x[i][l] };
            }
        }
        return;
    }
    for i in 0..k.dim {
        let pi = &inp.p[i];
        for l in 0..LANES {
            let (g, xi) = match kernel {
                Kernel::Dsignsgd => (0.0, acc[i][l]),
                Kernel::Dsgd => (acc[i][l] * pi[agents::INV_AGENTS], 0.0),
                _ => (acc[i][l], 0.0),
            };
            update_lane::<M, FMA>([&mut x[i][l], &mut mm[i][l], &mut vv[i][l]], g, xi, pi, tf, gsq, alive[l]);
        }
    }
}

/// An SDE's substep on sampled data (`data_sde_coords`), `g` = K r, s² = rᵀKr + E ε²: the SGD
/// SDE's z′ first, then its d normals z (made M z first when rotated, `mz`), and per coordinate
/// its variate s (K^{1/2}z)_i + g_i z′; signHSGD's drift φ(P) (D^{−1/2}K r)_i with φ = (2/π)/s
/// (√k_i r_i for a diagonal K; Student-t labels: s² = rᵀKr + s_l² and φ from the table) and
/// diffusion z_i (or (L z)_i); the adaptive SDEs' diagonal diffusion √v z_i with
/// v = s² K_ii + g_i², which also multiplies V's σ² slot; the compressed SDEs' SGD variate times
/// `DATA_NOISE` plus their diagonal terms from a normal z₃ after each z_i (rand-k: z₂ of every
/// coordinate drawn first). `z`, `mz`, `z2`: scratch rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn data_sde_coords<const M: u32, const FMA: bool, const TF: usize>(
    k: &KernelConsts,
    inp: &Inputs<'_>,
    noise: &mut Cursor<FMA, TF>,
    tf: [f32; 2],
    gsq: f32,
    x: &mut Rows,
    mm: &mut Rows,
    vv: &mut Rows,
    g: &Rows,
    [z_rows, mz, z2]: [&mut Rows; 3],
    alive: &[bool; LANES],
) {
    let kernel = const { Kernel::from_id(M) };
    let (dim, w, sc) = (k.dim, inp.objective, scalars(k, inp));
    let sign_limit = k.sign_limit();
    let rotated = k.objective.is_dense();
    let sgd_like = matches!(kernel, Kernel::SgdSde | Kernel::BernoulliSde | Kernel::RandkSde);
    let zbar = if kernel == Kernel::RandkSde { randk_z2(k, inp, noise, z2) } else { [0.0; LANES] };
    let zp = if sgd_like && !sign_limit { noise.variate(&inp.coef[0]) } else { [0.0; LANES] };
    let factored = rotated && sgd_like;
    if factored {
        factor_times_normals(k, inp, noise, z_rows, mz);
    }
    let mut q = [0.0f32; LANES];
    for i in 0..dim {
        for l in 0..LANES {
            q[l] += g[i][l] * (x[i][l] - inp.c[i]);
        }
    }
    let phi_table = phi_table(k, inp);
    let offset = phi_table.map_or(sc[1], |t| t[0]);
    let (mut s2, mut s, mut phi) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
    for l in 0..LANES {
        s2[l] = q[l] + offset;
        s[l] = s2[l].sqrt();
        if sign_limit {
            phi[l] = match phi_table {
                _ if s[l] <= 0.0 => 0.0,
                Some(t) => phi_tabulated(t, sc[0], s[l]),
                None => FRAC_2_PI / s[l],
            };
        }
    }
    let sigma_sq_slot = match kernel {
        Kernel::RmspropSde => rmsprop_sde::SIGMA_SQ,
        Kernel::AdamSde => adam_sde::SIGMA_SQ,
        _ => 0,
    };
    let compressed = matches!(kernel, Kernel::BernoulliSde | Kernel::RandkSde);
    for i in 0..dim {
        let z = if factored { mz[i] } else { noise.variate(&inp.coef[i]) };
        // The compressed SDEs' own normal of coordinate i, after its z_i.
        let z3 = if compressed { noise.variate(&inp.coef[i]) } else { [0.0; LANES] };
        let pi = &inp.p[i];
        for l in 0..LANES {
            let state = [&mut x[i][l], &mut mm[i][l], &mut vv[i][l]];
            // The SGD SDE's variate s (K^{1/2} z)_i + g_i z′ (the compressed SDEs scale it).
            let xi = match () {
                _ if !sgd_like || sign_limit => 0.0,
                _ if rotated => s[l] * z[l] + g[i][l] * zp[l],
                _ => s[l] * (w[i] * z[l]) + g[i][l] * zp[l],
            };
            if sign_limit {
                let drift =
                    if rotated { phi[l] * (g[i][l] * sc[3 + i]) } else { phi[l] * (w[i] * (*state[0] - inp.c[i])) };
                update_lane::<M, FMA>(state, drift, z[l], pi, tf, gsq, alive[l]);
            } else if kernel == Kernel::SgdSde {
                update_lane::<M, FMA>(state, g[i][l], xi, pi, tf, gsq, alive[l]);
            } else if compressed {
                let gi = g[i][l];
                let sb = (s2[l] * inp.h[i] + gi * gi) * sc[2];
                let x1 = if kernel == Kernel::BernoulliSde {
                    let dx = pi[bernoulli_sde::DATA_NOISE] * xi
                        + (pi[bernoulli_sde::GRAD_VAR] * (sb + gi * gi)).sqrt() * z3[l];
                    *state[0] - pi[bernoulli_sde::DT] * gi + dx
                } else {
                    let dx = pi[randk_sde::DATA_NOISE] * xi
                        + pi[randk_sde::GRAD_NOISE] * (sb.sqrt() * z3[l] + gi * (z2[i][l] - zbar[l]));
                    *state[0] - pi[randk_sde::DT] * gi + dx
                };
                if alive[l] {
                    *state[0] = x1;
                }
            } else {
                let v = s2[l] * inp.h[i] + g[i][l] * g[i][l];
                let mut p = *pi;
                p[sigma_sq_slot] *= v;
                update_lane::<M, FMA>(state, g[i][l], v.sqrt() * z[l], &p, tf, gsq, alive[l]);
            }
        }
    }
}
