// optsde.tdist_eval: the Student-t functions of shared/tdist.wgsl on host-given inputs, for the
// bit-identity tests of the two backends (tests/it/student_t.rs). Invocation i evaluates
// t_sign_moments(zs[i]) if i < n_z and student_t(words[i]) if i < n_w. Host side:
// src/gpu/eval.rs; twins: noise::t_sign_moments, noise::student_t.
#import shared/math.wgsl
#import shared/rng.wgsl
#import shared/tdist.wgsl

struct TdistParams {
    nu: f32,
    sqrt_nu: f32,
    two_over_nu: f32,
    tab: f32,
    n_z: u32,
    n_w: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> params: TdistParams;
@group(0) @binding(1) var<storage, read> tcdf: array<f32>;
@group(0) @binding(2) var<storage, read> zs: array<f32>;
@group(0) @binding(3) var<storage, read> words: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> moments: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> samples: array<f32>;

@compute @workgroup_size(64)
fn tdist_eval(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i < params.n_z) {
        moments[i] = t_sign_moments(zs[i], params.nu, params.sqrt_nu, params.tab);
    }
    if (i < params.n_w) {
        samples[i] = student_t(words[i].x, words[i].y, words[i].z, params.nu, params.two_over_nu);
    }
}
