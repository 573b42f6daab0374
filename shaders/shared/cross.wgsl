// The stationary covariance's pair sums (CROSS > 0, src/kernel/mod.rs KernelConsts::cross_pairs):
// every sample adds (x_i − c_i)(x_j − c_j) for each pair i < j in row order ((0,1), (0,2), …,
// (1,2), …) to this invocation's s12; at the end of the dispatch the workgroup's sums are added
// CROSS_TILE pairs at a time, each pair by one invocation in lane order (twin: src/cpu/reduce.rs
// reduce_cross). Requires: coefs.wgsl, the kernel's `partials`, INV, DIM.

const CROSS_LEN: u32 = select(CROSS, 1u, CROSS == 0u);
const CROSS_TILE_WORDS: u32 = select(1u, CROSS_TILE * INV, CROSS > 0u);

var<private> s12: array<f32, CROSS_LEN>;
var<workgroup> red_t: array<f32, CROSS_TILE_WORDS>;

fn cross_clear() {
    for (var p = 0u; p < CROSS; p += 1u) {
        s12[p] = 0.0;
    }
}

// The pair products of one sampled state (a finite state of a live path).
fn cross_add(x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    var y: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        y[i] = (*x)[i] - cf_c(m, i);
    }
    var p = 0u;
    for (var i = 0u; i + 1u < DIM; i += 1u) {
        let yi = y[i];
        for (var j = i + 1u; j < DIM; j += 1u) {
            s12[p] += yi * y[j];
            p += 1u;
        }
    }
}

// The workgroup's pair sums into partials[first ..]; called by every invocation (barriers).
fn cross_reduce(lid: u32, first: u32) {
    for (var t0 = 0u; t0 < CROSS; t0 += CROSS_TILE) {
        for (var t = 0u; t < CROSS_TILE; t += 1u) {
            red_t[t * INV + lid] = s12[min(t0 + t, CROSS_LEN - 1u)];
        }
        workgroupBarrier();
        if (lid < CROSS_TILE && t0 + lid < CROSS) {
            var acc = 0.0;
            for (var l = 0u; l < INV; l += 1u) {
                acc += red_t[lid * INV + l];
            }
            partials[first + t0 + lid] = acc;
        }
        workgroupBarrier();
    }
}
