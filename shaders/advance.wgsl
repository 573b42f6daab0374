// optsde.advance: move every path of a chunk from optimizer step k_begin to k_end with its state
// in registers, sample the stationary statistics and histograms on the way, and reduce the
// per-workgroup partials at the end. Twin: src/cpu/advance.rs (same name, bindings, order).
//
// Injected constants (see src/shader.rs): DIM, SLOTS, DRAWS, MODEL (the kernel id), COMP, TNOISE, TCDF,
// PER_BLOCK, PB_SHIFT, BINS, WG, RNG_ROUNDS, LOCAL_HIST_WORDS, USE_LOCAL_HIST, STREAM_NOISE, STREAM_COMPRESS,
// COEF_REGS, CDIM, FAST4 (substeps take whole random blocks: KernelConsts::whole_blocks), PACK (paths per
// invocation), INV = WG / PACK (invocations per workgroup), SPEC (speculative: src/shader.rs speculable) and
// PRIV_HIST (the histogram counted per invocation: src/shader.rs private_hist_for). The composer also writes
// `fast4_coords` and `fast1_run` (the d = 1 loop for PACK paths at once; src/shader.rs fast1_source).
//
// Packing: a workgroup always holds the WG paths of one batch (one partials record, one state block); its
// invocation lid advances the paths at lanes lid, INV + lid, ..., (PACK - 1) INV + lid. PACK > 1 only on
// the d = 1 loop (src/shader.rs pack_for): a SIMD driver that runs each instruction over a group of
// invocations (llvmpipe) then has PACK independent dependency chains to interleave instead of one.
//
// Divergence: a path whose |x_i| exceeds params.div_bound for some i, or turns non-finite, at the end of
// an optimizer step is frozen (no further updates) and counted with that step; frozen paths are left
// out of every moment, sample and histogram. Being frozen is a function of the state (out of bounds), so
// a segment resuming a chunk recomputes it.
#import shared/math.wgsl
#import shared/rng.wgsl
#import shared/tdist.wgsl
#import shared/layout.wgsl
#import shared/model.wgsl

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> coef: array<Coef>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;
// Student-t CDF tables of the sign SDEs (see shared/tdist.wgsl); one placeholder word otherwise.
@group(0) @binding(5) var<storage, read> tcdf: array<f32>;
// Per-group scalars (one group per sweep point; see src/layout.rs Group).
@group(0) @binding(6) var<storage, read> groups: array<Group>;

const NQ: u32 = DIM + 1u;
const HIST_STRIDE: u32 = BINS + 2u;
const PARTIAL_WORDS: u32 = 4u * DIM + 9u;

// Per-invocation random-stream cursors: the global path index (path 0 of the invocation), the noise stream (block, next variate
// in it, its words and normals) and the compressor stream (K_DCSGD). Variate m of a stream is
// variate m % PER_BLOCK of block m / PER_BLOCK. Twin: `Cursor` in src/cpu/advance.rs.
var<private> p_lo: u32;
var<private> p_hi: u32;
// This invocation's parameter group and its first coefficient.
var<private> grp: u32;
var<private> g_base: u32;
// The group's scalars used every step, read from storage once per invocation.
var<private> g_bound: f32;
var<private> g_tf_a: f32;
var<private> g_tf_b: f32;
// The time factors' block constants (shared/model.wgsl time_blocks_init).
var<private> g_tc: array<vec2<f32>, 4>;
var<private> g_tq: array<vec2<f32>, 4>;
var<private> g_loss_lo: f32;
var<private> g_loss_inv_w: f32;
// Uniform parameters used every step, copied once: llvmpipe loads a uniform inside the step loop
// lane by lane (a bounds-checked gather) on every use.
var<private> u_refine: u32;
var<private> u_every: u32;
var<private> u_gsq: f32;
var<private> n_blo: u32;
var<private> n_bhi: u32;
var<private> n_lane: u32;
var<private> n_words: vec4<u32>;
var<private> n_z: vec4<f32>;
var<private> c_blo: u32;
var<private> c_bhi: u32;
var<private> c_lane: u32;
var<private> c_words: vec4<u32>;
// Divergence bookkeeping: whether path 0 is live (`alive`; every packed path's at the end of the loop in
// pk_alive), and the counts, summed over the invocation's paths.
var<private> alive: bool;
var<private> pk_alive: array<bool, PACK>;
// The packed paths' final coordinates (PACK > 1, so DIM = 1), for the record: llvmpipe reads a
// storage buffer at a per-invocation index one lane at a time, so reading them back from the
// state buffer cost about 1% of a 1000-step run (measured).
var<private> pk_x: array<f32, PACK>;
// A speculative dispatch (SPEC) met a path its kernel cannot advance exactly.
var<private> spec_fail: bool;
var<private> d_n: f32;
var<private> d_sum: f32;
var<private> d_min: u32;

