// optsde.rng_words: the raw Threefry words and Box-Muller normals of a grid of (path, block),
// for the bit-identity test of the two backends. Twin: src/cpu/rng_words.rs.
#import shared/math.wgsl
#import shared/rng.wgsl

struct RngParams {
    seed_lo: u32,
    seed_hi: u32,
    path_lo: u32,
    path_hi: u32,
    block_lo: u32,
    block_hi: u32,
    n_paths: u32,
    n_blocks: u32,
}

@group(0) @binding(0) var<uniform> params: RngParams;
@group(0) @binding(1) var<storage, read_write> words: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> normals: array<vec4<f32>>;

@compute @workgroup_size(64)
fn rng_words(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.n_paths * params.n_blocks) {
        return;
    }
    let p = i / params.n_blocks;
    let b = i % params.n_blocks;
    let path_lo = params.path_lo + p;
    let path_hi = params.path_hi + select(0u, 1u, path_lo < params.path_lo);
    let blk_lo = params.block_lo + b;
    let blk_hi = params.block_hi + select(0u, 1u, blk_lo < params.block_lo);
    let key = vec4<u32>(params.seed_lo, params.seed_hi, STREAM_NOISE, 0u);
    let w = threefry4x32(vec4<u32>(blk_lo, blk_hi, path_lo, path_hi), key);
    words[i] = w;
    normals[i] = normals4(w);
}
