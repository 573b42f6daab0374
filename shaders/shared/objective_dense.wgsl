// The objective stage of a dense quadratic f(x) = 1/2 (x - c)^T H (x - c): H row by row in the
// objective buffer from the group's `o_base`, c in the coefficients. O(d^2) per gradient; each
// row's sum runs over j in order from 0.0. Twin: src/cpu/objective.rs. Requires: coefs.wgsl,
// paths.wgsl (stored_loss), the kernel's `objective` and `o_base`.

// (H y)_i for y = x - c.
fn dense_row(i: u32, y: ptr<function, array<f32, DIM>>) -> f32 {
    var s = 0.0;
    for (var j = 0u; j < DIM; j += 1u) {
        s += objective[o_base + i * DIM + j] * (*y)[j];
    }
    return s;
}

fn gradient(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, g: ptr<function, array<f32, DIM>>) {
    var y: array<f32, DIM>;
    for (var j = 0u; j < DIM; j += 1u) {
        y[j] = (*x)[j] - cf_c(m, j);
    }
    for (var i = 0u; i < DIM; i += 1u) {
        (*g)[i] = dense_row(i, &y);
    }
}

// Gradient of coordinate 0 alone (the d = 1 fast path): the same operations as `gradient`.
fn grad1(x0: f32, m: ptr<function, ModelCoefs>) -> f32 {
    return 0.0 + objective[o_base] * (x0 - cf_c(m, 0u));
}

fn loss_of(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) -> f32 {
    var y: array<f32, DIM>;
    for (var j = 0u; j < DIM; j += 1u) {
        y[j] = (*x)[j] - cf_c(m, j);
    }
    var l = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        l += y[i] * dense_row(i, &y);
    }
    return 0.5 * l;
}

// loss_of for a path with d = 1 at x (the same operations).
fn loss1(x: f32, m: ptr<function, ModelCoefs>) -> f32 {
    let y = x - cf_c(m, 0u);
    var l = 0.0;
    l += y * (0.0 + objective[o_base] * y);
    return 0.5 * l;
}

// loss_of for the path at `lane` from its stored state.
fn stored_loss(wid: u32, lane: u32, m: ptr<function, ModelCoefs>) -> f32 {
    var x: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        x[i] = state[state_index(wid, 0u, i, lane)];
    }
    return loss_of(&x, m);
}
