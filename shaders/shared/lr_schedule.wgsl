// The learning-rate schedule s(tau) of the kernel's SCHEDULE (SCHED_*, crate::experiment), twin
// of src/model/schedule.rs: tau = k + j / refine at substep j of optimizer step k; the group's
// words g_sched (five reals) and g_milestones (crate::experiment::Schedule::words).
// Requires: math.wgsl, data.wgsl (data_keep), and the kernel's `g_sched`, `g_milestones`,
// `g_zero`, `u_refine`, `lr_g`.

fn lr_factor(k: u32, j: u32) -> f32 {
    let tau = f32(k) + f32(j) / f32(u_refine);
    if (SCHEDULE == SCHED_POLY) {
        return exp_f32(g_sched[1] * ln_unit(1.0 / fma(g_sched[0], tau, 1.0)));
    } else if (SCHEDULE == SCHED_INVERSE_SQRT) {
        return 1.0 / sqrt(tau + 1.0);
    } else if (SCHEDULE == SCHED_STEP) {
        var s = 1.0;
        for (var i = 0u; i < 4u; i += 1u) {
            if (k >= g_milestones[i]) {
                s = s * g_sched[0];
            }
        }
        return s;
    } else if (SCHEDULE == SCHED_COSINE) {
        if (tau < g_sched[1]) {
            return (tau + 1.0) * g_sched[0];
        }
        let u = (tau - g_sched[1]) / g_sched[2];
        let c = sincos_quarter(u32(u * 2147483648.0)).x;
        return fma(g_sched[4], 1.0 + c, g_sched[3]);
    }
    return 1.0;
}

// The gradient-norm schedules' s for the norm n (twin of model::schedule::norm_factor).
fn lr_norm_factor(n: f32) -> f32 {
    if (SCHEDULE == SCHED_NORMALIZED) {
        return 1.0 / (g_sched[0] + n);
    }
    return select(1.0, g_sched[0] / n, n > g_sched[0]);
}

// x after a substep under a gradient-norm schedule: the norm of lr_g (NORM_TRUE: the substep's
// gradient of f) or of the increment times 1/eta (the sampled gradient), per coordinate
// (NORM_COORD) or of the whole vector, in coordinate order.
fn lr_scaled_by_norm(x: ptr<function, array<f32, DIM>>, before: ptr<function, array<f32, DIM>>) {
    if (NORM_COORD) {
        for (var i = 0u; i < DIM; i += 1u) {
            let d = (*x)[i] - (*before)[i];
            let v = select(d * g_sched[1], lr_g[i], NORM_TRUE);
            (*x)[i] = fma(lr_norm_factor(abs(v)), d, (*before)[i]);
        }
    } else {
        var sum = 0.0;
        for (var i = 0u; i < DIM; i += 1u) {
            let v = select(((*x)[i] - (*before)[i]) * g_sched[1], lr_g[i], NORM_TRUE);
            sum = fma(v, v, sum);
        }
        lr_scaled(x, before, lr_norm_factor(sqrt(sum)));
    }
}

// before = x, opaque to the shader compiler (data_keep): the update writes x from the same
// values, and a compiler that saw both could fold (x_old - delta) - x_old into -delta under its
// inexact-math rules (NIR does, for DCSGD's step), which the CPU twin does not.
fn lr_keep_state(x: ptr<function, array<f32, DIM>>, before: ptr<function, array<f32, DIM>>) {
    for (var i = 0u; i < DIM; i += 1u) {
        (*before)[i] = data_keep((*x)[i]);
    }
}

// x after a substep that moved it from `before`: the increment scaled by s (twin of
// model::schedule::scaled).
fn lr_scaled(x: ptr<function, array<f32, DIM>>, before: ptr<function, array<f32, DIM>>, s: f32) {
    for (var i = 0u; i < DIM; i += 1u) {
        (*x)[i] = fma(s, (*x)[i] - (*before)[i], (*before)[i]);
    }
}
