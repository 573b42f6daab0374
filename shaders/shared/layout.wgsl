// Structs shared with the host. One home on the host side: src/layout.rs (#[repr(C)], Pod,
// size/offset asserts, and a test that compares them with naga's view of these structs).

struct Params {
    path_lo: u32,
    path_hi: u32,
    n_paths: u32,
    k_begin: u32,
    k_end: u32,
    m0_lo: u32,
    m0_hi: u32,
    seed_lo: u32,
    seed_hi: u32,
    refine: u32,
    init: u32,
    record: u32,
    stat_start: u32,
    stat_every: u32,
    gsq: f32,
    group_paths: u32,
}

struct Group {
    tf_a: f32,
    tf_b: f32,
    loss_lo: f32,
    loss_inv_w: f32,
    div_bound: f32,
    obj_base: u32,
    zero: u32,
    sched: array<f32, 5>,
    milestones: array<u32, 4>,
}

struct Coef {
    h: f32,
    c: f32,
    p0: f32,
    p1: f32,
    p2: f32,
    p3: f32,
    p4: f32,
    p5: f32,
    p6: f32,
    p7: f32,
    p8: f32,
    x0: f32,
    hist_lo: f32,
    hist_inv_w: f32,
    nu: f32,
    sqrt_nu: f32,
    two_over_nu: f32,
    tab: f32,
}
