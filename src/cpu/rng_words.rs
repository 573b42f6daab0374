//! CPU twin of `shaders/rng_words.wgsl`: raw words and normals of a grid of (path, block).

use crate::layout::RngParams;
use crate::rng::{ROUNDS, STREAM_NOISE, normals4, threefry4x32};

/// Fills `words` and `normals` (4 per (path, block), path-major) like the WGSL kernel, with
/// the normals' multiply-adds fused or not (`FMA`, [`super::Arith`]).
pub fn rng_words<const FMA: bool>(p: &RngParams, words: &mut [u32], normals: &mut [f32]) {
    let key = [p.seed_lo, p.seed_hi, STREAM_NOISE, 0];
    let path0 = u64::from(p.path_hi) << 32 | u64::from(p.path_lo);
    let blk0 = u64::from(p.block_hi) << 32 | u64::from(p.block_lo);
    for i in 0..p.n_paths as u64 {
        for b in 0..p.n_blocks as u64 {
            let path = path0 + i;
            let blk = blk0 + b;
            let w = threefry4x32([blk as u32, (blk >> 32) as u32, path as u32, (path >> 32) as u32], key, ROUNDS);
            let z = normals4::<FMA>(w);
            let o = ((i * u64::from(p.n_blocks) + b) * 4) as usize;
            words[o..o + 4].copy_from_slice(&w);
            normals[o..o + 4].copy_from_slice(&z);
        }
    }
}
