// optsde.advance: move every path of a chunk from optimizer step k_begin to k_end with its state
// in registers, sample the stationary statistics and histograms on the way, and reduce the
// per-workgroup partials at the end. Twin: src/cpu/advance.rs (same name, bindings, order).
//
// The composer (src/shader/compose.rs) writes the constants this kernel is specialised for
// before it, each with its meaning, and applies the directives of advance/fast1.wgsl and
// advance/fast4.wgsl (src/shader/preprocess.rs); `cargo test --release --
// every_composed_kernel_is_written_out` writes every variant to target/shaders/ to be read.
//
// The step loop has three forms, each made of the same stages (gradient, noise, update,
// end_substep, sample): the general loop below; its FAST4 substep (advance/fast4.wgsl), which
// takes whole random blocks; and the d = 1 loop (advance/fast1.wgsl), one random block per four
// substeps, for PACK paths per invocation.
//
// Packing: a workgroup always holds the WG paths of one batch (one partials record, one state block); its
// invocation lid advances the paths at lanes lid, INV + lid, ..., (PACK - 1) INV + lid. PACK > 1 only on
// the d = 1 loop (src/shader/policy.rs pack_for): a SIMD driver that runs each instruction over a group of
// invocations (llvmpipe) then has PACK independent dependency chains to interleave instead of one.
//
// Shaped for SIMD drivers: llvmpipe, the software adapter, runs each instruction over the SIMD
// lanes of a group of invocations under a mask, so it runs both sides of every branch and every
// loop body at least once, whatever its lanes take (benches/NOTES.md, "llvmpipe: what the software
// adapter does with the kernel"). Hence sampling code stays out of the step loops (a stretch of
// substeps ends at a sampled step, whose sample is taken once after the stretch's loop), and the
// step loops are separate loops rather than one loop with a branch per form.
#import advance/fast1.wgsl
#import advance/fast4.wgsl
#import shared/math.wgsl
#import shared/rng.wgsl
#import shared/tdist.wgsl
#import shared/layout.wgsl
#import shared/coefs.wgsl
#if OBJ_DENSE
#import shared/objective_dense.wgsl
#elif OBJ_FORMULA
#import shared/formula_math.wgsl
#import shared/objective_formula.wgsl
#else
#import shared/objective.wgsl
#endif
#import shared/time_factors.wgsl
#import shared/model.wgsl
#import shared/data.wgsl
#import shared/cursor.wgsl
#import shared/paths.wgsl
#import shared/schedule.wgsl
#import shared/lr_schedule.wgsl
#import shared/hist.wgsl
#import shared/cross.wgsl
#import shared/reduce.wgsl

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> coef: array<Coef>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;
// Student-t CDF tables of the sign SDEs (see shared/tdist.wgsl); one placeholder word otherwise.
@group(0) @binding(5) var<storage, read> tcdf: array<f32>;
// Per-group scalars (one group per sweep point; see src/layout.rs Group).
@group(0) @binding(6) var<storage, read> groups: array<Group>;
// The objective's words of every group (a dense Hessian; see src/layout.rs Upload); one
// placeholder word for the diagonal quadratic.
@group(0) @binding(7) var<storage, read> objective: array<f32>;

// Invocations per workgroup.
const INV: u32 = WG / PACK;
// Quantities: the coordinates and the loss.
const NQ: u32 = DIM + 1u;
const PARTIAL_WORDS: u32 = 4u * DIM + 9u + CROSS;

// This invocation's parameter group and its first coefficient.
var<private> grp: u32;
var<private> g_base: u32;
// The group's first word in the objective buffer, and a word that is 0 (Group::zero).
var<private> o_base: u32;
var<private> g_zero: u32;
// The group's scalars used every step, read from storage once per invocation.
var<private> g_bound: f32;
var<private> g_tf_a: f32;
var<private> g_tf_b: f32;
var<private> g_loss_lo: f32;
var<private> g_loss_inv_w: f32;
// The learning-rate schedule's words (shared/lr_schedule.wgsl); read only when SCHEDULE is not
// SCHED_CONSTANT.
var<private> g_sched: array<f32, 5>;
var<private> g_milestones: array<u32, 4>;
// A gradient-norm schedule with NORM_TRUE: the substep's gradient of f.
var<private> lr_g: array<f32, DIM>;
// Uniform parameters used every step, copied once: llvmpipe loads a uniform inside the step loop
// lane by lane (a bounds-checked gather) on every use.
var<private> u_refine: u32;
var<private> u_every: u32;
var<private> u_gsq: f32;
// A speculative dispatch (SPEC) met a path its kernel cannot advance exactly.
var<private> spec_fail: bool;

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
#if OBJ_BUFFER
    o_base = groups[grp].obj_base;
    g_zero = groups[grp].zero;
