// Workgroup reductions of the per-invocation partials (one invocation per INV lane): each
// leaves its result in element 0 of the red_* arrays, with a barrier before every level.

var<workgroup> red_n: array<f32, INV>;
var<workgroup> red_m: array<f32, INV>;
var<workgroup> red_s: array<f32, INV>;

// Sum of red_m over the workgroup (tree, stride halving); result valid in red_m[0].
fn reduce_sum(lid: u32) {
    for (var stride = INV / 2u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (lid < stride) {
            red_m[lid] = red_m[lid] + red_m[lid + stride];
        }
    }
    workgroupBarrier();
}

// Chan et al. merge of (count, mean, M2) over the workgroup; result in red_*[0].
fn reduce_moments(lid: u32) {
    for (var stride = INV / 2u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (lid < stride) {
            let na = red_n[lid];
            let nb = red_n[lid + stride];
            let n = na + nb;
            let delta = red_m[lid + stride] - red_m[lid];
            let w = select(0.0, nb / n, n > 0.0);
            red_m[lid] = red_m[lid] + delta * w;
            red_s[lid] = red_s[lid] + red_s[lid + stride] + delta * delta * na * w;
            red_n[lid] = n;
        }
    }
    workgroupBarrier();
}

// Lexicographic minimum of (red_n, red_m) = (hi, lo) halves of a step over the workgroup.
fn reduce_min_step(lid: u32) {
    for (var stride = INV / 2u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (lid < stride) {
            let bh = red_n[lid + stride];
            let bl = red_m[lid + stride];
            let take = bh < red_n[lid] || (bh == red_n[lid] && bl < red_m[lid]);
            if (take) {
                red_n[lid] = bh;
                red_m[lid] = bl;
            }
        }
    }
    workgroupBarrier();
}
