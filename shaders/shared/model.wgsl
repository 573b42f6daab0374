// The model updates, selected by the injected constant MODEL, one of the kernels K_*
// (src/kernel/mod.rs Kernel says which models run on which): one coordinate's update given its
// gradient and noise (`update`), the agents' aggregate, the compressors, and the steps of their
// own that K_DCSGD and K_RANDK_SDE take. Twin: src/model/. Requires: math.wgsl, tdist.wgsl,
// coefs.wgsl (the named accessors), cursor.wgsl (noise_next, comp_next), data.wgsl (data_sigma_sq), and the kernel's
// `coef`, `g_base`, `u_gsq`, `spec_fail`.

// One agent's variate added to a coordinate's aggregate: the variate itself for the one-draw
// kernels, else `accumulate`.
fn agent_draw(acc: f32, g: f32, z: f32, scale: f32) -> f32 {
    if (!AGGREGATES) {
        return z;
    }
    return accumulate(acc, g, z, scale);
}

// Adds one agent's draw to a coordinate's aggregate (the kernels that aggregate agents): the
// normal itself (dsgd) or the sign of the agent's noisy gradient (dsignsgd); `scale` is the agent's
// noise scale.
fn accumulate(acc: f32, g: f32, xi: f32, scale: f32) -> f32 {
    if (MODEL == K_DSGD) {
        return acc + xi;
    }
    return acc + sign_f32(g + scale * xi);
}

// One coordinate of one agent's compressed vector (K_DCSGD; src/model/compressed.rs): v the agent's
// noisy gradient coordinate, w its compressor word, (c3, c4) the compressor's parameter and scale, kept
// the running rand-k count, left = d - i, norm = |v| (qsgd).
fn compress(v: f32, w: u32, c3: f32, c4: f32, kept: ptr<function, u32>, left: u32, norm: f32) -> f32 {
    let u = w >> 8u;
    let uf = f32(i32(u)) * (1.0 / 16777216.0);
    if (COMP == COMP_BERNOULLI) {
        return select(0.0, v * c4, u < u32(c3));
    }
    if (COMP == COMP_RANDK) {
        let need = u32(c3) - *kept;
        let keep = need >= left || u * left < (min(need, 255u) << 24u);
        *kept += select(0u, 1u, keep);
        return select(0.0, v * c4, keep);
    }
    if (COMP == COMP_QSGD) {
        let r = select(0.0, c3 * abs(v) / norm, norm > 0.0);
        let l = floor(r);
        let zeta = select(l, l + 1.0, uf < r - l);
        return sign_f32(v) * (zeta * (norm * c4));
    }
    if (COMP == COMP_NATURAL) {
        let a = abs(v);
        let lo = bitcast<f32>(bitcast<u32>(a) & 0x7F800000u);
        let up = uf < (a - lo) / lo;
        let r = select(lo, lo + lo, up);
        return select(v, sign_f32(v) * r, lo > 0.0);
    }
    return v;
}

// The SignSGD SDE's Euler-Maruyama step of one coordinate given e = (drift factor, diffusion factor)
// (twin of model::signsgd::sde_update_with).
fn sign_sde_update(x: f32, e: vec2<f32>, xi: f32, dt: f32, noise: f32) -> f32 {
    return x - dt * e.x + noise * e.y * xi;
}

