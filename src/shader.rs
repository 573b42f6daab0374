//! WGSL composition (STYLE habit 3): kernels `#import` files of `shaders/shared/`, and the
//! host prepends a few named constants (dimension, model, bins, ...). Every composed shader
//! is validated with naga, in `cargo test` too, without a GPU.

use crate::cpu::advance::{KernelConsts, WG};
use crate::error::{Error, Result};
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

/// The composed `advance` kernel for these constants, with the coefficients in registers or
/// read from their buffer ([`coef_regs`]).
pub fn advance_source(k: &KernelConsts, coef_regs: bool) -> Result<String> {
    let local = uses_local_hist(k);
    let per = k.per_block();
    let header = format!(
        "const DIM: u32 = {}u;\nconst SLOTS: u32 = {}u;\nconst DRAWS: u32 = {}u;\nconst MODEL: u32 = {}u;\nconst BINS: u32 = {}u;\nconst WG: u32 = {}u;\n\
         const RNG_ROUNDS: u32 = {}u;\nconst STREAM_NOISE: u32 = {}u;\nconst STREAM_COMPRESS: u32 = {}u;\n\
         const USE_LOCAL_HIST: bool = {};\nconst LOCAL_HIST_WORDS: u32 = {}u;\nconst COMP: u32 = {}u;\n\
         const TNOISE: bool = {};\nconst TCDF: bool = {};\nconst PER_BLOCK: u32 = {}u;\nconst PB_SHIFT: u32 = {}u;\n\
         const COEF_REGS: bool = {};\nconst CDIM: u32 = {}u;\nconst FAST4: bool = {};\n",
        k.dim,
        k.slots(),
        k.draws,
        k.kernel,
        k.bins,
        WG,
        ROUNDS,
        STREAM_NOISE,
        STREAM_COMPRESS,
        local,
        if local { k.hist_words() } else { 1 },
        k.comp,
        k.tnoise,
        k.tcdf,
        per,
        per.trailing_zeros(),
        coef_regs,
        if coef_regs { k.dim } else { 1 },
        k.whole_blocks(),
    );
    Ok(header + &fast4_coords_source(k) + &resolve("advance.wgsl")?)
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
                    "    update({i}u, (*g)[{i}u], agent_draw(0.0, (*g)[{i}u], n_z.{c}, cf_p1(m, {i}u)), tf, x, mm, vv, m);\n"
                ));
            }
            s.push_str("    next_noise_block();\n");
        }
    } else {
        for i in 0..dim {
            s.push_str(&format!("    var xi{i} = 0.0;\n"));
            for _ in (0..draws).step_by(4) {
                for c in lane {
                    s.push_str(&format!("    xi{i} = agent_draw(xi{i}, (*g)[{i}u], n_z.{c}, cf_p1(m, {i}u));\n"));
                }
                s.push_str("    next_noise_block();\n");
            }
            s.push_str(&format!("    update({i}u, (*g)[{i}u], xi{i}, tf, x, mm, vv, m);\n"));
        }
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
