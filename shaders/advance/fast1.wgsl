// The d = 1 loop (advance.wgsl takes it for d = 1, one normal per substep, at most one sample
// per random block): `fast1_run` advances PACK paths per invocation, written out with one set
// of variables per path (constant names: llvmpipe keeps them in registers). Path 0 is the
// caller's (its state x0, mm0, vv0, `alive`, `p_lo`/`p_hi` and the normals `n_z`); paths q >= 1
// sit at lanes q INV + lid and are loaded, keyed, advanced and stored here (x{q}, z{q}, ...).
// Every path of the invocation takes the same substeps (the counters are uniform): the
// substep's update of each live path, then once the bookkeeping (a completed optimizer step
// freezes each path out of bounds; a sampled one snapshots them all). A random block feeds four
// substeps (its four normals per path, one `if` per substep of the block, the guards uniform),
// and a stretch ends at a sampled step, whose snapshots are sampled after the stretch's loop.
//
// The SignSGD SDE packed (SHARED_ERF): erf's Taylor branch (|u| < 0.5) for every path, and its
// erfc branch in a loop that serves one pending path per trip, first pending first. llvmpipe
// leaves a loop once no invocation of the SIMD group has a path pending: near stationarity that
// is one trip, one erfc per substep for all the packed paths instead of one for each. Each
// path's (erf, diffusion) is the one `erf_and_diffusion` gives, bit for bit. The speculative
// kernel (SPEC) has no such loop: a pending path sets `spec_fail` instead.
//
// The bias corrections of Adam and its SDE (TIME_FACTORS; shared/time_factors.wgsl) take two
// exponentials per block here, at its first substep, and a multiply-add for each substep of it,
// instead of two exponentials per substep.
//
// Directives (src/shader/preprocess.rs): `#for q in 1..PACK` repeats its lines for the packed
// paths q >= 1, with {q} their number; `#for bj, c in enumerate([x, y, z, w])` the substeps of
// a block, with {c} the normal's component.

