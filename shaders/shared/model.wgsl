// Objective and model updates, selected by the injected constant MODEL, one of the kernels K_*
// (src/kernel/mod.rs Kernel says which models run on which). Twin: src/model/. K_DCSGD and
// K_RANDK_SDE take steps of their own in advance.wgsl. The per-coordinate coefficients are derived
// on the host in f64 (src/model/) and read through the named accessors `<layout>_<slot>(m, i)`
// that the composer writes from src/kernel/coefs.rs, where each slot's meaning is given.

// Per-coordinate coefficients in registers when COEF_REGS (CDIM = DIM: software adapters at every
// d, hardware ones up to d = 4; src/shader.rs coef_regs), else unused (CDIM = 1) and the
// accessors below read the coef buffer.
struct ModelCoefs {
    h: array<f32, CDIM>,
    c: array<f32, CDIM>,
    p0: array<f32, CDIM>,
    p1: array<f32, CDIM>,
    p2: array<f32, CDIM>,
    p3: array<f32, CDIM>,
    p4: array<f32, CDIM>,
    p5: array<f32, CDIM>,
    p6: array<f32, CDIM>,
    p7: array<f32, CDIM>,
    p8: array<f32, CDIM>,
    // Histogram bounds of each coordinate (lo, 1 / bin width).
    hl: array<f32, CDIM>,
    hw: array<f32, CDIM>,
}

fn cf_h(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).h[i];
    }
    return coef[g_base + i].h;
}

fn cf_c(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).c[i];
    }
    return coef[g_base + i].c;
}

fn cf_p0(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p0[i];
    }
    return coef[g_base + i].p0;
}

fn cf_p1(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p1[i];
    }
    return coef[g_base + i].p1;
}

fn cf_p2(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p2[i];
    }
    return coef[g_base + i].p2;
}

fn cf_p3(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p3[i];
    }
    return coef[g_base + i].p3;
}

fn cf_p4(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p4[i];
    }
    return coef[g_base + i].p4;
}

fn cf_p5(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p5[i];
    }
    return coef[g_base + i].p5;
}

fn cf_p6(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p6[i];
    }
    return coef[g_base + i].p6;
}

fn cf_p7(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p7[i];
    }
    return coef[g_base + i].p7;
}

fn cf_p8(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p8[i];
    }
    return coef[g_base + i].p8;
}

fn cf_hist_lo(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).hl[i];
    }
    return coef[g_base + i].hist_lo;
}

fn cf_hist_inv_w(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).hw[i];
    }
    return coef[g_base + i].hist_inv_w;
}

// The bias corrections iota = 1 - e^{-a n} of substep number n (1-based) for the rates
// (a, b) = (g_tf_a, g_tf_b), by blocks of four substeps: with n = n_b + j, n_b = 1 mod 4 and j < 4,
// iota(n) = (1 - e^{-a j}) + e^{-a j} iota(n_b), a sum of two nonnegative terms (no cancellation).
// g_tc and g_tq hold (1 - e^{-a j}, 1 - e^{-b j}) and (e^{-a j}, e^{-b j}) for j = 0..3 (set once per
// invocation by time_blocks_init; constant indices only, which keep them in registers on llvmpipe), so
// a loop that runs a block's substeps in order computes two exponentials per block (src/shader.rs
// fast1_source). Twin of model::adaptive::TimeBlocks.
fn time_blocks_init() {
    g_tc[0] = vec2<f32>(0.0, 0.0);
    g_tq[0] = vec2<f32>(1.0, 1.0);
    g_tc[1] = vec2<f32>(one_minus_exp_neg(g_tf_a), one_minus_exp_neg(g_tf_b));
    g_tq[1] = vec2<f32>(exp_f32(-g_tf_a), exp_f32(-g_tf_b));
    g_tc[2] = vec2<f32>(one_minus_exp_neg(g_tf_a * 2.0), one_minus_exp_neg(g_tf_b * 2.0));
    g_tq[2] = vec2<f32>(exp_f32(-(g_tf_a * 2.0)), exp_f32(-(g_tf_b * 2.0)));
    g_tc[3] = vec2<f32>(one_minus_exp_neg(g_tf_a * 3.0), one_minus_exp_neg(g_tf_b * 3.0));
    g_tq[3] = vec2<f32>(exp_f32(-(g_tf_a * 3.0)), exp_f32(-(g_tf_b * 3.0)));
}

