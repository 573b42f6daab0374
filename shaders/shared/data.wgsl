// The data stage of a `linear-regression` objective (docs/regression.md): data a ~ N(0, K),
// labels y = a^T x* + eps (eps = sigma_eps z from the path's noise stream, or a Student-t label
// from its own stream), the rest drawn from the path's noise stream. The discrete
// models take the sampled gradient (1/B) sum_b a_b (a_b^T x - y_b) (`data_step`); the SDEs take
// the state-dependent diffusion of Gaussian design, and signHSGD its drift (`data_sde_coords`). The
// population gradient K r and excess risk are the quadratic's with Hessian K and c = x*
// (objective.wgsl with h = k for a diagonal K; objective_dense.wgsl for a rotated one,
// DATA_ROTATED). The group's words in the objective buffer from o_base: sqrt(k_i) for i < DIM
// (diagonal K), or K and the noise factor M (rotated: DIM x DIM each, rows; a = M z, or signHSGD's
// Cholesky factor of K_sigma); then from DATA_SCALARS the label scale (sigma_eps, or the Student-t
// scale s), E eps^2 and 1/B; rotated, then K_ii^(-1/2) for i < DIM. Twin: src/cpu/data.rs.
// Requires: objective.wgsl or objective_dense.wgsl, cursor.wgsl (noise_next, comp_next, comp_fetch
// and the c_* state, p_lo, p_hi), model.wgsl (update, compress_into, randk_z2), rng.wgsl, tdist.wgsl, and the kernel's
// `objective`, `o_base`, `g_zero`, `params`.

fn data_sqrt_k(i: u32) -> f32 {
    return objective[o_base + i];
}

// Scalar n of the group: 0 the label scale, 1 E eps^2, 2 1/B.
fn data_scalar(n: u32) -> f32 {
    return objective[o_base + DATA_SCALARS + n];
}

// K_ii^(-1/2) of a rotated K (signHSGD's preconditioner D^(-1/2)).
fn data_inv_sqrt_kii(i: u32) -> f32 {
    return objective[o_base + DATA_SCALARS + 3u + i];
}

// (M z)_i for a rotated K: row i of the noise factor, summed over j in order from 0.0.
fn data_factor_row(i: u32, z: ptr<function, array<f32, DIM>>) -> f32 {
    var s = 0.0;
    for (var j = 0u; j < DIM; j += 1u) {
        s += objective[o_base + DIM * DIM + i * DIM + j] * (*z)[j];
    }
    return s;
}

// d normals of the noise stream (coordinates 0 .. d - 1) into z.
fn data_normals(z: ptr<function, array<f32, DIM>>) {
    for (var j = 0u; j < DIM; j += 1u) {
        (*z)[j] = noise_next(j);
    }
}

// Label j of optimizer step k with Student-t noise (TLABEL): STREAM_LABEL's block (k, j) of the
// path, its words made a t_nu variate as the noise stream's sampler does (nu from coordinate 0).
fn data_t_label(k: u32, j: u32) -> f32 {
    let w = threefry4x32(vec4<u32>(k, j, p_lo, p_hi), vec4<u32>(params.seed_lo, params.seed_hi, STREAM_LABEL, 0u));
    return student_t(w.x, w.y, w.z, coef[g_base].nu, coef[g_base].two_over_nu);
}

// One stochastic gradient of agent `agent` at step k into g: per data point the design's d
// normals z (a = sqrt(k) z, or M z rotated), then the label's normal (or, TLABEL, its Student-t variate); u = a^T r - eps, and g
// accumulates a u; then the batch mean.
fn data_gradient(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, g: ptr<function, array<f32, DIM>>,
                 k: u32, agent: u32) {
    var a: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        (*g)[i] = 0.0;
    }
    for (var b = 0u; b < DATA_BATCH; b += 1u) {
        var u = 0.0;
        if (DATA_ROTATED) {
            var z: array<f32, DIM>;
            data_normals(&z);
            for (var i = 0u; i < DIM; i += 1u) {
                let ai = data_factor_row(i, &z);
                a[i] = ai;
                u += ai * ((*x)[i] - cf_c(m, i));
            }
        } else {
            for (var i = 0u; i < DIM; i += 1u) {
                let ai = data_sqrt_k(i) * noise_next(i);
                a[i] = ai;
                u += ai * ((*x)[i] - cf_c(m, i));
            }
        }
        var e: f32;
        if (TLABEL) {
            e = data_t_label(k, agent * DATA_BATCH + b);
        } else {
            e = noise_next(0u);
        }
        u -= data_scalar(0u) * e;
        for (var i = 0u; i < DIM; i += 1u) {
            (*g)[i] += a[i] * u;
        }
    }
    let inv_b = data_scalar(2u);
    for (var i = 0u; i < DIM; i += 1u) {
        (*g)[i] = (*g)[i] * inv_b;
    }
}

