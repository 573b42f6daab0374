// The FAST4 substep of the general loop (advance.wgsl, FAST4): the noise and updates of one
// substep when it takes whole random blocks, four coordinates per block (draws = 1) or four
// agents per block (draws a multiple of 4), so the blocks are fetched at fixed variates instead
// of testing the cursor at every variate. `fast4_coords` is written out with constant indices
// where d x draws is small enough (FAST4_WRITTEN_OUT, src/shader/policy.rs fast4_written_out),
// else it calls `fast4_coords_loop`, the same calls as loops. Twin: the CPU twin's substep.

fn fast4_coords(g: ptr<function, array<f32, DIM>>, tf: vec2<f32>, x: ptr<function, array<f32, DIM>>,
    mm: ptr<function, array<f32, DIM>>, vv: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {
#if !FAST4_WRITTEN_OUT
    fast4_coords_loop(g, tf, x, mm, vv, m);
#elif DRAWS == 1
#for b in (0..DIM).step_by(4)
#for q, c in enumerate([x, y, z, w])
    update({b + q}u, (*g)[{b + q}u], agent_draw(0.0, (*g)[{b + q}u], n_z.{c}, agents_scale(m, {b + q}u)), tf, x, mm, vv, m);
#endfor
    next_noise_block();
#endfor
#else
#for i in 0..DIM
    var xi{i} = 0.0;
#for a in (0..DRAWS).step_by(4)
#for c in [x, y, z, w]
    xi{i} = agent_draw(xi{i}, (*g)[{i}u], n_z.{c}, agents_scale(m, {i}u));
#endfor
    next_noise_block();
#endfor
    update({i}u, (*g)[{i}u], xi{i}, tf, x, mm, vv, m);
#endfor
#endif
}

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
