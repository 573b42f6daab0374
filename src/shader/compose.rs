//! The composed kernels: the embedded WGSL sources, and what the composer writes before them
//! (the kernels' and compressors' names, one accessor per coefficient slot, and the constants a
//! kernel is specialised for, each with its meaning), then the kernel's text with its
//! directives applied ([`super::preprocess`]).

use super::policy::{
    PACK_WIDTHS, Variant, fast4_written_out, packable, private_hist_fits, speculable, uses_local_hist,
};
use super::preprocess::{Defines, Value, preprocess};
use crate::error::{Error, Result};
use crate::experiment::{SCHED_KIND_MASK, SCHED_NORM_TRUE, SCHED_PER_COORDINATE, SCHEDULE_IDS};
use crate::kernel::coefs::{self, LAYOUTS};
use crate::kernel::{COMPRESSOR_IDS, CROSS_TILE, Kernel, KernelConsts, WG};
use crate::objective::{Stage, registry};
use crate::rng::{ROUNDS, STREAM_COMPRESS, STREAM_LABEL, STREAM_NOISE};

/// Embedded shader sources, by path relative to `shaders/`.
const SOURCES: &[(&str, &str)] = &[
    ("advance.wgsl", include_str!("../../shaders/advance.wgsl")),
    ("advance/fast1.wgsl", include_str!("../../shaders/advance/fast1.wgsl")),
    ("advance/fast4.wgsl", include_str!("../../shaders/advance/fast4.wgsl")),
    ("formula_eval.wgsl", include_str!("../../shaders/formula_eval.wgsl")),
    ("rng_words.wgsl", include_str!("../../shaders/rng_words.wgsl")),
    ("shared/coefs.wgsl", include_str!("../../shaders/shared/coefs.wgsl")),
    ("shared/cross.wgsl", include_str!("../../shaders/shared/cross.wgsl")),
    ("shared/cursor.wgsl", include_str!("../../shaders/shared/cursor.wgsl")),
    ("shared/formula_math.wgsl", include_str!("../../shaders/shared/formula_math.wgsl")),
    ("shared/hist.wgsl", include_str!("../../shaders/shared/hist.wgsl")),
    ("shared/layout.wgsl", include_str!("../../shaders/shared/layout.wgsl")),
    ("shared/lr_schedule.wgsl", include_str!("../../shaders/shared/lr_schedule.wgsl")),
    ("shared/math.wgsl", include_str!("../../shaders/shared/math.wgsl")),
    ("shared/model.wgsl", include_str!("../../shaders/shared/model.wgsl")),
    ("shared/objective.wgsl", include_str!("../../shaders/shared/objective.wgsl")),
    ("shared/objective_dense.wgsl", include_str!("../../shaders/shared/objective_dense.wgsl")),
    ("shared/data.wgsl", include_str!("../../shaders/shared/data.wgsl")),
    ("shared/objective_formula.wgsl", include_str!("../../shaders/shared/objective_formula.wgsl")),
    ("shared/paths.wgsl", include_str!("../../shaders/shared/paths.wgsl")),
    ("shared/reduce.wgsl", include_str!("../../shaders/shared/reduce.wgsl")),
    ("shared/rng.wgsl", include_str!("../../shaders/shared/rng.wgsl")),
    ("shared/schedule.wgsl", include_str!("../../shaders/shared/schedule.wgsl")),
    ("shared/tdist.wgsl", include_str!("../../shaders/shared/tdist.wgsl")),
    ("shared/time_factors.wgsl", include_str!("../../shaders/shared/time_factors.wgsl")),
    ("tdist_eval.wgsl", include_str!("../../shaders/tdist_eval.wgsl")),
];

const _: () = assert!(ROUNDS == 13, "shaders/shared/rng.wgsl writes out 13 rounds");

fn source(path: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
}

/// The shader at `path` (relative to `shaders/`) with its imports resolved and its directives
/// applied under `defines`.
pub fn compose(path: &str, defines: &Defines) -> Result<String> {
    preprocess(path, &source, defines)
}

/// The shader at `path` with its imports resolved, for shaders without other directives.
pub fn resolve(path: &str) -> Result<String> {
    compose(path, &Defines::new())
}

/// A constant the composer writes before a kernel's text.
struct Injected {
    name: &'static str,
    /// What it means, written above it in the composed text.
    doc: &'static str,
    value: Val,
}

enum Val {
    U32(u64),
    Bool(bool),
    /// Another constant's name (`MODEL = K_ADAM`).
    Name(&'static str),
}

impl Injected {
    fn wgsl(&self) -> String {
        let (ty, value) = match &self.value {
            Val::U32(v) => ("u32", format!("{v}u")),
            Val::Bool(b) => ("bool", b.to_string()),
            Val::Name(n) => ("u32", n.to_string()),
        };
        format!("// {}\nconst {}: {ty} = {value};\n", self.doc, self.name)
    }