// A discrete model's step on sampled data: each agent's gradient from its own data points
// (agents in order), summed per coordinate (their signs, K_DSIGNSGD; their compressed vectors,
// K_DCSGD), then the update with no added noise (xi = 0): the sample is the gradient's noise.
// DCSGD's compressor words come from the compressor stream keyed by the step: blocks (b, k) of
// the path, read in order over agents and coordinates, so a step's words do not depend on how
// many noise variates came before (`data_comp_start`).
fn data_step(x: ptr<function, array<f32, DIM>>, ms: ptr<function, array<f32, DIM>>, vs: ptr<function, array<f32, DIM>>,
             m: ptr<function, ModelCoefs>, tf: vec2<f32>, k: u32) {
    var acc: array<f32, DIM>;
    var ga: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        acc[i] = 0.0;
    }
    if (MODEL == K_DCSGD) {
        data_comp_start(k);
    }
    for (var a = 0u; a < DRAWS; a += 1u) {
        data_gradient(x, m, &ga, k, a);
        if (MODEL == K_DCSGD) {
            compress_into(&ga, &acc, m);
        } else {
            for (var i = 0u; i < DIM; i += 1u) {
                if (MODEL == K_DSIGNSGD) {
                    acc[i] += sign_f32(ga[i]);
                } else {
                    acc[i] += ga[i];
                }
            }
        }
    }
    for (var i = 0u; i < DIM; i += 1u) {
        if (MODEL == K_DCSGD) {
            (*x)[i] = (*x)[i] - dcsgd_eta(m, i) * (acc[i] * dcsgd_inv_agents(m, i));
        } else if (MODEL == K_DSIGNSGD) {
            update(i, 0.0, acc[i], tf, x, ms, vs, m);
        } else if (MODEL == K_DSGD) {
            update(i, acc[i] * agents_inv_agents(m, i), 0.0, tf, x, ms, vs, m);
        } else {
            update(i, acc[i], 0.0, tf, x, ms, vs, m);
        }
    }
}

// The compressor stream of optimizer step k on sampled data: its first block (0, k) of the path.
fn data_comp_start(k: u32) {
    c_blo = 0u;
    c_bhi = k;
    c_lane = 0u;
    comp_fetch();
}

// The adaptive SDEs' sigma^2 in V's drift (`update`) on sampled data: the slot's 1/B times
// diag Sigma(r)_ii, set by `data_sde_coords` before each coordinate's update; unused elsewhere.
var<private> data_sigma_sq: f32 = 0.0;

// `v` unchanged, but opaque to the shader compiler: an XOR of its bits with the group's run-time
// zero (as fx_keep in formula_math.wgsl, src/objective/formula/emit.rs says why).
fn data_keep(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ g_zero);
}

// 2/pi, signHSGD's drift factor phi(P) = 2/(pi sqrt(2P + E eps^2)).
const DATA_TWO_OVER_PI: f32 = 0.63661977236758134;

// signHSGD's phi(P) with Student-t labels of scale s_l, from the group's table at DATA_PHI
// (s_l^2, then R at w_n = n / DATA_PHI_INTERVALS; src/regression/phi_table.rs):
// phi = (2/pi) R(w) / s with s = sqrt(2P + s_l^2) > 0, w = s_l / s, R linear between nodes.
fn data_phi_tabulated(s: f32) -> f32 {
    let top = f32(DATA_PHI_INTERVALS);
    let u = min((data_scalar(0u) / s) * top, top);
    let n = min(u32(u), DATA_PHI_INTERVALS - 1u);
    let f = u - f32(n);
    let r0 = objective[o_base + DATA_PHI + 1u + n];
    let r1 = objective[o_base + DATA_PHI + 2u + n];
    return (DATA_TWO_OVER_PI * (r0 + f * (r1 - r0))) / s;
}