// (iota_a, iota_b) at the first substep n_b of a block.
fn block_iotas(nb: f32) -> vec2<f32> {
    return vec2<f32>(one_minus_exp_neg(g_tf_a * nb), one_minus_exp_neg(g_tf_b * nb));
}

// Time factors of substep j of the block whose first substep has iotas ib, given (c, q) = (g_tc[j],
// g_tq[j]): optimizer (1/b1, 1/b2) with b = 1 - beta^(k+1); SDE (sqrt(iota2)/iota1, sqrt(iota2));
// (0, 0) for kernels without bias corrections.
fn block_time_factors(ib: vec2<f32>, c: vec2<f32>, q: vec2<f32>) -> vec2<f32> {
    let i = c + q * ib;
    if (MODEL == K_ADAM) {
        return vec2<f32>(1.0 / i.x, 1.0 / i.y);
    } else if (MODEL == K_ADAM_SDE) {
        let s2 = sqrt(i.y);
        return vec2<f32>(s2 / i.x, s2);
    }
    return vec2<f32>(0.0, 0.0);
}

// Time factors of the substep about to run after k optimizer steps and j substeps.
fn time_factors(k: u32, j: u32) -> vec2<f32> {
    if (!TIME_FACTORS) {
        return vec2<f32>(0.0, 0.0);
    }
    let jb = (k * u_refine + j) & 3u;
    let c = select(select(g_tc[0], g_tc[1], jb == 1u), select(g_tc[2], g_tc[3], jb == 3u), jb >= 2u);
    let q = select(select(g_tq[0], g_tq[1], jb == 1u), select(g_tq[2], g_tq[3], jb == 3u), jb >= 2u);
    return block_time_factors(block_iotas(substep_number(k, j) - f32(jb)), c, q);
}

// Quadratic objective f(x) = 1/2 sum h_i (x_i - c_i)^2.
fn gradient(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, g: ptr<function, array<f32, DIM>>) {
    for (var i = 0u; i < DIM; i += 1u) {
        (*g)[i] = cf_h(m, i) * ((*x)[i] - cf_c(m, i));
    }
}

// Gradient of coordinate 0 alone (the d = 1 fast path).
fn grad1(x0: f32, m: ptr<function, ModelCoefs>) -> f32 {
    return cf_h(m, 0) * (x0 - cf_c(m, 0));
}

fn loss_of(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) -> f32 {
    var l = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        let y = (*x)[i] - cf_c(m, i);
        l += cf_h(m, i) * y * y;
    }
    return 0.5 * l;
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
                // The speculative kernel (src/shader.rs speculable): the small-argument branch
                // alone, and a flag where it would not do.
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
        let v = (*vs)[i] + rmsprop_sde_rho_dt(m, i) * (u_gsq * g * g + rmsprop_sde_sigma_sq(m, i) - (*vs)[i]);
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
        let v = (*vs)[i] + adam_sde_rho2_dt(m, i) * (u_gsq * g * g + adam_sde_sigma_sq(m, i) - (*vs)[i]);
        (*vs)[i] = v;
        let pp = sqrt(max(v, 0.0)) + adam_sde_eps(m, i) * tf.y;
        let mo = (*ms)[i];
        (*xs)[i] = x - (adam_sde_dt(m, i) * tf.x * (mo + adam_sde_drift_correction(m, i) * (g - mo))
            + tf.x * adam_sde_noise_companion(m, i) * xi) / pp - adam_sde_decay_dt(m, i) * x;
        (*ms)[i] = mo + adam_sde_rho1_dt(m, i) * (g - mo) + adam_sde_m_noise(m, i) * xi;
    }
}
