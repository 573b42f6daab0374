// Objective and model updates, selected by the injected constant MODEL. Twin: src/model/.
// Kernel ids (src/spec.rs ModelKind::id): 0 sgd-sde, 1 sgd, 2 signsgd-sde, 3 signsgd, 4 rmsprop,
// 5 adam, 6 rmsprop-sde (P1 and P7), 7 adam-sde (P1 and P7), 8 dsgd (and dcsgd with the identity),
// 9 dsignsgd, 10 dcsgd, 11 dcsgd-sde with bernoulli, 12 dcsgd-sde with rand-k (the distributed SDEs
// dsgd-sde, dsignsgd-sde and the identity dcsgd-sde run on kernels 0 and 2 with their noise scaled by
// 1/sqrt(N)); see src/model/mod.rs kernel_id. Kernels 10 and 12 have their own steps in advance.wgsl. Per-coordinate coefficients
// p0..p8 are derived on the host in f64 (src/model/); their meaning per kernel is documented
// at each branch and in src/model/adaptive.rs.

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
    if (MODEL == 5u) {
        return vec2<f32>(1.0 / i.x, 1.0 / i.y);
    } else if (MODEL == 7u) {
        let s2 = sqrt(i.y);
        return vec2<f32>(s2 / i.x, s2);
    }
    return vec2<f32>(0.0, 0.0);
}