// An SDE's substep on sampled data, g = K r, s^2 = r^T K r + E eps^2 (= 2P + E eps^2):
// - the SGD SDE: the diffusion sqrt(eta/B) Sigma(r)^{1/2} with Sigma(r) = s^2 K + K r r^T K applied
//   as s (K^{1/2} z)_i + (K r)_i z' (z' first, then z_0 .. z_{d-1}; K^{1/2} z is sqrt(k_i) z_i, or
//   M z rotated); the coefficient sqrt(eta dt / B) (over sqrt N for dsgd-sde) is the model's
//   noise slot;
// - signHSGD (SIGN_LIMIT): the drift phi(P) (D^{-1/2} K r)_i, phi(P) = (2/pi)/s (sqrt(k_i) r_i for
//   a diagonal K; Student-t labels: s = sqrt(2P + s_l^2) and phi from the table, DATA_PHI_TABLE),
//   and the diffusion z_i, or (L z)_i rotated with L L^T = K_sigma (phi = 0 where s = 0: r = 0
//   without label noise);
// - the compressed SDEs (ω > 0; docs/regression.md "Compressed SDEs"): the SGD SDE's variate
//   times data_noise, plus the compressor's diagonal terms from one more normal z3_i per
//   coordinate: bernoulli sqrt(grad_var (S_ii + g_i^2)) z3_i, rand-k
//   grad_noise (sqrt(S_ii) z3_i + g_i (z2_i - mean z2)) with z2 drawn first; S_ii = Sigma(r)_ii / B;
// - the adaptive SDEs: the diagonal diffusion sqrt(diag Sigma(r)_ii) z_i, diag Sigma(r)_ii =
//   s^2 k_i + g_i^2, which also multiplies V's sigma^2 slot (`data_sigma_sq`).
fn data_sde_coords(g: ptr<function, array<f32, DIM>>, tf: vec2<f32>, x: ptr<function, array<f32, DIM>>,
                   ms: ptr<function, array<f32, DIM>>, vs: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    // The kernels whose diffusion contains the SGD SDE's (the compressed SDEs add their own terms).
    let sgd_like = MODEL == K_SGD_SDE || MODEL == K_BERNOULLI_SDE || MODEL == K_RANDK_SDE;
    // rand-k: z2 for every coordinate, and its mean, first.
    var z2: array<f32, DIM>;
    var zbar = 0.0;
    if (MODEL == K_RANDK_SDE) {
        zbar = randk_z2(&z2);
    }
    var zp = 0.0;
    if (sgd_like && !SIGN_LIMIT) {
        zp = noise_next(0u);
    }
    // Rotated, the SGD SDE's and signHSGD's d normals z become M z first.
    var mz: array<f32, DIM>;
    if (DATA_ROTATED && sgd_like) {
        var z: array<f32, DIM>;
        data_normals(&z);
        for (var i = 0u; i < DIM; i += 1u) {
            mz[i] = data_factor_row(i, &z);
        }
    }
    var q = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        q += (*g)[i] * ((*x)[i] - cf_c(m, i));
    }
    var s2: f32;
    if (DATA_PHI_TABLE) {
        s2 = q + objective[o_base + DATA_PHI];
    } else {
        s2 = q + data_scalar(1u);
    }
    let s = sqrt(s2);
    var phi = 0.0;
    if (SIGN_LIMIT) {
        if (DATA_PHI_TABLE) {
            if (s > 0.0) {
                phi = data_phi_tabulated(s);
            }
        } else {
            phi = select(0.0, DATA_TWO_OVER_PI / s, s > 0.0);
        }
    }
    for (var i = 0u; i < DIM; i += 1u) {
        var z: f32;
        if (DATA_ROTATED && sgd_like) {
            z = mz[i];
        } else {
            z = noise_next(i);
        }
        // The SGD SDE's variate s (K^{1/2} z)_i + g_i z' (the compressed SDEs scale it).
        var xi = 0.0;
        if (sgd_like && !SIGN_LIMIT) {
            if (DATA_ROTATED) {
                xi = s * z + (*g)[i] * zp;
            } else {
                xi = s * (data_sqrt_k(i) * z) + (*g)[i] * zp;
            }
        }
        if (SIGN_LIMIT) {
            var drift: f32;
            if (DATA_ROTATED) {
                drift = phi * ((*g)[i] * data_inv_sqrt_kii(i));
            } else {
                drift = phi * (data_sqrt_k(i) * ((*x)[i] - cf_c(m, i)));
            }
            update(i, drift, z, tf, x, ms, vs, m);
        } else if (MODEL == K_SGD_SDE) {
            update(i, (*g)[i], xi, tf, x, ms, vs, m);
        } else if (MODEL == K_BERNOULLI_SDE || MODEL == K_RANDK_SDE) {
            let gi = (*g)[i];
            // Sigma(r)_ii / B, then the compressor's own diagonal terms with their own normal. The
            // partial results pass through data_keep so that Mesa's NIR cannot regroup them across
            // these lines (g_i^2 enters twice): the CPU twin rounds each as written.
            let sb = data_keep((s2 * cf_h(m, i) + gi * gi) * data_scalar(2u));
            let z3 = noise_next(i);
            var dx: f32;
            if (MODEL == K_BERNOULLI_SDE) {
                let var3 = data_keep(bernoulli_sde_grad_var(m, i) * (sb + gi * gi));
                dx = data_keep(bernoulli_sde_data_noise(m, i) * data_keep(xi) + sqrt(var3) * z3);
                (*x)[i] = (*x)[i] - bernoulli_sde_dt(m, i) * gi + dx;
            } else {
                let own = data_keep(sqrt(sb) * z3 + gi * (z2[i] - zbar));
                dx = data_keep(randk_sde_data_noise(m, i) * data_keep(xi) + randk_sde_grad_noise(m, i) * own);
                (*x)[i] = (*x)[i] - randk_sde_dt(m, i) * gi + dx;
            }
        } else {
            let v = s2 * cf_h(m, i) + (*g)[i] * (*g)[i];
            // Opaque to the shader compiler (data_keep): else Mesa's NIR factors g_i^2 out of V's
            // drift, and the sums round differently from the CPU twin's.
            if (MODEL == K_RMSPROP_SDE) {
                data_sigma_sq = data_keep(rmsprop_sde_sigma_sq(m, i) * v);
            } else {
                data_sigma_sq = data_keep(adam_sde_sigma_sq(m, i) * v);
            }
            update(i, (*g)[i], sqrt(v) * z, tf, x, ms, vs, m);
        }
    }
}
