// The schedule of a segment: substeps make optimizer steps (u_refine each), and some steps are
// sampled (the first at params.stat_start, then every u_every). The step, substep and sample
// counters are the same for every path of a dispatch. Requires: paths.wgsl, and the kernel's
// `params`, `u_refine`, `u_every`.

// 1-based number of the substep about to run (k optimizer steps and j substeps done), as the
// clock of the bias corrections; f32 suffices, the factors saturate long before it rounds.
fn substep_number(k: u32, j: u32) -> f32 {
    return f32(k) * f32(u_refine) + f32(j) + 1.0;
}

// Bookkeeping after one substep: after `refine` substeps an optimizer step is complete, a path
// out of bounds is frozen, and at a sampled step the state is kept in `snap` (with whether the
// path is live) and `had` set: the caller ends its stretch and samples the snapshot once, outside
// the per-step loop (advance.wgsl, "Shaped for SIMD drivers").
fn end_substep(j: ptr<function, u32>, k: ptr<function, u32>, next: ptr<function, u32>, x: ptr<function, array<f32, DIM>>,
               snap: ptr<function, array<f32, DIM>>, snap_live: ptr<function, bool>, had: ptr<function, bool>) {
    *j += 1u;
    if (*j == u_refine) {
        *j = 0u;
        *k += 1u;
        alive = still_live(x, alive, *k);
        if (*k == *next) {
            *next = next_sample(*next);
            *snap = *x;
            *snap_live = alive;
            *had = true;
        }
    }
}

// First sampled step > k (u32::MAX when none is left).
fn first_sample_after(k: u32) -> u32 {
    if (params.stat_start == 0xFFFFFFFFu) {
        return 0xFFFFFFFFu;
    }
    if (k < params.stat_start) {
        return params.stat_start;
    }
    let last = k - (k - params.stat_start) % params.stat_every;
    return next_within(last, params.stat_every);
}

// a + b, saturating at u32::MAX (no sample is then reached).
fn next_within(a: u32, b: u32) -> u32 {
    return select(a + b, 0xFFFFFFFFu, a + b < a);
}

fn next_sample(k: u32) -> u32 {
    return next_within(k, u_every);
}

fn is_sample(k: u32) -> bool {
    return k >= params.stat_start && (k - params.stat_start) % params.stat_every == 0u;
}