fn noise_fetch() {
    n_words = noise_words(vec2<u32>(p_lo, p_hi));
    if (!TNOISE) {
        n_z = normals4(n_words);
    }
}

// The next noise variate for coordinate i: a normal, or a Student-t variate with coordinate i's nu.
fn noise_next(i: u32) -> f32 {
    if (n_lane == PER_BLOCK) {
        next_noise_block();
        n_lane = 0u;
    }
    let j = n_lane;
    n_lane += 1u;
    if (TNOISE) {
        // One variate per block (PER_BLOCK = 1): 48-bit radius from x, y; angle from z.
        return student_t(n_words.x, n_words.y, n_words.z, coef[g_base + i].nu, coef[g_base + i].two_over_nu);
    }
    return select(select(n_z.x, n_z.y, j == 1u), select(n_z.z, n_z.w, j == 3u), j >= 2u);
}

// Move the noise cursor to the next block and fetch it.
fn next_noise_block() {
    n_blo += 1u;
    n_bhi += select(0u, 1u, n_blo == 0u);
    noise_fetch();
}

// One agent's variate added to a coordinate's aggregate: the variate itself for the one-draw
// kernels, else `accumulate`.
fn agent_draw(acc: f32, g: f32, z: f32, scale: f32) -> f32 {
    if (!AGGREGATES) {
        return z;
    }
    return accumulate(acc, g, z, scale);
}

// One substep's noise and updates in the FAST4 loop, as loops: four coordinates per block
// (draws = 1), or four agents per block (draws a multiple of 4). src/shader.rs composes
// `fast4_coords`: these same calls written out with constant indices when d x draws is small
// enough (llvmpipe neither unrolls a loop body this large nor knows that a loop index is the
// same in every lane, so each dynamic index into a private array costs a lane-by-lane access;
// a fetch inside the loop would run at every coordinate), else a call of this function.
fn fast4_coords_loop(g: ptr<function, array<f32, DIM>>, tf: vec2<f32>, x: ptr<function, array<f32, DIM>>,
                     mm: ptr<function, array<f32, DIM>>, vv: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    if (DRAWS == 1u) {
        for (var b = 0u; b < DIM; b += 4u) {
            update(b, (*g)[b], agent_draw(0.0, (*g)[b], n_z.x, agents_scale(m, b)), tf, x, mm, vv, m);
            update(b + 1u, (*g)[b + 1u], agent_draw(0.0, (*g)[b + 1u], n_z.y, agents_scale(m, b + 1u)), tf, x, mm, vv, m);
            update(b + 2u, (*g)[b + 2u], agent_draw(0.0, (*g)[b + 2u], n_z.z, agents_scale(m, b + 2u)), tf, x, mm, vv, m);
            update(b + 3u, (*g)[b + 3u], agent_draw(0.0, (*g)[b + 3u], n_z.w, agents_scale(m, b + 3u)), tf, x, mm, vv, m);
            next_noise_block();
        }
    } else {
        for (var i = 0u; i < DIM; i += 1u) {
            var xi = 0.0;
            for (var a = 0u; a < DRAWS; a += 4u) {
                xi = agent_draw(xi, (*g)[i], n_z.x, agents_scale(m, i));
                xi = agent_draw(xi, (*g)[i], n_z.y, agents_scale(m, i));
                xi = agent_draw(xi, (*g)[i], n_z.z, agents_scale(m, i));
                xi = agent_draw(xi, (*g)[i], n_z.w, agents_scale(m, i));
                next_noise_block();
            }
            update(i, (*g)[i], xi, tf, x, mm, vv, m);
        }
    }
}