// One update of coordinate i's state (x, and the EMAs m, v where the model has them) given its
// gradient g, a standard normal xi and the substep's time factors tf.
fn update(i: u32, g: f32, xi: f32, tf: vec2<f32>, xs: ptr<function, array<f32, DIM>>,
          ms: ptr<function, array<f32, DIM>>, vs: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    let x = (*xs)[i];
    if (MODEL == K_SGD_SDE) {
        // EM step of dX = -grad f dt + sqrt(eta) sigma dW.
        (*xs)[i] = x - sgd_sde_dt(m, i) * g + sgd_sde_noise(m, i) * xi;
    } else if (MODEL == K_SGD) {
        (*xs)[i] = x - discrete_eta(m, i) * (g + discrete_scale(m, i) * xi);
    } else if (MODEL == K_SIGNSGD_SDE) {
        // dX = -erf(g/(sqrt2 sigma)) dt + sqrt(eta) sqrt(1 - erf^2) dW; with Student-t noise (TCDF)
        // 2F_nu(g/s) - 1 for erf. e = (drift factor, diffusion factor sqrt(1 - drift^2)).
        var e: vec2<f32>;
        if (TCDF) {
            let t = t_sign_moments(g * signsgd_sde_inv_scale(m, i), coef[g_base + i].nu, coef[g_base + i].sqrt_nu,
                                   coef[g_base + i].tab);
            e = vec2<f32>(t.x, sqrt(t.y));
        } else {
            let a = g * signsgd_sde_inv_scale(m, i);
            if (SPEC) {
                // The speculative kernel (src/shader/policy.rs speculable): the small-argument
                // branch alone, and a flag where it would not do.
                spec_fail = spec_fail || !(abs(a) < 0.5);
                e = erf_small_and_diffusion(a);
            } else {
                e = erf_and_diffusion(a);
            }
        }
        (*xs)[i] = sign_sde_update(x, e, xi, signsgd_sde_dt(m, i), signsgd_sde_noise(m, i));
    } else if (MODEL == K_SIGNSGD) {
        (*xs)[i] = x - discrete_eta(m, i) * sign_f32(g + discrete_scale(m, i) * xi);
    } else if (MODEL == K_RMSPROP) {
        let gg = g + rmsprop_scale(m, i) * xi;
        let v = (*vs)[i] + rmsprop_one_minus_beta(m, i) * (gg * gg - (*vs)[i]);
        (*vs)[i] = v;
        (*xs)[i] = x - rmsprop_eta(m, i) * gg / (sqrt(max(v, 0.0)) + rmsprop_eps(m, i)) - rmsprop_eta_decay(m, i) * x;
    } else if (MODEL == K_ADAM) {
        let gg = g + adam_scale(m, i) * xi;
        let mm = (*ms)[i] + adam_one_minus_beta1(m, i) * (gg - (*ms)[i]);
        let v = (*vs)[i] + adam_one_minus_beta2(m, i) * (gg * gg - (*vs)[i]);
        (*ms)[i] = mm;
        (*vs)[i] = v;
        (*xs)[i] = x - adam_eta(m, i) * (mm * tf.x) / (sqrt(max(v, 0.0) * tf.y) + adam_eps(m, i)) - adam_eta_decay(m, i) * x;
    } else if (MODEL == K_RMSPROP_SDE) {
        // V first; u_gsq = params.gsq = 1 (P1) or 0 (P7).
        // On sampled data sigma^2 is state-dependent: data_sigma_sq (data.wgsl).
        let s2 = select(rmsprop_sde_sigma_sq(m, i), data_sigma_sq, DATA);
        let v = (*vs)[i] + rmsprop_sde_rho_dt(m, i) * (u_gsq * g * g + s2 - (*vs)[i]);
        (*vs)[i] = v;
        let pp = sqrt(max(v, 0.0)) + rmsprop_sde_eps(m, i);
        (*xs)[i] = x - (rmsprop_sde_dt(m, i) * g + rmsprop_sde_noise(m, i) * xi) / pp - rmsprop_sde_decay_dt(m, i) * x;
    } else if (MODEL == K_DSGD) {
        // xi is the sum of the N agents' normals.
        (*xs)[i] = x - agents_eta(m, i) * (g + agents_scale(m, i) * (xi * agents_inv_agents(m, i)));
    } else if (MODEL == K_DSIGNSGD) {
        // xi is the sum of the N agents' signs.
        (*xs)[i] = x - agents_eta(m, i) * (xi * agents_inv_agents(m, i));
    } else if (MODEL == K_BERNOULLI_SDE) {
        // A diagonal diffusion.
        (*xs)[i] = x - bernoulli_sde_dt(m, i) * g + sqrt(bernoulli_sde_base_var(m, i) + bernoulli_sde_grad_var(m, i) * (g * g)) * xi;
    } else {
        // K_ADAM_SDE: V first, then X with M_n, then M.
        let s2 = select(adam_sde_sigma_sq(m, i), data_sigma_sq, DATA);
        let v = (*vs)[i] + adam_sde_rho2_dt(m, i) * (u_gsq * g * g + s2 - (*vs)[i]);
        (*vs)[i] = v;
        let pp = sqrt(max(v, 0.0)) + adam_sde_eps(m, i) * tf.y;
        let mo = (*ms)[i];
        (*xs)[i] = x - (adam_sde_dt(m, i) * tf.x * (mo + adam_sde_drift_correction(m, i) * (g - mo))
            + tf.x * adam_sde_noise_companion(m, i) * xi) / pp - adam_sde_decay_dt(m, i) * x;
        (*ms)[i] = mo + adam_sde_rho1_dt(m, i) * (g - mo) + adam_sde_m_noise(m, i) * xi;
    }
}