// Time factors of the substep about to run after k optimizer steps and j substeps.
fn time_factors(k: u32, j: u32) -> vec2<f32> {
    if (MODEL != 5u && MODEL != 7u) {
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

// Adds one agent's draw to a coordinate's aggregate (multi-draw kernels 8 and 9): the normal
// itself (dsgd) or the sign of the agent's noisy gradient (dsignsgd).
fn accumulate(acc: f32, g: f32, xi: f32, p1: f32) -> f32 {
    if (MODEL == 8u) {
        return acc + xi;
    }
    return acc + sign_f32(g + p1 * xi);
}

// One coordinate of one agent's compressed vector (kernel 10; src/model/compressed.rs): v the agent's
// noisy gradient coordinate, w its compressor word, (c3, c4) the compressor's coefficients, kept the
// running rand-k count, left = d - i, norm = |v| (qsgd).
fn compress(v: f32, w: u32, c3: f32, c4: f32, kept: ptr<function, u32>, left: u32, norm: f32) -> f32 {
    let u = w >> 8u;
    let uf = f32(i32(u)) * (1.0 / 16777216.0);
    if (COMP == 1u) {
        return select(0.0, v * c4, u < u32(c3));
    }
    if (COMP == 2u) {
        let need = u32(c3) - *kept;
        let keep = need >= left || u * left < (min(need, 255u) << 24u);
        *kept += select(0u, 1u, keep);
        return select(0.0, v * c4, keep);
    }
    if (COMP == 3u) {
        let r = select(0.0, c3 * abs(v) / norm, norm > 0.0);
        let l = floor(r);
        let zeta = select(l, l + 1.0, uf < r - l);
        return sign_f32(v) * (zeta * (norm * c4));
    }
    if (COMP == 4u) {
        let a = abs(v);
        let lo = bitcast<f32>(bitcast<u32>(a) & 0x7F800000u);
        let up = uf < (a - lo) / lo;
        let r = select(lo, lo + lo, up);
        return select(v, sign_f32(v) * r, lo > 0.0);
    }
    return v;
}

// The SignSGD SDE's Euler-Maruyama step of one coordinate given e = (drift factor, diffusion factor);
// p0 = dt, p1 = sqrt(eta dt) (twin of model::signsgd::sde_update_with).
fn sign_sde_update(x: f32, e: vec2<f32>, xi: f32, p0: f32, p1: f32) -> f32 {
    return x - p0 * e.x + p1 * e.y * xi;
}

// One update of coordinate i's state (x, and the EMAs m, v where the model has them) given its
// gradient g, a standard normal xi and the substep's time factors tf.
fn update(i: u32, g: f32, xi: f32, tf: vec2<f32>, xs: ptr<function, array<f32, DIM>>,
          ms: ptr<function, array<f32, DIM>>, vs: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    let x = (*xs)[i];
    let p0 = cf_p0(m, i);
    let p1 = cf_p1(m, i);
    if (MODEL == 0u) {
        // sgd-sde: EM step of dX = -grad f dt + sqrt(eta) sigma dW; p0 = dt, p1 = sqrt(eta dt) sigma.
        (*xs)[i] = x - p0 * g + p1 * xi;
    } else if (MODEL == 1u) {
        // sgd: x - eta (g + sigma xi); p0 = eta, p1 = sigma.
        (*xs)[i] = x - p0 * (g + p1 * xi);
    } else if (MODEL == 2u) {
        // signsgd-sde: dX = -erf(g/(sqrt2 sigma)) dt + sqrt(eta) sqrt(1 - erf^2) dW;
        // p0 = dt, p1 = sqrt(eta dt), p2 = 1/(sqrt2 sigma). Student-t noise (TCDF): 2F_nu(g/s) - 1 for erf,
        // p2 = 1/s.
        // e = (drift factor, diffusion factor sqrt(1 - drift^2)).
        var e: vec2<f32>;
        if (TCDF) {
            let t = t_sign_moments(g * cf_p2(m, i), coef[g_base + i].nu, coef[g_base + i].sqrt_nu, coef[g_base + i].tab);
            e = vec2<f32>(t.x, sqrt(t.y));
        } else {
            let a = g * cf_p2(m, i);
            if (SPEC) {
                // The speculative kernel (src/shader.rs speculable): the small-argument branch
                // alone, and a flag where it would not do.
                spec_fail = spec_fail || !(abs(a) < 0.5);
                e = erf_small_and_diffusion(a);
            } else {
                e = erf_and_diffusion(a);
            }
        }
        (*xs)[i] = sign_sde_update(x, e, xi, p0, p1);
    } else if (MODEL == 3u) {
        // signsgd: x - eta sign(g + sigma xi); p0 = eta, p1 = sigma.
        (*xs)[i] = x - p0 * sign_f32(g + p1 * xi);
    } else if (MODEL == 4u) {
        // rmsprop: p0 = eta, p1 = sigma, p2 = 1 - beta, p3 = eps, p4 = eta theta.
        let gg = g + p1 * xi;
        let v = (*vs)[i] + cf_p2(m, i) * (gg * gg - (*vs)[i]);
        (*vs)[i] = v;
        (*xs)[i] = x - p0 * gg / (sqrt(max(v, 0.0)) + cf_p3(m, i)) - cf_p4(m, i) * x;
    } else if (MODEL == 5u) {
        // adam: p0 = eta, p1 = sigma, p2 = 1 - beta1, p3 = 1 - beta2, p4 = eps, p5 = eta theta.
        let gg = g + p1 * xi;
        let mm = (*ms)[i] + cf_p2(m, i) * (gg - (*ms)[i]);
        let v = (*vs)[i] + cf_p3(m, i) * (gg * gg - (*vs)[i]);
        (*ms)[i] = mm;
        (*vs)[i] = v;
        (*xs)[i] = x - p0 * (mm * tf.x) / (sqrt(max(v, 0.0) * tf.y) + cf_p4(m, i)) - cf_p5(m, i) * x;
    } else if (MODEL == 6u) {
        // rmsprop-sde, V first: p0 = dt, p1 = sqrt(eta dt) sigma, p2 = rho dt, p3 = eps,
        // p4 = theta dt, p5 = sigma^2; u_gsq = params.gsq = 1 (P1) or 0 (P7).
        let v = (*vs)[i] + cf_p2(m, i) * (u_gsq * g * g + cf_p5(m, i) - (*vs)[i]);
        (*vs)[i] = v;
        let pp = sqrt(max(v, 0.0)) + cf_p3(m, i);
        (*xs)[i] = x - (p0 * g + p1 * xi) / pp - cf_p4(m, i) * x;
    } else if (MODEL == 8u) {
        // dsgd: xi is the sum of the N agents' normals; p0 = eta, p1 = sigma, p2 = 1/N.
        (*xs)[i] = x - p0 * (g + p1 * (xi * cf_p2(m, i)));
    } else if (MODEL == 9u) {
        // dsignsgd: xi is the sum of the N agents' signs; p0 = eta, p2 = 1/N.
        (*xs)[i] = x - p0 * (xi * cf_p2(m, i));
    } else if (MODEL == 11u) {
        // dcsgd-sde, bernoulli: diagonal diffusion; p0 = dt, p1 = (eta dt/N)(1 + omega) sigma^2,
        // p2 = (eta dt/N) omega.
        (*xs)[i] = x - p0 * g + sqrt(p1 + cf_p2(m, i) * (g * g)) * xi;
    } else {
        // adam-sde, V first, then X with M_n, then M: p0 = dt, p1 = rho1 sqrt(eta dt) sigma,
        // p2 = rho1 dt, p3 = rho2 dt, p4 = eps, p5 = theta dt, p6 = sigma^2,
        // p7 = eta rho1 (drift correction), p8 = eta rho1 sqrt(eta dt) sigma (noise companion).
        let v = (*vs)[i] + cf_p3(m, i) * (u_gsq * g * g + cf_p6(m, i) - (*vs)[i]);
        (*vs)[i] = v;
        let pp = sqrt(max(v, 0.0)) + cf_p4(m, i) * tf.y;
        let mo = (*ms)[i];
        (*xs)[i] = x - (p0 * tf.x * (mo + cf_p7(m, i) * (g - mo)) + tf.x * cf_p8(m, i) * xi) / pp - cf_p5(m, i) * x;
        (*ms)[i] = mo + cf_p2(m, i) * (g - mo) + p1 * xi;
    }
}
