// Objective and model updates, selected by the injected constant MODEL. Twin: src/model/.
// Model ids: 0 sgd-sde, 1 sgd, 2 signsgd-sde, 3 signsgd (src/spec.rs ModelKind::id).
// Per-coordinate coefficients p0, p1, p2 are derived on the host in f64 (src/model/mod.rs).

struct ModelCoefs {
    h: array<f32, DIM>,
    c: array<f32, DIM>,
    p0: array<f32, DIM>,
    p1: array<f32, DIM>,
    p2: array<f32, DIM>,
}

// Quadratic objective f(x) = 1/2 sum h_i (x_i - c_i)^2.
fn gradient(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, g: ptr<function, array<f32, DIM>>) {
    for (var i = 0u; i < DIM; i += 1u) {
        (*g)[i] = (*m).h[i] * ((*x)[i] - (*m).c[i]);
    }
}

// Gradient of coordinate 0 alone (the d = 1 fast path).
fn grad1(x0: f32, m: ptr<function, ModelCoefs>) -> f32 {
    return (*m).h[0] * (x0 - (*m).c[0]);
}

fn loss_of(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) -> f32 {
    var l = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        let y = (*x)[i] - (*m).c[i];
        l += (*m).h[i] * y * y;
    }
    return 0.5 * l;
}

// One update of coordinate i given its gradient g and a standard normal xi.
fn update(x: f32, g: f32, xi: f32, m: ptr<function, ModelCoefs>, i: u32) -> f32 {
    let p0 = (*m).p0[i];
    let p1 = (*m).p1[i];
    if (MODEL == 0u) {
        // sgd-sde: EM step of dX = -grad f dt + sqrt(eta) sigma dW; p0 = dt, p1 = sqrt(eta dt) sigma.
        return x - p0 * g + p1 * xi;
    } else if (MODEL == 1u) {
        // sgd: x - eta (g + sigma xi); p0 = eta, p1 = sigma.
        return x - p0 * (g + p1 * xi);
    } else if (MODEL == 2u) {
        // signsgd-sde: dX = -erf(g/(sqrt2 sigma)) dt + sqrt(eta) sqrt(1 - erf^2) dW;
        // p0 = dt, p1 = sqrt(eta dt), p2 = 1/(sqrt2 sigma).
        let e = erf_and_one_minus_sq(g * (*m).p2[i]);
        return x - p0 * e.x + p1 * sqrt(e.y) * xi;
    } else {
        // signsgd: x - eta sign(g + sigma xi); p0 = eta, p1 = sigma.
        return x - p0 * sign_f32(g + p1 * xi);
    }
}
