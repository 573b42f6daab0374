// Adam's bias corrections (K_ADAM, K_ADAM_SDE; TIME_FACTORS): the time factors of a substep.
// Requires: math.wgsl, schedule.wgsl, and the kernel's `g_tf_a`, `g_tf_b`, `u_refine`.

// The block constants (time_blocks_init).
var<private> g_tc: array<vec2<f32>, 4>;
var<private> g_tq: array<vec2<f32>, 4>;

// The bias corrections iota = 1 - e^{-a n} of substep number n (1-based) for the rates
// (a, b) = (g_tf_a, g_tf_b), by blocks of four substeps: with n = n_b + j, n_b = 1 mod 4 and j < 4,
// iota(n) = (1 - e^{-a j}) + e^{-a j} iota(n_b), a sum of two nonnegative terms (no cancellation).
// g_tc and g_tq hold (1 - e^{-a j}, 1 - e^{-b j}) and (e^{-a j}, e^{-b j}) for j = 0..3 (set once per
// invocation by time_blocks_init; constant indices only, which keep them in registers on llvmpipe), so
// a loop that runs a block's substeps in order computes two exponentials per block
// (advance/fast1.wgsl). Twin of model::adaptive::TimeBlocks.
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