fn fast1_run(wid: u32, lid: u32, x0: ptr<function, array<f32, DIM>>, mm0: ptr<function, array<f32, DIM>>,
    vv0: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, s1: ptr<function, array<f32, NQ>>,
    s2: ptr<function, array<f32, DIM>>, ns: ptr<function, f32>) {
    var al0 = alive;
#for q in 0..PACK
    var sn{q}: array<f32, DIM>;
    var sl{q} = false;
#endfor
#for q in 1..PACK
    var x{q}: array<f32, DIM>;
    var mm{q}: array<f32, DIM>;
    var vv{q}: array<f32, DIM>;
    var al{q} = false;
    if (load_path(wid, {q}u * INV + lid, &x{q}, &mm{q}, &vv{q})) {
        al{q} = in_bounds(&x{q});
    }
    let key{q} = path_key(wid, {q}u * INV + lid);
    var z{q} = pack_normals(key{q});
    if (params.init == 1u && is_sample(0u)) {
        sample(&x{q}, al{q}, m, s1, s2, ns);
    }
#endfor
    let total = (params.k_end - params.k_begin) * params.refine;
    var j = 0u;
    var next = first_sample_after(params.k_begin);
    var k = params.k_begin;
    var n = 0u;
    loop {
        if (n >= total) {
            break;
        }
        var had = false;
        loop {
            if (n >= total || had) {
                break;
            }
            // Substeps from variate `first` of the current block to its end (or to the segment's end).
            let first = n_lane;
            let cnt = min(4u - first, total - n);
#if TIME_FACTORS
            // The bias corrections of the block's first substep (variate m of the stream is
            // substep m, so `first` is the substep's place in its block).
            let ib = block_iotas(substep_number(k, j) - f32(first));
#endif
#for bj, c in enumerate([x, y, z, w])
#if bj == 0
            if (first == 0u) {
#elif bj == 3
            if (first + cnt > 3u) {
#else
            if (first <= {bj}u && first + cnt > {bj}u) {
#endif
#if SHARED_ERF
                let u0 = grad1((*x0)[0], m) * signsgd_sde_inv_scale(m, 0u);
                var e0 = erf_small_and_diffusion(u0);
                var pend0 = al0 && !(abs(u0) < 0.5);
#for q in 1..PACK
                let u{q} = grad1(x{q}[0], m) * signsgd_sde_inv_scale(m, 0u);
                var e{q} = erf_small_and_diffusion(u{q});
                var pend{q} = al{q} && !(abs(u{q}) < 0.5);
#endfor
#if SPEC
                spec_fail = spec_fail || pend0
#for q in 1..PACK
                    || pend{q}
#endfor
                    ;
#else
                loop {
                    // The first pending path's u: select(select(select(u3, u2, pend2), u1, pend1), u0, pend0) for PACK = 4.
                    let big = erf_big_and_diffusion(
#for q in 1..PACK
                        select(
#endfor
                        u{PACK - 1}
#for q in (0..PACK - 1).rev()
                        , u{q}, pend{q})
#endfor
                    );
                    if (pend0) {
                        e0 = big;
                        pend0 = false;
#for q in 1..PACK
                    } else if (pend{q}) {
                        e{q} = big;
                        pend{q} = false;
#endfor
                    }
                    if (!(pend0
#for q in 1..PACK
                        || pend{q}
#endfor
                        )) {
                        break;
                    }
                }
#endif
                if (al0) {
                    (*x0)[0] = sign_sde_update((*x0)[0], e0, n_z.{c}, signsgd_sde_dt(m, 0u), signsgd_sde_noise(m, 0u));
                }
#for q in 1..PACK
                if (al{q}) {
                    x{q}[0] = sign_sde_update(x{q}[0], e{q}, z{q}.{c}, signsgd_sde_dt(m, 0u), signsgd_sde_noise(m, 0u));
                }
#endfor
#else
#if TIME_FACTORS
                let tf = block_time_factors(ib, g_tc[{bj}], g_tq[{bj}]);
#else
                // Unused by kernels without bias corrections.
                let tf = vec2<f32>(0.0, 0.0);
#endif
                if (al0) {
                    update(0u, grad1((*x0)[0], m), n_z.{c}, tf, x0, mm0, vv0, m);
                }
#for q in 1..PACK
                if (al{q}) {
                    update(0u, grad1(x{q}[0], m), z{q}.{c}, tf, &x{q}, &mm{q}, &vv{q}, m);
                }
#endfor
#endif
                j += 1u;
                if (j == u_refine) {
                    j = 0u;
                    k += 1u;
                    al0 = still_live(x0, al0, k);
#for q in 1..PACK
                    al{q} = still_live(&x{q}, al{q}, k);
#endfor
                    if (k == next) {
                        next = next_sample(next);
                        sn0 = (*x0);
                        sl0 = al0;
#for q in 1..PACK
                        sn{q} = x{q};
                        sl{q} = al{q};
#endfor
                        had = true;
                    }
                }
            }
#endfor
            n += cnt;
            n_lane = first + cnt;
            if (n_lane == 4u) {
                next_noise_block();
#for q in 1..PACK
                z{q} = pack_normals(key{q});
#endfor
                n_lane = 0u;
            }
        }
        if (had) {
#for q in 0..PACK
            sample(&sn{q}, sl{q}, m, s1, s2, ns);
#endfor
        }
    }
    alive = al0;
    pk_x[0] = (*x0)[0];
#for q in 1..PACK
    pk_alive[{q}] = al{q};
    pk_x[{q}] = x{q}[0];
    if (wid * WG + {q}u * INV + lid < params.n_paths) {
        store_path(wid, {q}u * INV + lid, &x{q}, &mm{q}, &vv{q});
    }
#endfor
}