// The next word of the compressor stream.
fn comp_next() -> u32 {
    if (c_lane == 4u) {
        c_blo += 1u;
        c_bhi += select(0u, 1u, c_blo == 0u);
        c_words = threefry4x32(vec4<u32>(c_blo, c_bhi, p_lo, p_hi), vec4<u32>(params.seed_lo, params.seed_hi, STREAM_COMPRESS, 0u));
        c_lane = 0u;
    }
    let j = c_lane;
    c_lane += 1u;
    return select(select(c_words.x, c_words.y, j == 1u), select(c_words.z, c_words.w, j == 3u), j >= 2u);
}

fn in_bounds(x: ptr<function, array<f32, DIM>>) -> bool {
    var ok = true;
    for (var i = 0u; i < DIM; i += 1u) {
        ok = ok && abs((*x)[i]) <= g_bound;
    }
    return ok;
}

// DCSGD (K_DCSGD): agents outside, coordinates inside, so both streams are read in order; each agent's
// noisy gradient is compressed with its own words and the server averages. Twin: src/cpu/advance.rs.
fn dcsgd_step(g: ptr<function, array<f32, DIM>>, x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    var acc: array<f32, DIM>;
    var va: array<f32, DIM>;
    for (var i = 0u; i < DIM; i += 1u) {
        acc[i] = 0.0;
    }
    for (var a = 0u; a < DRAWS; a += 1u) {
        for (var i = 0u; i < DIM; i += 1u) {
            va[i] = (*g)[i] + dcsgd_scale(m, i) * noise_next(i);
        }
        var norm = 0.0;
        if (COMP == COMP_QSGD) {
            for (var i = 0u; i < DIM; i += 1u) {
                norm += va[i] * va[i];
            }
            norm = sqrt(norm);
        }
        var kept = 0u;
        for (var i = 0u; i < DIM; i += 1u) {
            let w = comp_next();
            acc[i] += compress(va[i], w, dcsgd_comp_param(m, i), dcsgd_comp_scale(m, i), &kept, DIM - i, norm);
        }
    }
    for (var i = 0u; i < DIM; i += 1u) {
        (*x)[i] = (*x)[i] - dcsgd_eta(m, i) * (acc[i] * dcsgd_inv_agents(m, i));
    }
}

// The rand-k DCSGD SDE (K_RANDK_SDE): z2 for every coordinate and its mean, then z1 and the update
// (spec 6.3's O(d) sampler).
fn randk_sde_step(g: ptr<function, array<f32, DIM>>, x: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
    var z2: array<f32, DIM>;
    var sum = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        let z = noise_next(i);
        z2[i] = z;
        sum += z;
    }
    let zbar = sum / f32(DIM);
    for (var i = 0u; i < DIM; i += 1u) {
        let z1 = noise_next(i);
        let gi = (*g)[i];
        (*x)[i] = (*x)[i] - randk_sde_dt(m, i) * gi + randk_sde_noise(m, i) * z1 + randk_sde_grad_noise(m, i) * gi * (z2[i] - zbar);
    }
}

var<workgroup> wg_hist: array<atomic<u32>, LOCAL_HIST_WORDS>;
var<workgroup> red_n: array<f32, INV>;
var<workgroup> red_m: array<f32, INV>;
var<workgroup> red_s: array<f32, INV>;

fn bin_of(v: f32, lo: f32, inv_w: f32) -> u32 {
    let u = (v - lo) * inv_w;
    let idx = u32(clamp(u, 0.0, f32(BINS)));
    return select(select(idx, BINS + 1u, u >= f32(BINS)), BINS, u < 0.0);
}

// PRIV_HIST: this invocation's histogram counts (the workgroup histogram's layout), added to it at the
// end of the dispatch (llvmpipe runs an atomic add as one locked instruction per lane, this as a plain
// load and store).
const PRIV_WORDS: u32 = select(1u, NQ * HIST_STRIDE, PRIV_HIST);
var<private> priv_hist: array<u32, PRIV_WORDS>;

