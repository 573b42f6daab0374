// Threefry-4x32 counter-based generator and Box-Muller normals: twin of src/rng.rs.
// key = (seed_lo, seed_hi, stream, 0); counter = (block_lo, block_hi, path_lo, path_hi).
// Requires: math.wgsl. Thirteen rounds (src/rng.rs ROUNDS), written out.

fn rotl(x: u32, r: u32) -> u32 {
    return (x << r) | (x >> (32u - r));
}

// Rounds written out with constant rotations (Random123's R_32x4 table), a key injection
// after every four; the host checks RNG_ROUNDS == 13.
fn tf_even(x: vec4<u32>, a: u32, b: u32) -> vec4<u32> {
    var y = x;
    y.x += y.y; y.y = rotl(y.y, a) ^ y.x;
    y.z += y.w; y.w = rotl(y.w, b) ^ y.z;
    return y;
}

fn tf_odd(x: vec4<u32>, a: u32, b: u32) -> vec4<u32> {
    var y = x;
    y.x += y.w; y.w = rotl(y.w, a) ^ y.x;
    y.z += y.y; y.y = rotl(y.y, b) ^ y.z;
    return y;
}

fn tf_eight(x: vec4<u32>, inj1: vec4<u32>, inj2: vec4<u32>) -> vec4<u32> {
    var y = tf_even(x, 10u, 26u);
    y = tf_odd(y, 11u, 21u);
    y = tf_even(y, 13u, 27u);
    y = tf_odd(y, 23u, 5u);
    y += inj1;
    y = tf_even(y, 6u, 20u);
    y = tf_odd(y, 17u, 11u);
    y = tf_even(y, 25u, 10u);
    y = tf_odd(y, 18u, 20u);
    return y + inj2;
}

fn threefry4x32(ctr: vec4<u32>, key: vec4<u32>) -> vec4<u32> {
    let k4 = 0x1BD11BDAu ^ key.x ^ key.y ^ key.z ^ key.w;
    // Injection s adds (ks[s], ks[s+1], ks[s+2], ks[s+3] + s), indices mod 5.
    let i1 = vec4<u32>(key.y, key.z, key.w, k4 + 1u);
    let i2 = vec4<u32>(key.z, key.w, k4, key.x + 2u);
    let i3 = vec4<u32>(key.w, k4, key.x, key.y + 3u);
    // Rounds 1-8, rounds 9-12 and the third injection, then round 13 (no injection after it).
    var y = tf_eight(ctr + key, i1, i2);
    y = tf_even(y, 10u, 26u);
    y = tf_odd(y, 11u, 21u);
    y = tf_even(y, 13u, 27u);
    y = tf_odd(y, 23u, 5u);
    y += i3;
    return tf_even(y, 6u, 20u);
}

fn open_unit(w: u32) -> f32 {
    return f32(i32((w >> 9u) * 2u + 1u)) * (1.0 / 16777216.0);
}

fn box_muller(w_radius: u32, w_angle: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * ln_unit(open_unit(w_radius)));
    return r * sincos_quarter(w_angle);
}

fn normals4(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(box_muller(w.x, w.y), box_muller(w.z, w.w));
}
