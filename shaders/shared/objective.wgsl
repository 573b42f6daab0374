// The objective, the quadratic f(x) = 1/2 sum h_i (x_i - c_i)^2: its gradient and its loss.
// Twin: src/model/. Requires: coefs.wgsl, paths.wgsl (stored_loss).

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

// loss_of for a path with d = 1 at x (the same operations).
fn loss1(x: f32, m: ptr<function, ModelCoefs>) -> f32 {
    var l = 0.0;
    let y = x - cf_c(m, 0u);
    l += cf_h(m, 0u) * y * y;
    return 0.5 * l;
}

// loss_of for the path at `lane` from its stored state (read back: see the record in advance.wgsl).
fn stored_loss(wid: u32, lane: u32, m: ptr<function, ModelCoefs>) -> f32 {
    var l = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        let y = state[state_index(wid, 0u, i, lane)] - cf_c(m, i);
        l += cf_h(m, i) * y * y;
    }
    return 0.5 * l;
}