fn hist_add(word: u32) {
    if (PRIV_HIST) {
        priv_hist[word] += 1u;
    } else if (USE_LOCAL_HIST) {
        atomicAdd(&wg_hist[word], 1u);
    } else {
        atomicAdd(&hist[grp * NQ * HIST_STRIDE + word], 1u);
    }
}

// One stationary sample of state x (finite states of live paths only): sums and histogram.
fn sample(x: ptr<function, array<f32, DIM>>, live_path: bool, m: ptr<function, ModelCoefs>,
          s1: ptr<function, array<f32, NQ>>, s2: ptr<function, array<f32, DIM>>, ns: ptr<function, f32>) {
    let loss = loss_of(x, m);
    if (live_path && is_finite_bits(loss)) {
        *ns += 1.0;
        for (var i = 0u; i < DIM; i += 1u) {
            let y = (*x)[i] - cf_c(m, i);
            (*s1)[i] += y;
            (*s2)[i] += y * y;
            hist_add(i * HIST_STRIDE + bin_of((*x)[i], cf_hist_lo(m, i), cf_hist_inv_w(m, i)));
        }
        (*s1)[DIM] += loss;
        hist_add(DIM * HIST_STRIDE + bin_of(loss, g_loss_lo, g_loss_inv_w));
    }
}

// Word of slot `slot` of coordinate i of the path at lane `lane` of workgroup wid (slot-major rows of
// WG words inside a workgroup, so neighbouring invocations touch neighbouring words).
fn state_index(wid: u32, slot: u32, i: u32, lane: u32) -> u32 {
    return ((wid * SLOTS + slot) * DIM + i) * WG + lane;
}

// (lo, hi) of global path params.path + local_path, before the group's shift.
fn global_path(local_path: u32) -> vec2<u32> {
    let lo = params.path_lo + local_path;
    return vec2<u32>(lo, params.path_hi + select(0u, 1u, lo < params.path_lo));
}

