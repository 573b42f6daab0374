//! WGSL composition (STYLE habit 3): kernels `#import` files of `shaders/shared/`, and the
//! host prepends a few named constants (dimension, model, bins, ...). Every composed shader
//! is validated with naga, in `cargo test` too, without a GPU.

use crate::error::{Error, Result};
use crate::kernel::coefs::LAYOUTS;
use crate::kernel::{COMPRESSOR_IDS, Kernel, KernelConsts, WG};
use crate::layout::Params;
use crate::rng::{ROUNDS, STREAM_COMPRESS, STREAM_NOISE};

/// Embedded shader sources, by path relative to `shaders/`.
const SOURCES: &[(&str, &str)] = &[
    ("advance.wgsl", include_str!("../shaders/advance.wgsl")),
    ("rng_words.wgsl", include_str!("../shaders/rng_words.wgsl")),
    ("shared/math.wgsl", include_str!("../shaders/shared/math.wgsl")),
    ("shared/rng.wgsl", include_str!("../shaders/shared/rng.wgsl")),
    ("shared/layout.wgsl", include_str!("../shaders/shared/layout.wgsl")),
    ("shared/model.wgsl", include_str!("../shaders/shared/model.wgsl")),
    ("shared/tdist.wgsl", include_str!("../shaders/shared/tdist.wgsl")),
    ("tdist_eval.wgsl", include_str!("../shaders/tdist_eval.wgsl")),
];

const _: () = assert!(ROUNDS == 13, "shaders/shared/rng.wgsl writes out 13 rounds");

/// Workgroup memory the kernel may use for its private histogram (the WebGPU default limit
/// is 16 KiB; the reduction arrays take 3 × WG words).
const LOCAL_HIST_BUDGET_WORDS: usize = 4096 - 3 * WG;

fn source(path: &str) -> Result<&'static str> {
    SOURCES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, s)| *s)
        .ok_or_else(|| Error::Gpu(format!("shader import `{path}` not found")))
}

