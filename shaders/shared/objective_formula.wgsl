// The objective stage of a loss written as a formula: the wrappers the kernel calls around the
// formula's functions, which the composer appends to the kernel (src/objective/formula,
// Formula::wgsl). The parameters are the group's words of the objective buffer. Twin:
// src/cpu/objective.rs. Requires: shared/math.wgsl and shared/formula_math.wgsl, paths.wgsl
// (stored_loss), the kernel's `objective`, `o_base` and `g_zero`.

// Parameter word k of the group (the layout of Formula::pack_params).
fn obj_param(k: u32) -> f32 {
    return objective[o_base + k];
}

// A run-time zero for fx_keep (Group::zero, which the host sets to 0).
fn fx_opaque_zero() -> u32 {
    return g_zero;
}

fn gradient(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, g: ptr<function, array<f32, DIM>>) {
    formula_gradient(x, g);
}

// Gradient of coordinate 0 alone (the d = 1 fast path).
fn grad1(x0: f32, m: ptr<function, ModelCoefs>) -> f32 {
    var x: array<f32, DIM>;
    var g: array<f32, DIM>;
    x[0] = x0;
    formula_gradient(&x, &g);
    return g[0];
}

fn loss_of(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) -> f32 {
    return formula_loss(x);
}

// loss_of for a path with d = 1 at x.
fn loss1(x0: f32, m: ptr<function, ModelCoefs>) -> f32 {
    var x: array<f32, DIM>;
    x[0] = x0;
    return formula_loss(&x);
}

// loss_of for the path at `lane` from its stored state.
fn stored_loss(wid: u32, lane: u32, m: ptr<function, ModelCoefs>) -> f32 {
    var x: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        x[i] = state[state_index(wid, 0u, i, lane)];
    }
    return formula_loss(&x);
}
