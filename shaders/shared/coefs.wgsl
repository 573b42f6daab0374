// The per-coordinate coefficients of the invocation's group: derived on the host in f64
// (src/model/) and read through cf_h, cf_c, cf_hist_lo, cf_hist_inv_w and the named accessors
// `<layout>_<slot>(m, i)` that the composer writes from src/kernel/coefs.rs (where each slot's
// meaning is given), which return cf_p0 .. cf_p8. Requires the kernel's `coef`, `g_base`.

// Per-coordinate coefficients in registers when COEF_REGS (src/shader/policy.rs coef_regs), else
// unused (CDIM = 1) and the accessors below read the coef buffer.
const CDIM: u32 = select(1u, DIM, COEF_REGS);

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
