//! The GPU backend: the wgpu instance and the adapter's device (`instance.rs`), the kernel
//! variant each run uses (`variant.rs`), one pipeline per kernel configuration and chunk-sized
//! buffers (`pipeline.rs`), and the dispatches with a two-slot staging ring so that segment s + 1
//! computes while the host reads segment s back (`engine.rs`). Labels are `optsde.<kernel>`.

use std::collections::{HashMap, HashSet};

use crate::kernel::KernelConsts;
use crate::plan::BackendInfo;
use crate::shader::Variant;

mod engine;
mod eval;
mod formula_eval;
mod instance;
mod pipeline;
mod variant;

pub use formula_eval::FormulaValues;
pub use instance::adapters;
pub use variant::{VARIANT_VAR, VariantSettings};

/// The wgpu engine.
pub struct GpuEngine {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: BackendInfo,
    limits: wgpu::Limits,
    software: bool,
    /// Advance pipelines by kernel and variant.
    pipelines: HashMap<(KernelConsts, Variant), pipeline::Pipeline>,
    /// Where the advance kernel keeps the coefficients: `None` chooses by adapter and d
    /// ([`crate::shader::coef_regs`]); tests force either variant.
    coef_regs: Option<bool>,
    /// Paths per invocation that the d = 1 loop is asked to pack: `None` chooses by adapter
    /// ([`crate::shader::default_pack`], then [`crate::shader::pack_for`]); tests and `OPTSDE_GPU_VARIANT`
    /// force a width.
    pack: Option<usize>,
    /// Whether chunks are tried with the speculative kernel first: `None` on software adapters
    /// wherever it applies ([`crate::shader::speculable`]); tests and `OPTSDE_GPU_VARIANT` force it.
    speculate: Option<bool>,
    /// Whether invocations count the histogram in private memory: `None` chooses by kernel and
    /// packing ([`crate::shader::private_hist_for`]); tests force either variant.
    private_hist: Option<bool>,
    /// Whether wgpu compiles the advance kernels with its runtime checks: `None` chooses by
    /// kernel and adapter ([`crate::shader::runtime_checks`]); tests and `OPTSDE_GPU_VARIANT` force it.
    checks: Option<bool>,
    /// Kernels whose speculative run failed once: this engine runs them in full since.
    spec_failed: HashSet<KernelConsts>,
    /// Chunks tried speculatively, and those run again in full after their try failed.
    spec_tried: u64,
    spec_reruns: u64,
    bufs: Option<pipeline::Buffers>,
}