// One agent's vector va compressed with the compressor stream's next DIM words (in coordinate
// order), added to acc; QSGD's norm first (twin: cpu::step::compress_into).
fn compress_into(va: ptr<function, array<f32, DIM>>, acc: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    var norm = 0.0;
    if (COMP == COMP_QSGD) {
        for (var i = 0u; i < DIM; i += 1u) {
            norm += (*va)[i] * (*va)[i];
        }
        norm = sqrt(norm);
    }
    var kept = 0u;
    for (var i = 0u; i < DIM; i += 1u) {
        let w = comp_next();
        (*acc)[i] += compress((*va)[i], w, dcsgd_comp_param(m, i), dcsgd_comp_scale(m, i), &kept, DIM - i, norm);
    }
}

// DCSGD (K_DCSGD): agents outside, coordinates inside, so both streams are read in order; each agent's
// noisy gradient is compressed with its own words and the server averages. Twin: src/cpu/.
fn dcsgd_step(g: ptr<function, array<f32, DIM>>, x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    var acc: array<f32, DIM>;
    var va: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        acc[i] = 0.0;
    }
    for (var a = 0u; a < DRAWS; a += 1u) {
        for (var i = 0u; i < DIM; i += 1u) {
            va[i] = (*g)[i] + dcsgd_scale(m, i) * noise_next(i);
        }
        compress_into(&va, &acc, m);
    }
    for (var i = 0u; i < DIM; i += 1u) {
        (*x)[i] = (*x)[i] - dcsgd_eta(m, i) * (acc[i] * dcsgd_inv_agents(m, i));
    }
}

// The rand-k SDE's z2: d normals of the noise stream into z2; returns their mean (twin:
// cpu::step::randk_z2).
fn randk_z2(z2: ptr<function, array<f32, DIM>>) -> f32 {
    var sum = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        let z = noise_next(i);
        (*z2)[i] = z;
        sum += z;
    }
    return sum / f32(DIM);
}

// The rand-k DCSGD SDE (K_RANDK_SDE): z2 for every coordinate and its mean, then z1 and the update
// (the O(d) sampler of docs/compressed.md).
fn randk_sde_step(g: ptr<function, array<f32, DIM>>, x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    var z2: array<f32, DIM>;
    let zbar = randk_z2(&z2);
    for (var i = 0u; i < DIM; i += 1u) {
        let z1 = noise_next(i);
        let gi = (*g)[i];
        (*x)[i] = (*x)[i] - randk_sde_dt(m, i) * gi + randk_sde_noise(m, i) * z1 + randk_sde_grad_noise(m, i) * gi * (z2[i] - zbar);
    }
}