// The random-number key of the path at `lane` of workgroup wid: its index inside its group (sweeps keep
// the high word 0).
fn path_key(wid: u32, lane: u32) -> vec2<u32> {
    let p = global_path(wid * WG + lane);
    return vec2<u32>(p.x - grp * params.group_paths, p.y);
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

// The words of the current noise block (n_blo, n_bhi) for the path with random-number key `key`.
fn noise_words(key: vec2<u32>) -> vec4<u32> {
    return threefry4x32(vec4<u32>(n_blo, n_bhi, key.x, key.y), vec4<u32>(params.seed_lo, params.seed_hi, STREAM_NOISE, 0u));
}

// The four normals of the current noise block for the path with key `key` (packed paths 1.. of
// fast1_run; path 0's are n_z).
fn pack_normals(key: vec2<u32>) -> vec4<f32> {
    return normals4(noise_words(key));
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

// stored_loss of a path with d = 1 at x (the same operations).
fn loss1(x: f32, m: ptr<function, ModelCoefs>) -> f32 {
    var l = 0.0;
    let y = x - cf_c(m, 0u);
    l += cf_h(m, 0u) * y * y;
    return 0.5 * l;
}

// Loss of the path at `lane` from its stored state (read back: see the record reduction).
fn stored_loss(wid: u32, lane: u32, m: ptr<function, ModelCoefs>) -> f32 {
    var l = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        let y = state[state_index(wid, 0u, i, lane)] - cf_c(m, i);
        l += cf_h(m, i) * y * y;
    }
    return 0.5 * l;
}

// 1-based number of the substep about to run (k optimizer steps and j substeps done), as the
// clock of the bias corrections; f32 suffices, the factors saturate long before it rounds.
fn substep_number(k: u32, j: u32) -> f32 {
    return f32(k) * f32(u_refine) + f32(j) + 1.0;
}

// Bookkeeping after one substep: after `refine` substeps an optimizer step is complete, a path
// out of bounds is frozen, and at a sampled step the state is kept in `snap` (with whether the
// path is live) and `had` set: the caller ends its stretch and samples the snapshot once, outside
// the per-step loop (SIMD drivers such as llvmpipe run both sides of every branch, so sampling
// code inside the step loop would cost every step).
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

@compute @workgroup_size(INV)
fn advance(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid3: vec3<u32>) {
    let lid = lid3.x;
    let wid = wid3.x;
    // Path 0 of the invocation (lane lid); the packed paths at lanes q INV + lid exist only if it does.
    let live = wid * WG + lid < params.n_paths;
    // Its group (every workgroup lies inside one: group sizes are multiples of WG) and the path index
    // its random numbers are keyed by (its index inside the group).
    grp = 0u;
    if (params.group_paths > 0u) {
        grp = global_path(wid * WG + lid).x / params.group_paths;
    }
    let key = path_key(wid, lid);
    p_lo = key.x;
    p_hi = key.y;
    g_base = grp * DIM;
    g_bound = groups[grp].div_bound;
    g_tf_a = groups[grp].tf_a;
    g_tf_b = groups[grp].tf_b;
    if (TIME_FACTORS) {
        time_blocks_init();
    }
    u_refine = params.refine;
    u_every = params.stat_every;
    u_gsq = params.gsq;
    g_loss_lo = groups[grp].loss_lo;
    g_loss_inv_w = groups[grp].loss_inv_w;

    if (USE_LOCAL_HIST) {
        for (var w = lid; w < LOCAL_HIST_WORDS; w += INV) {
            atomicStore(&wg_hist[w], 0u);
        }
        workgroupBarrier();
    }

    // State slots: x at slot 0; Adam's m at 1; the v of RMSprop/Adam at slot SLOTS - 1.
    var x: array<f32, DIM>;
    var mm: array<f32, DIM>;
    var vv: array<f32, DIM>;
    var s1: array<f32, NQ>;
    var s2: array<f32, DIM>;
    var ns = 0.0;
    for (var i = 0u; i < DIM; i += 1u) {
        s1[i] = 0.0;
        s2[i] = 0.0;
    }
    s1[DIM] = 0.0;
    spec_fail = false;
    d_n = 0.0;
    d_sum = 0.0;
    d_min = 0xFFFFFFFFu;

    if (live) {
        var m: ModelCoefs;
        for (var i = 0u; i < select(0u, DIM, COEF_REGS); i += 1u) {
            m.h[i] = coef[g_base + i].h;
            m.c[i] = coef[g_base + i].c;
            m.p0[i] = coef[g_base + i].p0;
            m.p1[i] = coef[g_base + i].p1;
            m.p2[i] = coef[g_base + i].p2;
            m.p3[i] = coef[g_base + i].p3;
            m.p4[i] = coef[g_base + i].p4;
            m.p5[i] = coef[g_base + i].p5;
            m.p6[i] = coef[g_base + i].p6;
            m.p7[i] = coef[g_base + i].p7;
            m.p8[i] = coef[g_base + i].p8;
            m.hl[i] = coef[g_base + i].hist_lo;
            m.hw[i] = coef[g_base + i].hist_inv_w;
        }
        load_path(wid, lid, &x, &mm, &vv);
        // The first random blocks.
        // (hi << 1) << (31 - shift): no shift by 32 when PB_SHIFT = 0.
        n_blo = (params.m0_lo >> PB_SHIFT) | ((params.m0_hi << 1u) << (31u - PB_SHIFT));
        n_bhi = params.m0_hi >> PB_SHIFT;
        n_lane = params.m0_lo & (PER_BLOCK - 1u);
        noise_fetch();
        if (MODEL == K_DCSGD) {
            c_blo = (params.m0_lo >> 2u) | (params.m0_hi << 30u);
            c_bhi = params.m0_hi >> 2u;
            c_lane = params.m0_lo & 3u;
            c_words = threefry4x32(vec4<u32>(c_blo, c_bhi, p_lo, p_hi), vec4<u32>(params.seed_lo, params.seed_hi, STREAM_COMPRESS, 0u));
        }
        alive = in_bounds(&x);

        // The segment's substeps run in stretches, each ending at a sampled optimizer step (or
        // at the segment's end); the stretch's sample is taken once, after its step loop. The
        // step, substep and sample counters are the same for every path of a dispatch. The
        // sample of step 0 happens before the loop.
        if (params.init == 1u && is_sample(0u)) {
            sample(&x, alive, &m, &s1, &s2, &ns);
        }
        // d = 1 with one normal per substep: one random block feeds up to four substeps,
        // unrolled; a block holds at most one sampled step when refine * every >= 4 (or none
        // when the dispatch samples nothing). The host packs paths (PACK > 1) only when these
        // hold (src/shader.rs pack_for).
        let fast1 = PACK > 1u || (DIM == 1u && DRAWS == 1u && SINGLE_AGENT && !TNOISE && !TCDF
            && (params.stat_start == 0xFFFFFFFFu || params.refine >= 4u || params.stat_every >= 4u
                || params.refine * params.stat_every >= 4u));
        if (fast1) {
            fast1_run(wid, lid, &x, &mm, &vv, &m, &s1, &s2, &ns);
        } else {
            let total = (params.k_end - params.k_begin) * params.refine;
            var j = 0u;
            // The next sampled step, tracked by a counter: a modulo per step would be an integer
            // division per step, which SIMD drivers scalarise.
            var next = first_sample_after(params.k_begin);
            var k = params.k_begin;
            var n = 0u;
            var snap: array<f32, DIM>;
            var snap_live = false;
            // The stretch skeleton of fast1_run, kept apart: llvmpipe runs every branch and every
            // loop body, so one loop holding both substep bodies would pay for both at each
            // substep (two loops pay for the unused one once per dispatch).
            loop {
                if (n >= total) {
                    break;
                }
                var had = false;
                loop {
                    if (n >= total || had) {
                        break;
                    }
                    if (alive) {
                        var g: array<f32, DIM>;
                        gradient(&x, &m, &g);
                        if (FAST4) {
                            // Whole random blocks per substep (d x draws a multiple of 4, so every
                            // segment starts at a block boundary: m0 = k_begin refine d draws):
                            // the blocks are fetched at fixed variates instead of testing the
                            // cursor at every variate.
                            fast4_coords(&g, time_factors(k, j), &x, &mm, &vv, &m);
                        } else if (MODEL == K_DCSGD) {
                            dcsgd_step(&g, &x, &m);
                        } else if (MODEL == K_RANDK_SDE) {
                            randk_sde_step(&g, &x, &m);
                        } else {
                            let tf = time_factors(k, j);
                            for (var i = 0u; i < DIM; i += 1u) {
                                // One variate per agent; the multi-draw kernels aggregate them first.
                                var xi = 0.0;
                                for (var a = 0u; a < DRAWS; a += 1u) {
                                    xi = agent_draw(xi, g[i], noise_next(i), agents_scale(&m, i));
                                }
                                update(i, g[i], xi, tf, &x, &mm, &vv, &m);
                            }
                        }
                    }
                    end_substep(&j, &k, &next, &x, &snap, &snap_live, &had);
                    n += 1u;
                }
                if (had) {
                    sample(&snap, snap_live, &m, &s1, &s2, &ns);
                }
            }
        }
        pk_alive[0] = alive;
        store_path(wid, lid, &x, &mm, &vv);
    }

    let base = wid * PARTIAL_WORDS;
    if (params.record == 1u) {
        var m: ModelCoefs;
        if (live) {
            for (var i = 0u; i < select(0u, DIM, COEF_REGS); i += 1u) {
                m.h[i] = coef[g_base + i].h;
                m.c[i] = coef[g_base + i].c;
            }
        }
        // Coordinates and losses are read back from the state buffer (this invocation just wrote
        // it): a dynamic index into the private array `x` would demote it to scratch memory on
        // some drivers (llvmpipe), slowing the whole step loop. Packed paths (d = 1) keep theirs
        // in pk_x instead. Each of the invocation's paths counts if it exists, is live and has a
        // finite loss.
        var rec_ok: array<bool, PACK>;
        var rec_loss: array<f32, PACK>;
        for (var p = 0u; p < PACK; p += 1u) {
            let lane = p * INV + lid;
            if (wid * WG + lane < params.n_paths) {
                if (PACK > 1u) {
                    rec_loss[p] = loss1(pk_x[p], &m);
                } else {
                    rec_loss[p] = stored_loss(wid, lane, &m);
                }
                rec_ok[p] = pk_alive[p] && is_finite_bits(rec_loss[p]);
            }
        }
        for (var q = 0u; q < NQ; q += 1u) {
            // The invocation's paths merged first (count, mean, M2; Welford), then the workgroup.
            var cn = 0.0;
            var cm = 0.0;
            var cs = 0.0;
            for (var p = 0u; p < PACK; p += 1u) {
                if (rec_ok[p]) {
                    var v = rec_loss[p];
                    if (PACK > 1u) {
                        v = select(v, pk_x[p], q == 0u);
                    } else if (q < DIM) {
                        v = state[state_index(wid, 0u, q, p * INV + lid)];
                    }
                    cn += 1.0;
                    let d = v - cm;
                    cm += d / cn;
                    cs += d * (v - cm);
                }
            }
            red_n[lid] = cn;
            red_m[lid] = cm;
            red_s[lid] = cs;
            reduce_moments(lid);
            if (lid == 0u) {
                partials[base] = red_n[0];
                partials[base + 1u + q] = red_m[0];
                partials[base + 1u + NQ + q] = red_s[0];
            }
            workgroupBarrier();
        }
    }

    // Stationary sums: count, then s1 (coordinates and loss), then s2 (coordinates).
    red_m[lid] = ns;
    reduce_sum(lid);
    if (lid == 0u) {
        partials[base + 1u + 2u * NQ] = red_m[0];
    }
    workgroupBarrier();
    for (var q = 0u; q < NQ + DIM; q += 1u) {
        // Constant indices only (see above): select the q-th sum by an unrolled scan.
        var v = 0.0;
        for (var i = 0u; i < NQ; i += 1u) {
            if (i == q) {
                v = s1[i];
            }
        }
        for (var i = 0u; i < DIM; i += 1u) {
            if (i + NQ == q) {
                v = s2[i];
            }
        }
        red_m[lid] = v;
        reduce_sum(lid);
        if (lid == 0u) {
            partials[base + 2u + 2u * NQ + q] = red_m[0];
        }
        workgroupBarrier();
    }

    // Divergence: paths frozen in this segment, the sum of their steps, the earliest step.
    red_m[lid] = select(0.0, d_n, live);
    reduce_sum(lid);
    if (lid == 0u) {
        partials[base + 5u + 4u * DIM] = red_m[0];
    }
    workgroupBarrier();
    red_m[lid] = select(0.0, d_sum, live);
    reduce_sum(lid);
    if (lid == 0u) {
        partials[base + 6u + 4u * DIM] = red_m[0];
    }
    workgroupBarrier();
    let has_min = live && d_min != 0xFFFFFFFFu;
    red_n[lid] = select(65536.0, f32(d_min >> 16u), has_min);
    red_m[lid] = select(0.0, f32(d_min & 0xFFFFu), has_min);
    reduce_min_step(lid);
    if (lid == 0u) {
        partials[base + 7u + 4u * DIM] = red_n[0];
        partials[base + 8u + 4u * DIM] = red_m[0];
    }
    workgroupBarrier();

    // The histogram buffer's last word flags a failed speculative dispatch (the host then runs it again
    // with the full kernel).
    if (SPEC && spec_fail) {
        atomicOr(&hist[arrayLength(&hist) - 1u], 1u);
    }

    if (PRIV_HIST) {
        for (var w = 0u; w < PRIV_WORDS; w += 1u) {
            let v = priv_hist[w];
            if (v != 0u) {
                if (USE_LOCAL_HIST) {
                    atomicAdd(&wg_hist[w], v);
                } else {
                    atomicAdd(&hist[grp * NQ * HIST_STRIDE + w], v);
                }
            }
        }
    }
    if (USE_LOCAL_HIST) {
        workgroupBarrier();
        for (var w = lid; w < LOCAL_HIST_WORDS; w += INV) {
            let v = atomicLoad(&wg_hist[w]);
            if (v != 0u) {
                atomicAdd(&hist[grp * NQ * HIST_STRIDE + w], v);
            }
        }
    }
}
