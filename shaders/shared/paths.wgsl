// A path's state: where it lives in the state buffer (slot-major rows of WG words inside a
// workgroup, so neighbouring invocations touch neighbouring words), loading and storing it, and
// whether it is live. A path whose |x_i| exceeds the group's bound for some i, or turns
// non-finite, at the end of an optimizer step is frozen (no further updates) and counted with
// that step; frozen paths are left out of every moment, sample and histogram. Being frozen is a
// function of the state (out of bounds), so a segment resuming a chunk recomputes it.
// Requires the kernel's `params`, `coef`, `state`, `g_base`, `g_bound`.

// Whether path 0 of the invocation is live (`alive`; every packed path's at the end of the loop in
// pk_alive), and the divergence counts, summed over the invocation's paths: paths frozen, the sum
// of their steps, the earliest step.
var<private> alive: bool;
var<private> pk_alive: array<bool, PACK>;
var<private> d_n: f32;
var<private> d_sum: f32;
var<private> d_min: u32;
// The packed paths' final coordinates (PACK > 1, so DIM = 1), for the record: reading them back
// from the state buffer is a per-lane load on llvmpipe (benches/NOTES.md, "Lavapipe: a
// speculative SignSGD SDE kernel").
var<private> pk_x: array<f32, PACK>;

// Word of slot `slot` of coordinate i of the path at lane `lane` of workgroup wid.
fn state_index(wid: u32, slot: u32, i: u32, lane: u32) -> u32 {
    return ((wid * SLOTS + slot) * DIM + i) * WG + lane;
}

// Whether the path at `lane` exists; if so its state (initial, or the previous segment's) is loaded.
fn load_path(wid: u32, lane: u32, x: ptr<function, array<f32, DIM>>, mm: ptr<function, array<f32, DIM>>,
             vv: ptr<function, array<f32, DIM>>) -> bool {
    if (wid * WG + lane >= params.n_paths) {
        return false;
    }
    for (var i = 0u; i < DIM; i += 1u) {
        if (params.init == 1u) {
            (*x)[i] = coef[g_base + i].x0;
            (*mm)[i] = 0.0;
            (*vv)[i] = 0.0;
        } else {
            (*x)[i] = state[state_index(wid, 0u, i, lane)];
            if (SLOTS == 3u) {
                (*mm)[i] = state[state_index(wid, 1u, i, lane)];
            }
            if (SLOTS >= 2u) {
                (*vv)[i] = state[state_index(wid, SLOTS - 1u, i, lane)];
            }
        }
    }
    return true;
}

fn store_path(wid: u32, lane: u32, x: ptr<function, array<f32, DIM>>, mm: ptr<function, array<f32, DIM>>,
              vv: ptr<function, array<f32, DIM>>) {
    for (var i = 0u; i < DIM; i += 1u) {
        state[state_index(wid, 0u, i, lane)] = (*x)[i];
        if (SLOTS == 3u) {
            state[state_index(wid, 1u, i, lane)] = (*mm)[i];
        }
        if (SLOTS >= 2u) {
            state[state_index(wid, SLOTS - 1u, i, lane)] = (*vv)[i];
        }
    }
}

fn in_bounds(x: ptr<function, array<f32, DIM>>) -> bool {
    var ok = true;
    for (var i = 0u; i < DIM; i += 1u) {
        ok = ok && abs((*x)[i]) <= g_bound;
    }
    return ok;
}

// Whether a path is still live after step k: a live path out of bounds is frozen and counted.
fn still_live(x: ptr<function, array<f32, DIM>>, live: bool, k: u32) -> bool {
    if (live && !in_bounds(x)) {
        d_n += 1.0;
        d_sum += f32(k);
        d_min = min(d_min, k);
        return false;
    }
    return live;
}
