// The random streams of the advance kernel: per-invocation cursors over a path's noise stream
// (normals, or Student-t variates) and its compressor stream (K_DCSGD), and the key that makes a
// path's numbers a function of (seed, path, variate) alone. Variate m of a stream is variate
// m % PER_BLOCK of block m / PER_BLOCK. Twin: `Cursor` in src/cpu/. Requires: rng.wgsl,
// tdist.wgsl, and the kernel's `params`, `coef`, `grp`, `g_base`.

// log2(PER_BLOCK): the block of variate m is m >> PB_SHIFT.
const PB_SHIFT: u32 = countTrailingZeros(PER_BLOCK);

// The random-number key of path 0 of the invocation (its index inside its group).
var<private> p_lo: u32;
var<private> p_hi: u32;
// The noise stream: block, next variate in it, its words and normals.
var<private> n_blo: u32;
var<private> n_bhi: u32;
var<private> n_lane: u32;
var<private> n_words: vec4<u32>;
var<private> n_z: vec4<f32>;
// The compressor stream: block, next word in it, its words.
var<private> c_blo: u32;
var<private> c_bhi: u32;
var<private> c_lane: u32;
var<private> c_words: vec4<u32>;

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

// The words of the current noise block (n_blo, n_bhi) for the path with random-number key `key`.
fn noise_words(key: vec2<u32>) -> vec4<u32> {
    return threefry4x32(vec4<u32>(n_blo, n_bhi, key.x, key.y), vec4<u32>(params.seed_lo, params.seed_hi, STREAM_NOISE, 0u));
}

// The four normals of the current noise block for the path with key `key` (packed paths 1.. of
// fast1_run; path 0's are n_z).
fn pack_normals(key: vec2<u32>) -> vec4<f32> {
    return normals4(noise_words(key));
}

fn noise_fetch() {
    n_words = noise_words(vec2<u32>(p_lo, p_hi));
    if (!TNOISE) {
        n_z = normals4(n_words);
    }
}

// Move the noise cursor to the next block and fetch it.
fn next_noise_block() {
    n_blo += 1u;
    n_bhi += select(0u, 1u, n_blo == 0u);
    noise_fetch();
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

// The compressor stream's block (c_blo, c_bhi) of the path into c_words.
fn comp_fetch() {
    c_words = threefry4x32(vec4<u32>(c_blo, c_bhi, p_lo, p_hi), vec4<u32>(params.seed_lo, params.seed_hi, STREAM_COMPRESS, 0u));
}

// The next word of the compressor stream.
fn comp_next() -> u32 {
    if (c_lane == 4u) {
        c_blo += 1u;
        c_bhi += select(0u, 1u, c_blo == 0u);
        comp_fetch();
        c_lane = 0u;
    }
    let j = c_lane;
    c_lane += 1u;
    return select(select(c_words.x, c_words.y, j == 1u), select(c_words.z, c_words.w, j == 3u), j >= 2u);
}