#endif
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
    if (SCHEDULE != SCHED_CONSTANT) {
        g_zero = groups[grp].zero;
        g_sched = groups[grp].sched;
        g_milestones = groups[grp].milestones;
    }

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
    cross_clear();
    spec_fail = false;
    d_n = 0.0;
    d_sum = 0.0;
    d_min = 0xFFFFFFFFu;

    if (live) {
        var m: ModelCoefs;
        for (var i = 0u; i < select(0u, DIM, COEF_REGS); i += 1u) {
            m.h[i] = coef[g_base + i].h;
            m.c[i] = coef[g_base + i].c;
#for s in 0..COEF_SLOTS
            m.p{s}[i] = coef[g_base + i].p{s};
#endfor
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
            comp_fetch();
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
        // hold (src/shader/policy.rs pack_for).
        let fast1 = PACK > 1u || (DIM == 1u && DRAWS == 1u && SINGLE_AGENT && !TNOISE && !TCDF && !DATA
            && SCHEDULE == SCHED_CONSTANT
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
            // The stretch skeleton of fast1_run, kept apart (see "Shaped for SIMD drivers" above:
            // two loops pay for the unused one once per dispatch).
            loop {
                if (n >= total) {
                    break;
                }
                var had = false;
                loop {
                    if (n >= total || had) {
                        break;
                    }
                    // A scheduled kernel keeps x to scale the substep's increment by s (below).
                    var before: array<f32, DIM>;
                    if (SCHEDULE != SCHED_CONSTANT) {
                        lr_keep_state(&x, &before);
                    }
                    if (DATA && !DATA_SDE) {
                        // A discrete model on sampled data (shared/data.wgsl).
                        if (alive) {
                            data_step(&x, &mm, &vv, &m, time_factors(k, j), k);
                        }
                    } else if (alive) {
                        var g: array<f32, DIM>;
                        gradient(&x, &m, &g);
                        if (SCHEDULE >= SCHED_NORMALIZED && NORM_TRUE) {
                            lr_g = g;
                        }
                        if (DATA) {
                            // An SDE's state-dependent diffusion (shared/data.wgsl).
                            data_sde_coords(&g, time_factors(k, j), &x, &mm, &vv, &m);
                        } else if (FAST4) {
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
                    if (SCHEDULE >= SCHED_NORMALIZED && alive) {
                        lr_scaled_by_norm(&x, &before);
                    } else if (SCHEDULE != SCHED_CONSTANT && alive) {
                        lr_scaled(&x, &before, lr_factor(k, j));
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
        var v = 0.0;
#if DIM <= SCAN_SUMS_MAX_DIM
        // Constant indices only (see above): select the q-th sum by an unrolled scan.
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
#else
        // A dynamic index: lavapipe miscompiles the scan at this length (src/shader/compose.rs
        // SCAN_SUMS_MAX_DIM says where and why).
        if (q < NQ) {
            v = s1[q];
        } else {
            v = s2[q - NQ];
        }
#endif
        red_m[lid] = v;
        reduce_sum(lid);
        if (lid == 0u) {
            partials[base + 2u + 2u * NQ + q] = red_m[0];
        }
        workgroupBarrier();
    }

    // The pair sums of the covariance (after the divergence words).
    cross_reduce(lid, base + 9u + 4u * DIM);

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
                    atomicAdd(&hist[grp * HIST_WORDS + w], v);
                }
            }
        }
    }
    if (USE_LOCAL_HIST) {
        workgroupBarrier();
        for (var w = lid; w < LOCAL_HIST_WORDS; w += INV) {
            let v = atomicLoad(&wg_hist[w]);
            if (v != 0u) {
                atomicAdd(&hist[grp * HIST_WORDS + w], v);
            }
        }
    }
}