    /// The directives see numbers and flags under the same names.
    fn define(&self) -> Option<Value> {
        match self.value {
            Val::U32(v) => Some(Value::Number(v as i64)),
            Val::Bool(b) => Some(Value::Flag(b)),
            Val::Name(_) => None,
        }
    }
}

/// The largest d at which the advance kernel picks each stationary sum out of its private arrays
/// by a scan with constant indices (keeping short arrays in registers, which a dynamic index
/// would demote to scratch memory on some drivers); above it, by a dynamic index, because
/// lavapipe (Mesa 22.3, LLVM 15) miscompiles the long scan: in the kernel at d = 256 every sum
/// from index 256 on (the loss and all second moments) came back 0, and in a shader of the scan
/// alone the sums from index 251 on at d = 128 and from 126 on at d = 256 (the scan up to d = 96
/// was right). At such d the sampling loops index the arrays dynamically anyway.
pub const SCAN_SUMS_MAX_DIM: usize = 32;

/// The constants the advance kernel is specialised for: what the host decides. Constants that
/// follow from these (`INV`, `CDIM`, `PB_SHIFT`, the word counts) are computed in the WGSL.
fn injected(k: &KernelConsts, v: &Variant) -> Vec<Injected> {
    use Val::*;
    let comp = COMPRESSOR_IDS.iter().find(|(_, id)| *id == k.comp).expect("a compressor id").0;
    let sched_kind = k.schedule & SCHED_KIND_MASK;
    let sched = SCHEDULE_IDS.iter().find(|(_, id)| *id == sched_kind).expect("a schedule id").0;
    let i = |name, doc, value| Injected { name, doc, value };
    vec![
        i("DIM", "Coordinates of a path.", U32(k.dim as u64)),
        i(
            "SLOTS",
            "State words per coordinate: x, then the model's EMAs (KernelConsts::slots).",
            U32(k.slots() as u64),
        ),
        i("DRAWS", "Random variates per coordinate and substep (KernelConsts::draws).", U32(u64::from(k.draws))),
        i("MODEL", "The kernel, one of the K_* above (crate::kernel::Kernel).", Name(k.kernel.wgsl_name())),
        i("COMP", "The compressor of K_DCSGD, one of the COMP_* above.", Name(comp)),
        i("SCHEDULE", "The learning-rate schedule, one of the SCHED_* above (KernelConsts::schedule).", Name(sched)),
        i(
            "NORM_TRUE",
            "A gradient-norm schedule takes the norm of the gradient of f, not of the sampled gradient.",
            Bool(k.schedule & SCHED_NORM_TRUE != 0),
        ),
        i(
            "NORM_COORD",
            "A gradient-norm schedule takes each coordinate's norm, not the vector's.",
            Bool(k.schedule & SCHED_PER_COORDINATE != 0),
        ),
        i(
            "SINGLE_AGENT",
            "One agent, one variate per coordinate and substep (Kernel::is_single_agent).",
            Bool(k.kernel.is_single_agent()),
        ),
        i(
            "AGGREGATES",
            "The agents' variates are summed per coordinate (Kernel::aggregates_agents).",
            Bool(k.kernel.aggregates_agents()),
        ),
        i(
            "TIME_FACTORS",
            "The update scales by Adam's bias corrections (Kernel::has_time_factors).",
            Bool(k.kernel.has_time_factors()),
        ),
        i("TNOISE", "The optimizer samples Student-t variates instead of normals.", Bool(k.tnoise)),
        i(
            "DATA",
            "The gradient is sampled from data, a linear regression (crate::objective::Stage::Regression).",
            Bool(k.objective.samples_data()),
        ),
        i(
            "DATA_SDE",
            "An SDE on sampled data: data.wgsl's data_sde_coords gives its diffusion.",
            Bool(k.objective.samples_data() && k.model.is_sde()),
        ),
        i(
            "TLABEL",
            "A discrete model on sampled data draws Student-t labels from their own stream (KernelConsts::tlabel).",
            Bool(k.tlabel),
        ),
        i("SIGN_LIMIT", "The SGD SDE kernel runs signHSGD's drift (KernelConsts::sign_limit).", Bool(k.sign_limit())),
        i(
            "DATA_ROTATED",
            "A regression with a rotated K: data points and noise are M z, M a dense factor (Stage::Regression).",
            Bool(matches!(k.objective, Stage::Regression { rotated: true, .. })),
        ),
        i(
            "DATA_SCALARS",
            "Where a regression's label scale, E eps^2 and 1/B start among its words (Stage::data_scalars).",
            U32(k.objective.data_scalars(k.dim) as u64),
        ),
        i(
            "DATA_PHI_TABLE",
            "signHSGD with Student-t labels reads its drift factor phi(P) from a table (Stage::Regression).",
            Bool(matches!(k.objective, Stage::Regression { phi_table: true, .. })),
        ),
        i(
            "DATA_PHI",
            "Where a regression's phi table (s^2, then R at the nodes) starts among its words (Stage::data_phi).",
            U32(k.objective.data_phi(k.dim) as u64),
        ),
        i(
            "DATA_PHI_INTERVALS",
            "Intervals of the phi table's grid in w = s / sqrt(2P + s^2) (crate::objective::PHI_INTERVALS).",
            U32(crate::objective::PHI_INTERVALS as u64),
        ),
        i(
            "DATA_BATCH",
            "Data points per step and agent (crate::objective::Stage::batch).",
            U32(u64::from(k.objective.batch())),
        ),
        i("TCDF", "The sign SDE evaluates the Student-t CDF for erf.", Bool(k.tcdf)),
        i(
            "PER_BLOCK",
            "Variates per random block: four normals, or one Student-t variate (KernelConsts::per_block).",
            U32(k.per_block()),
        ),
        i(
            "FAST4",
            "Each substep of the general loop takes whole random blocks (KernelConsts::whole_blocks).",
            Bool(k.whole_blocks()),
        ),
        i(
            "CROSS",
            "Coordinate pairs whose products the stationary samples sum (KernelConsts::cross_pairs).",
            U32(k.cross_pairs() as u64),
        ),
        i(
            "CROSS_TILE",
            "Pair sums added per pass of the workgroup reduction (crate::kernel::CROSS_TILE).",
            U32(CROSS_TILE as u64),
        ),
        i("HIST_PAIRS", "Coordinate pairs with a 2-D histogram (KernelConsts::pairs).", U32(k.pairs.len() as u64)),
        i("PAIR_BINS", "Bins per axis of a 2-D histogram (KernelConsts::pair_bins).", U32(u64::from(k.pair_bins()))),
        i("BINS", "Histogram bins per quantity, besides underflow and overflow.", U32(u64::from(k.bins))),
        i("WG", "Paths per workgroup: one statistics batch (crate::kernel::WG).", U32(WG as u64)),
        i("RNG_ROUNDS", "Threefry rounds (crate::rng::ROUNDS).", U32(u64::from(ROUNDS))),
        i("STREAM_NOISE", "Key word of the noise stream (crate::rng::STREAM_NOISE).", U32(u64::from(STREAM_NOISE))),
        i(
            "STREAM_LABEL",
            "Key word of a regression's Student-t label stream (crate::rng::STREAM_LABEL).",
            U32(u64::from(STREAM_LABEL)),
        ),
        i(
            "STREAM_COMPRESS",
            "Key word of the compressor stream (crate::rng::STREAM_COMPRESS).",
            U32(u64::from(STREAM_COMPRESS)),
        ),
        i(
            "USE_LOCAL_HIST",
            "The histogram is counted in workgroup memory (src/shader/policy.rs uses_local_hist).",
            Bool(uses_local_hist(k)),
        ),
        i("COEF_REGS", "The coefficients are kept in registers (src/shader/policy.rs coef_regs).", Bool(v.coef_regs)),
        i("PACK", "Paths per invocation (src/shader/policy.rs pack_for).", U32(v.pack as u64)),
        i("SPEC", "The speculative kernel (src/shader/policy.rs speculable).", Bool(v.spec)),
        i(
            "PRIV_HIST",
            "The histogram is counted per invocation (src/shader/policy.rs private_hist_for).",
            Bool(v.private_hist),
        ),
    ]
}

/// What the composer writes first into every advance kernel, from `crate::kernel` (so the
/// numbers and slot indices exist only there): the kernels' names `K_*`, the compressor ids
/// `COMP_*`, the schedule ids `SCHED_*`, and one accessor per coefficient slot, `<layout>_<slot>(m, i)` (`adam_eps(m, i)`
/// returns `cf_p4(m, i)`, shared/coefs.wgsl).
fn kernel_names() -> String {
    let mut s = String::from("// Kernels and compressors by name (crate::kernel).\n");
    for k in Kernel::ALL {
        s += &format!("const {}: u32 = {}u;\n", k.wgsl_name(), k.id());
    }
    for (name, id) in COMPRESSOR_IDS.iter().chain(&SCHEDULE_IDS) {
        s += &format!("const {name}: u32 = {id}u;\n");
    }
    s += "// Coefficient slots by name (crate::kernel::coefs).\n";
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

/// The 2-D histograms' constants: the scale from a coordinate's 1-D bins to its 2-D bins and
/// the coordinates of each pair.
fn pair_consts(k: &KernelConsts) -> String {
    let scale = k.pair_scale();
    let mut s = format!("// PAIR_BINS / BINS in f32 (KernelConsts::pair_scale).\nconst PAIR_SCALE: f32 = {scale:?};\n");
    for (p, [i, j]) in k.pairs.iter().enumerate() {
        s += &format!("const PAIR{p}_I: u32 = {i}u;\nconst PAIR{p}_J: u32 = {j}u;\n");
    }
    s
}

/// The composed `advance` kernel for these constants in variant `v`.
pub fn advance_source(k: &KernelConsts, v: &Variant) -> Result<String> {
    if v.pack != 1 && !(PACK_WIDTHS.contains(&v.pack) && packable(k)) {
        return Err(Error::Gpu(format!("cannot pack {} paths per invocation for {k:?}", v.pack)));
    }
    if v.spec && !speculable(k) {
        return Err(Error::Gpu(format!("no speculative kernel for {k:?}")));
    }
    if v.private_hist && !private_hist_fits(k) {
        return Err(Error::Gpu(format!(
            "a private histogram holds at most {} words, not {} ({k:?})",
            super::policy::PRIVATE_HIST_MAX_WORDS,
            k.hist_words()
        )));
    }
    let consts = injected(k, v);
    let mut defines: Defines = consts.iter().filter_map(|c| Some((c.name.to_string(), c.define()?))).collect();
    // The values that only the directives read.
    defines.insert(
        // shaders/advance/fast1.wgsl: the packed SignSGD SDE shares erf's large-argument branch.
        "SHARED_ERF".into(),
        Value::Flag(k.kernel == Kernel::SignsgdSde && v.pack > 1),
    );
    // shaders/advance/fast4.wgsl: `fast4_coords` written out, not looped.
    defines.insert("FAST4_WRITTEN_OUT".into(), Value::Flag(fast4_written_out(k)));
    // advance.wgsl: how the end of a dispatch picks each stationary sum (SCAN_SUMS_MAX_DIM).
    defines.insert("SCAN_SUMS_MAX_DIM".into(), Value::Number(SCAN_SUMS_MAX_DIM as i64));
    // advance.wgsl: the objective stage (crate::objective::Stage).
    defines.insert("OBJ_DENSE".into(), Value::Flag(k.objective.is_dense()));
    defines.insert("OBJ_FORMULA".into(), Value::Flag(matches!(k.objective, Stage::Formula(_))));
    defines.insert("OBJ_BUFFER".into(), Value::Flag(k.objective != Stage::Diagonal));
    // shared/coefs.wgsl: the coefficient slots p0, p1, ... of `Coef` (crate::layout::Coef).
    defines.insert("COEF_SLOTS".into(), Value::Number(coefs::SLOTS as i64));
    let header: String = consts.iter().map(Injected::wgsl).collect();
    // A formula's functions (shared/objective_formula.wgsl calls them).
    let formula = match k.objective {
        Stage::Formula(key) => {
            let f = registry::by_key(key)
                .ok_or_else(|| Error::Gpu(format!("no compiled formula with key {key:#x} in this process")))?;
            format!("\n// The formula `{}` (src/objective/formula).\n{}", f.text().replace('\n', " "), f.wgsl())
        }
        _ => String::new(),
    };
    Ok(kernel_names()
        + "// The constants this kernel is specialised for (src/shader/compose.rs).\n"
        + &header
        + &pair_consts(k)
        + &compose("advance.wgsl", &defines)?
        + &formula)
}

/// The composed `rng_words` kernel.
pub fn rng_words_source() -> Result<String> {
    let header = format!("const RNG_ROUNDS: u32 = {ROUNDS}u;\nconst STREAM_NOISE: u32 = {STREAM_NOISE}u;\n");
    Ok(header + &resolve("rng_words.wgsl")?)
}

/// The composed `formula_eval` test kernel for a formula of dimension `dim` whose functions
/// ([`crate::objective::formula::Formula::wgsl`]) are `functions`.
pub fn formula_eval_source(dim: usize, functions: &str) -> Result<String> {
    Ok(format!("const DIM: u32 = {dim}u;\n{}\n{functions}", resolve("formula_eval.wgsl")?))
}

/// The composed `tdist_eval` test kernel (Student-t sampler and sign-SDE moments).
pub fn tdist_eval_source() -> Result<String> {
    resolve("tdist_eval.wgsl")
}
