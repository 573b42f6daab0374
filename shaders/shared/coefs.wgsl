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
#for s in 0..COEF_SLOTS
    p{s}: array<f32, CDIM>,
#endfor
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

// Slot s of coordinate i: cf_p0 .. cf_p8 (crate::kernel::coefs::SLOTS of them).
#for s in 0..COEF_SLOTS
fn cf_p{s}(m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    if (COEF_REGS) {
        return (*m).p{s}[i];
    }
    return coef[g_base + i].p{s};
}

#endfor
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