/// Resolve `#import path` lines (each file once) into one WGSL text.
pub fn resolve(path: &str) -> Result<String> {
    fn go(path: &str, seen: &mut Vec<String>, out: &mut String) -> Result<()> {
        if seen.iter().any(|s| s == path) {
            return Ok(());
        }
        seen.push(path.to_string());
        for line in source(path)?.lines() {
            if let Some(dep) = line.trim().strip_prefix("#import ") {
                go(dep.trim(), seen, out)?;
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        Ok(())
    }
    let mut out = String::new();
    go(path, &mut Vec::new(), &mut out)?;
    Ok(out)
}

/// Whether the advance kernel keeps its histogram in workgroup memory.
pub fn uses_local_hist(k: &KernelConsts) -> bool {
    k.hist_words() <= LOCAL_HIST_BUDGET_WORDS
}

/// Largest d whose per-coordinate coefficients the advance kernel keeps in registers
/// (`ModelCoefs`, eleven arrays of d) on a hardware GPU; above it the kernel reads them from the
/// coefficient buffer where it uses them (the same address for every invocation of a group, so a
/// broadcast load) and leaves the registers to the state and the sums. On an H100 that made the
/// d = 16 kernels 1.2–1.7× faster (benches/NOTES.md); on llvmpipe it made them 1.4× slower, so
/// software adapters keep the registers at every d.
pub const COEF_REGS_MAX_DIM: usize = 4;

/// Whether the advance kernel should keep the coefficients in registers on an adapter that is
/// (`software`) or is not a software rasteriser.
pub fn coef_regs(k: &KernelConsts, software: bool) -> bool {
    software || k.dim <= COEF_REGS_MAX_DIM
}

/// Paths each invocation of the d = 1 loop advances on a software adapter ([`pack_for`]).
pub const SOFTWARE_PACK: usize = 8;

/// Paths per invocation that the d = 1 loop can be composed for ([`advance_source`]).
pub const PACK_WIDTHS: [usize; 4] = [1, 2, 4, 8];

/// Whether the kernel runs the d = 1 loop (`fast1_run`) for dispatches that sample at most once
/// per four substeps, the one loop that may pack several paths per invocation: one coordinate,
/// one normal per substep, none of the multi-draw, compressed or Student-t kernels.
pub fn packable(k: &KernelConsts) -> bool {
    k.dim == 1 && k.draws == 1 && k.kernel.is_single_agent() && !k.tnoise && !k.tcdf
}

/// The paths per invocation an adapter asks for by default: [`SOFTWARE_PACK`] on a software
/// adapter (`software`), one on a hardware GPU. llvmpipe runs each invocation's substeps as one
/// chain of dependent vector operations (a step's erf, its polynomial, the update, the next
/// step's gradient), latency-bound: several paths per invocation give it independent chains to
/// interleave (benches/NOTES.md, "Packed paths": four gave the d = 1 entries 1.5–2× their rate;
/// eight as much, and more for signsgd-sde, whose erfc branch is then shared by eight paths, see
/// [`fast1_source`]). A hardware GPU hides latency with other warps and would lose occupancy to
/// the extra registers: one path there.
pub fn default_pack(software: bool) -> usize {
    if software { SOFTWARE_PACK } else { 1 }
}

/// Paths per invocation of the advance kernel for a run with these substeps per step and
/// sampling interval, when `width` paths per invocation are asked for ([`default_pack`], or an
/// engine's setting). The packed loop needs the d = 1 loop's block structure: at most one sample
/// per random block (refine × stat_every ≥ 4, or a dispatch that samples nothing, stat_start =
/// u32::MAX), the condition under which shaders/advance.wgsl takes that loop; other kernels and
/// dispatches get one path per invocation.
pub fn pack_for(k: &KernelConsts, width: usize, p: &Params) -> usize {
    let one_sample_per_block = p.stat_start == u32::MAX || u64::from(p.refine) * u64::from(p.stat_every) >= 4;
    if width > 1 && packable(k) && one_sample_per_block { width } else { 1 }
}

/// Whether kernel `k` has a speculative variant ([`advance_source`] with `spec`): the SignSGD
/// SDE with Gaussian noise. Its drift and diffusion factors come from erf, whose argument
/// |u| ≥ 0.5 takes a branch with an exponential and a division (math.wgsl
/// `erf_big_and_diffusion`). llvmpipe runs both sides of every branch and every loop body at
/// least once, so software adapters paid for that branch at every substep (the packed d = 1
/// kernel: in a loop serving the pending paths; the others: for every coordinate) although
/// near stationarity no path needs it. The speculative kernel takes the small-argument branch
/// alone and flags a dispatch in which some live path met |u| ≥ 0.5; the engine then runs the
/// chunk again with the full kernel (src/gpu/mod.rs). Where no path meets it, both kernels do
/// the same operations on every path, so the results are the same bit for bit. Software
/// adapters only: a hardware GPU's branch is a real one.
pub fn speculable(k: &KernelConsts) -> bool {
    k.kernel == Kernel::SignsgdSde && !k.tcdf
}

/// Whether wgpu compiles kernel `k` with its runtime checks (index clamps on every array and
/// buffer access, a counter that bounds every loop; `wgpu::ShaderRuntimeChecks`) on an adapter
/// that is (`software`) or is not a software rasteriser. The kernels are composed by this crate
/// from fixed sources: their indices stay in range by construction (coordinates below DIM,
/// histogram bins clamped by `bin_of`, paths below the chunk) and their loops are bounded by
/// step and coordinate counts, so the checks guard against nothing here. On an H100 (one call,
/// alternated runs, 2^22 paths × 1000 steps, benches/NOTES.md) dropping them made signsgd-sde
/// d = 1 1.10–1.15× faster, sgd-sde d = 1 1.15–1.22×, adam-sde d = 1 1.14×, signsgd-sde d = 16
/// 1.86× and dsignsgd d = 16 N = 4 1.52×, but DCSGD with a compressor (`Kernel::Dcsgd`, rand-k) 0.90×:
/// that kernel keeps them. On llvmpipe the difference was within the run-to-run spread, so
/// software adapters keep them. Both settings give the same per-path states and records; tests
/// compare them.
pub fn runtime_checks(k: &KernelConsts, software: bool) -> bool {
    software || k.kernel == Kernel::Dcsgd
}

/// Largest histogram (words, [`KernelConsts::hist_words`]) that an invocation counts in private
/// memory ([`private_hist_for`]): the merge at the end of a dispatch reads every word.
pub const PRIVATE_HIST_MAX_WORDS: usize = 1024;

/// Whether a kernel advancing `pack` paths per invocation counts its stationary histogram in
/// private memory, one histogram per invocation added to the workgroup's (or the global one) at
/// the end of the dispatch, instead of one atomic add per sample. llvmpipe runs an atomic add as
/// a locked instruction per lane; with eight packed paths a sampled step made 16 of them per lane,
/// and they cost about a fifth of an adam-sde d = 1 run sampled every 10 steps (benches/NOTES.md).
/// A private array indexed by the bin is a plain load and store per lane there. Packed kernels
/// (software adapters) with a histogram of at most [`PRIVATE_HIST_MAX_WORDS`] words; a hardware
/// GPU's workgroup atomics are cheap, and its private arrays are slow.
pub fn private_hist_for(k: &KernelConsts, pack: usize) -> bool {
    pack > 1 && private_hist_fits(k)
}

/// Whether kernel `k`'s histogram fits an invocation's private memory ([`PRIVATE_HIST_MAX_WORDS`]).
pub fn private_hist_fits(k: &KernelConsts) -> bool {
    k.hist_words() <= PRIVATE_HIST_MAX_WORDS
}

/// How a composed advance kernel computes: every variant of a kernel gives the same values
/// (tests compare each with the CPU twin), at different speeds on different adapters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Coefficients in registers, or read from their buffer ([`coef_regs`]).
    pub coef_regs: bool,
    /// Paths per invocation ([`pack_for`]: 1, or one of [`PACK_WIDTHS`] for a [`packable`] kernel).
    pub pack: usize,
    /// Speculative ([`speculable`]).
    pub spec: bool,
    /// The stationary histogram counted per invocation ([`private_hist_for`]).
    pub private_hist: bool,
    /// Compiled with wgpu's runtime checks ([`runtime_checks`]); the WGSL is the same either way.
    pub checks: bool,
}

impl Variant {
    /// One path per invocation, nothing speculative, the histogram counted by atomic adds, wgpu's
    /// runtime checks on.
    pub fn plain(coef_regs: bool) -> Self {
        Variant { coef_regs, pack: 1, spec: false, private_hist: false, checks: true }
    }
}

/// What the composer writes first into every advance kernel, from `crate::kernel` (so the
/// numbers and slot indices exist only there): the kernels' names `K_*`, the compressor ids
/// `COMP_*`, the classes of the kernel being composed, and one accessor per coefficient slot,
/// `<layout>_<slot>(m, i)` (`adam_eps(m, i)` returns `cf_p4(m, i)`, shared/model.wgsl).
fn kernel_names() -> String {
    let mut s = String::new();
    for k in Kernel::ALL {
        s += &format!("const {}: u32 = {}u;\n", k.wgsl_name(), k.id());
    }
    for (name, id) in COMPRESSOR_IDS {
        s += &format!("const {name}: u32 = {id}u;\n");
    }
    for layout in LAYOUTS {
        for (slot, index) in layout.slots {
            s += &format!(
                "fn {}_{}(m: ptr<function, ModelCoefs>, i: u32) -> f32 {{\n    return cf_p{index}(m, i);\n}}\n",
                layout.name,
                slot.to_lowercase()
            );
        }
    }
    s
}

/// The composed `advance` kernel for these constants in variant `v`.
pub fn advance_source(k: &KernelConsts, v: &Variant) -> Result<String> {
    let Variant { coef_regs, pack, spec, private_hist, checks: _ } = *v;
    if pack != 1 && !(PACK_WIDTHS.contains(&pack) && packable(k)) {
        return Err(Error::Gpu(format!("cannot pack {pack} paths per invocation for {k:?}")));
    }
    if spec && !speculable(k) {
        return Err(Error::Gpu(format!("no speculative kernel for {k:?}")));
    }
    if private_hist && !private_hist_fits(k) {
        return Err(Error::Gpu(format!(
            "a private histogram holds at most {PRIVATE_HIST_MAX_WORDS} words, not {} ({k:?})",
            k.hist_words()
        )));
    }
    let local = uses_local_hist(k);
    let per = k.per_block();
    let header = format!(
        "const DIM: u32 = {}u;\nconst SLOTS: u32 = {}u;\nconst DRAWS: u32 = {}u;\nconst MODEL: u32 = {};\nconst BINS: u32 = {}u;\nconst WG: u32 = {}u;\n\
         const RNG_ROUNDS: u32 = {}u;\nconst STREAM_NOISE: u32 = {}u;\nconst STREAM_COMPRESS: u32 = {}u;\n\
         const USE_LOCAL_HIST: bool = {};\nconst LOCAL_HIST_WORDS: u32 = {}u;\nconst COMP: u32 = {};\n\
         const TNOISE: bool = {};\nconst TCDF: bool = {};\nconst PER_BLOCK: u32 = {}u;\nconst PB_SHIFT: u32 = {}u;\n\
         const COEF_REGS: bool = {};\nconst CDIM: u32 = {}u;\nconst FAST4: bool = {};\nconst PACK: u32 = {}u;\n\
         const INV: u32 = {}u;\nconst SPEC: bool = {};\nconst PRIV_HIST: bool = {};\n\
         const SINGLE_AGENT: bool = {};\nconst AGGREGATES: bool = {};\nconst TIME_FACTORS: bool = {};\n",
        k.dim,
        k.slots(),
        k.draws,
        k.kernel.wgsl_name(),
        k.bins,
        WG,
        ROUNDS,
        STREAM_NOISE,
        STREAM_COMPRESS,
        local,
        if local { k.hist_words() } else { 1 },
        COMPRESSOR_IDS.iter().find(|(_, id)| *id == k.comp).expect("a compressor id").0,
        k.tnoise,
        k.tcdf,
        per,
        per.trailing_zeros(),
        coef_regs,
        if coef_regs { k.dim } else { 1 },
        k.whole_blocks(),
        pack,
        WG / pack,
        spec,
        private_hist,
        k.kernel.is_single_agent(),
        k.kernel.aggregates_agents(),
        k.kernel.has_time_factors(),
    );
    Ok(kernel_names()
        + &header
        + &fast4_coords_source(k)
        + &fast1_source(pack, k.kernel, spec)
        + &resolve("advance.wgsl")?)
}

/// Largest d × draws for which [`fast4_coords_source`] writes the FAST4 substep out.
pub const UNROLL_MAX_VARIATES: usize = 64;

/// WGSL of `fast4_coords` (see `fast4_coords_loop` in shaders/advance.wgsl): the same calls with
/// constant indices, coordinate by coordinate and block by block, when the substep consumes
/// whole blocks ([`KernelConsts::whole_blocks`]) and d × draws ≤ [`UNROLL_MAX_VARIATES`]; else a
/// call of the loop.
pub fn fast4_coords_source(k: &KernelConsts) -> String {
    let (dim, draws) = (k.dim, k.draws as usize);
    let mut s = String::from(
        "fn fast4_coords(g: ptr<function, array<f32, DIM>>, tf: vec2<f32>, x: ptr<function, array<f32, DIM>>,\n    \
         mm: ptr<function, array<f32, DIM>>, vv: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>) {\n",
    );
    let lane = ["x", "y", "z", "w"];
    if !k.whole_blocks() || dim * draws > UNROLL_MAX_VARIATES {
        s.push_str("    fast4_coords_loop(g, tf, x, mm, vv, m);\n");
    } else if draws == 1 {
        for b in (0..dim).step_by(4) {
            for (q, c) in lane.iter().enumerate() {
                let i = b + q;
                s.push_str(&format!(
                    "    update({i}u, (*g)[{i}u], agent_draw(0.0, (*g)[{i}u], n_z.{c}, agents_scale(m, {i}u)), tf, x, mm, vv, m);\n"
                ));
            }
            s.push_str("    next_noise_block();\n");
        }
    } else {
        for i in 0..dim {
            s.push_str(&format!("    var xi{i} = 0.0;\n"));
            for _ in (0..draws).step_by(4) {
                for c in lane {
                    s.push_str(&format!(
                        "    xi{i} = agent_draw(xi{i}, (*g)[{i}u], n_z.{c}, agents_scale(m, {i}u));\n"
                    ));
                }
                s.push_str("    next_noise_block();\n");
            }
            s.push_str(&format!("    update({i}u, (*g)[{i}u], xi{i}, tf, x, mm, vv, m);\n"));
        }
    }
    s.push_str("}\n");
    s
}

/// WGSL of `fast1_run`, the d = 1 loop of shaders/advance.wgsl for `pack` paths per invocation,
/// written out with one set of variables per path (constant names: llvmpipe keeps them in
/// registers). Path 0 is the caller's (its state, `alive`, `p_lo`/`p_hi` and the normals `n_z`);
/// paths q ≥ 1 sit at lanes q INV + lid and are loaded, keyed, advanced and stored here. Every
/// path of the invocation takes the same substeps (the counters are uniform): the substep's
/// update of each live path, then once the bookkeeping (a completed optimizer step freezes each
/// path out of bounds; a sampled one snapshots them all). A random block feeds four substeps
/// (its four normals per path), and a stretch ends at a sampled step, whose snapshots are
/// sampled after the stretch's loop: SIMD drivers such as llvmpipe run both sides of every
/// branch, so sampling code inside the substep loop would cost every substep.
///
/// The SignSGD SDE packed: erf's Taylor branch (|u| < 0.5) for every path, and its
/// erfc branch in a loop that serves one pending path per trip, first pending first. llvmpipe
/// runs both sides of a branch but leaves a loop once no invocation of the SIMD group has a
/// path pending: near stationarity that is one trip, one erfc per substep for all the packed
/// paths instead of one for each. Each path's (erf, diffusion) is the one
/// `erf_and_diffusion` gives, bit for bit. The speculative kernel (`spec`, [`speculable`]) has no
/// such loop: a pending path sets `spec_fail` instead.
///
/// The bias corrections of Adam and its SDE (shared/model.wgsl `block_iotas`) take two
/// exponentials per block here, at its first substep, and a multiply-add for each substep of it,
/// instead of two exponentials per substep.
pub fn fast1_source(pack: usize, kernel: Kernel, spec: bool) -> String {
    let others = 1..pack;
    // Path q's state (an lvalue), its pointer, and its normals.
    let xv = |q: usize| if q == 0 { "(*x0)".to_string() } else { format!("x{q}") };
    let xp = |q: usize| if q == 0 { "x0".to_string() } else { format!("&x{q}") };
    let zv = |q: usize| if q == 0 { "n_z".to_string() } else { format!("z{q}") };
    let mmp = |q: usize| if q == 0 { "mm0".to_string() } else { format!("&mm{q}") };
    let vvp = |q: usize| if q == 0 { "vv0".to_string() } else { format!("&vv{q}") };
    let shared_erf = kernel == Kernel::SignsgdSde && pack > 1;
    let mut s = String::from(
        "fn fast1_run(wid: u32, lid: u32, x0: ptr<function, array<f32, DIM>>, mm0: ptr<function, array<f32, DIM>>,\n    \
         vv0: ptr<function, array<f32, DIM>>, m: ptr<function, ModelCoefs>, s1: ptr<function, array<f32, NQ>>,\n    \
         s2: ptr<function, array<f32, DIM>>, ns: ptr<function, f32>) {\n    \
         var al0 = alive;\n",
    );
    for q in 0..pack {
        s.push_str(&format!("    var sn{q}: array<f32, DIM>;\n    var sl{q} = false;\n"));
    }
    for q in others.clone() {
        s.push_str(&format!(
            "    var x{q}: array<f32, DIM>;\n    var mm{q}: array<f32, DIM>;\n    var vv{q}: array<f32, DIM>;\n    \
             var al{q} = false;\n    if (load_path(wid, {q}u * INV + lid, &x{q}, &mm{q}, &vv{q})) {{\n        \
             al{q} = in_bounds(&x{q});\n    }}\n    let key{q} = path_key(wid, {q}u * INV + lid);\n    \
             var z{q} = pack_normals(key{q});\n    \
             if (params.init == 1u && is_sample(0u)) {{\n        sample(&x{q}, al{q}, m, s1, s2, ns);\n    }}\n"
        ));
    }
    s.push_str(
        "    let total = (params.k_end - params.k_begin) * params.refine;\n    var j = 0u;\n    \
         var next = first_sample_after(params.k_begin);\n    var k = params.k_begin;\n    var n = 0u;\n    \
         loop {\n        if (n >= total) {\n            break;\n        }\n        var had = false;\n        \
         loop {\n            if (n >= total || had) {\n                break;\n            }\n            \
         // Substeps from variate `first` of the current block to its end (or to the segment's end);\n            \
         // the guards are uniform.\n            let first = n_lane;\n            \
         let cnt = min(4u - first, total - n);\n",
    );
    let bias = kernel.has_time_factors();
    if bias {
        // The bias corrections of the block's first substep (Adam and its SDE; shared/model.wgsl
        // block_iotas: variate m of the stream is substep m, so `first` is the substep's place in its block).
        s.push_str("            let ib = block_iotas(substep_number(k, j) - f32(first));\n");
    }
    let guards =
        ["first == 0u", "first <= 1u && first + cnt > 1u", "first <= 2u && first + cnt > 2u", "first + cnt > 3u"];
    for (bj, (c, guard)) in ["x", "y", "z", "w"].iter().zip(guards).enumerate() {
        s.push_str(&format!("            if ({guard}) {{\n"));
        if shared_erf {
            for q in 0..pack {
                let x = xv(q);
                s.push_str(&format!(
                    "                let u{q} = grad1({x}[0], m) * signsgd_sde_inv_scale(m, 0u);\n                \
                     var e{q} = erf_small_and_diffusion(u{q});\n                \
                     var pend{q} = al{q} && !(abs(u{q}) < 0.5);\n"
                ));
            }
            let any: Vec<String> = (0..pack).map(|q| format!("pend{q}")).collect();
            if spec {
                // Speculative kernel ([`speculable`]): no erfc; a pending path fails the dispatch.
                s.push_str(&format!("                spec_fail = spec_fail || {};\n", any.join(" || ")));
            } else {
                let mut first_u = format!("u{}", pack - 1);
                for q in (0..pack - 1).rev() {
                    first_u = format!("select({first_u}, u{q}, pend{q})");
                }
                s.push_str(&format!(
                "                loop {{\n                    let big = erf_big_and_diffusion({first_u});\n                    "
            ));
                for q in 0..pack {
                    let other = if q == 0 { "" } else { "} else " };
                    s.push_str(&format!("{other}if (pend{q}) {{\n                        e{q} = big;\n                        pend{q} = false;\n                    "));
                }
                s.push_str(&format!(
                "}}\n                    if (!({})) {{\n                        break;\n                    }}\n                }}\n",
                any.join(" || ")
            ));
            }
            for q in 0..pack {
                let (x, z) = (xv(q), zv(q));
                s.push_str(&format!(
                    "                if (al{q}) {{\n                    \
                     {x}[0] = sign_sde_update({x}[0], e{q}, {z}.{c}, signsgd_sde_dt(m, 0u), signsgd_sde_noise(m, 0u));\n                }}\n"
                ));
            }
        } else {
            // Substep bj of the block's time factors (unused by kernels without bias corrections).
            if bias {
                s.push_str(&format!("                let tf = block_time_factors(ib, g_tc[{bj}], g_tq[{bj}]);\n"));
            } else {
                s.push_str("                let tf = vec2<f32>(0.0, 0.0);\n");
            }
            for q in 0..pack {
                let (x, p, z, mm, vv) = (xv(q), xp(q), zv(q), mmp(q), vvp(q));
                s.push_str(&format!(
                    "                if (al{q}) {{\n                    \
                     update(0u, grad1({x}[0], m), {z}.{c}, tf, {p}, {mm}, {vv}, m);\n                }}\n"
                ));
            }
        }
        s.push_str("                j += 1u;\n                if (j == u_refine) {\n                    j = 0u;\n                    k += 1u;\n");
        for q in 0..pack {
            s.push_str(&format!("                    al{q} = still_live({}, al{q}, k);\n", xp(q)));
        }
        s.push_str("                    if (k == next) {\n                        next = next_sample(next);\n");
        for q in 0..pack {
            s.push_str(&format!(
                "                        sn{q} = {};\n                        sl{q} = al{q};\n",
                xv(q)
            ));
        }
        s.push_str("                        had = true;\n                    }\n                }\n            }\n");
    }
    s.push_str(
        "            n += cnt;\n            n_lane = first + cnt;\n            if (n_lane == 4u) {\n                \
         next_noise_block();\n",
    );
    for q in others.clone() {
        s.push_str(&format!("                z{q} = pack_normals(key{q});\n"));
    }
    s.push_str("                n_lane = 0u;\n            }\n        }\n        if (had) {\n");
    for q in 0..pack {
        s.push_str(&format!("            sample(&sn{q}, sl{q}, m, s1, s2, ns);\n"));
    }
    s.push_str("        }\n    }\n    alive = al0;\n    pk_x[0] = (*x0)[0];\n");
    for q in others {
        s.push_str(&format!(
            "    pk_alive[{q}] = al{q};\n    pk_x[{q}] = x{q}[0];\n    if (wid * WG + {q}u * INV + lid < params.n_paths) {{\n        \
             store_path(wid, {q}u * INV + lid, &x{q}, &mm{q}, &vv{q});\n    }}\n"
        ));
    }
    s.push_str("}\n");
    s
}

/// The composed `rng_words` kernel.
pub fn rng_words_source() -> Result<String> {
    let header = format!("const RNG_ROUNDS: u32 = {ROUNDS}u;\nconst STREAM_NOISE: u32 = {STREAM_NOISE}u;\n");
    Ok(header + &resolve("rng_words.wgsl")?)
}

/// The composed `tdist_eval` test kernel (Student-t sampler and sign-SDE moments).
pub fn tdist_eval_source() -> Result<String> {
    resolve("tdist_eval.wgsl")
}

/// Parse and validate WGSL with naga; errors carry naga's report.
pub fn validate(src: &str) -> Result<naga::Module> {
    let module = naga::front::wgsl::parse_str(src).map_err(|e| Error::Gpu(e.emit_to_string(src)))?;
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
        .validate(&module)
        .map_err(|e| Error::Gpu(format!("{e:?}")))?;
    Ok(module)
}
