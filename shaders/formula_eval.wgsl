// optsde.formula_eval: a compiled formula's loss, gradient and HVP at host-given points, for
// the bit-identity tests of the two backends (tests/it/formula.rs). The composer writes
// `const DIM: u32` before this text and the formula's functions (objective::formula::Formula::wgsl)
// after it. Invocation i reads x = points[i*DIM ..], v = points[(n + i)*DIM ..] and writes
// loss, gradient and HVP to out[i*(1 + 2*DIM) ..]. Host side: src/gpu/formula_eval.rs; twins:
// Formula::loss_lanes, gradient_lanes, hvp_lanes.
#import shared/math.wgsl
#import shared/formula_math.wgsl

struct FormulaEvalParams {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: FormulaEvalParams;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> points: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn obj_param(k: u32) -> f32 {
    return prm[k];
}

// A run-time zero (the host writes 0 to pad0), for fx_keep.
fn fx_opaque_zero() -> u32 {
    return params.pad0;
}

@compute @workgroup_size(64)
fn formula_eval(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.n) {
        return;
    }
    var x: array<f32, DIM>;
    var v: array<f32, DIM>;
    for (var j = 0u; j < DIM; j++) {
        x[j] = points[i * DIM + j];
        v[j] = points[(params.n + i) * DIM + j];
    }
    var g: array<f32, DIM>;
    var hv: array<f32, DIM>;
    let base = i * (1u + 2u * DIM);
    out[base] = formula_loss(&x);
    formula_gradient(&x, &g);
    formula_hvp(&x, &v, &hv);
    for (var j = 0u; j < DIM; j++) {
        out[base + 1u + j] = g[j];
        out[base + 1u + DIM + j] = hv[j];
    }
}
