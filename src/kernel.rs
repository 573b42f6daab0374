//! The configuration of the advance kernel that every backend runs: which kernel computes an
//! experiment, and the constants it is specialised for. The WGSL composer (`crate::shader`)
//! injects them, the CPU twin (`crate::cpu::advance`) takes them as arguments, and the plan
//! (`crate::plan`) sizes its buffers with them. Backend-neutral: depends on the problem types
//! alone.

use crate::experiment::{BATCH, Compressor, Experiment, ModelKind, Noise};

/// Paths per workgroup (= paths per statistics batch); the GPU kernel's invocations per workgroup
/// unless it packs several paths into each (`crate::shader::pack_for`).
pub const WG: usize = BATCH as usize;

/// The kernel that runs an experiment (`MODEL` in the shader): [`ModelKind::id`], except for
/// the compressed models, whose kernel depends on the compressor:
/// * `dcsgd` with the identity is DSGD (kernel 8); any other compressor runs kernel 10;
/// * `dcsgd-sde`: identity, and rand-k with k = d (ω = 0), is the DSGD SDE (kernel 0);
///   bernoulli has a diagonal diffusion (kernel 11); rand-k needs the O(d) sampler of spec §6.3
///   (kernel 12).
pub fn kernel_id(exp: &Experiment) -> u32 {
    let c = exp.model.compressor;
    match exp.model.name {
        ModelKind::Dcsgd if c == Compressor::Identity => 8,
        ModelKind::Dcsgd => 10,
        ModelKind::DcsgdSde => match c {
            Compressor::Bernoulli { .. } => 11,
            Compressor::RandK { .. } if c.omega(exp.dim) > 0.0 => 12,
            _ => 0,
        },
        kind => kind.id(),
    }
}

/// Compressor ids (`COMP` in the shader).
pub const COMP_IDENTITY: u32 = 0;
pub const COMP_BERNOULLI: u32 = 1;
pub const COMP_RANDK: u32 = 2;
pub const COMP_QSGD: u32 = 3;
pub const COMP_NATURAL: u32 = 4;

/// The id of a compressor.
pub fn comp_id(c: &Compressor) -> u32 {
    match c {
        Compressor::Identity => COMP_IDENTITY,
        Compressor::Bernoulli { .. } => COMP_BERNOULLI,
        Compressor::RandK { .. } => COMP_RANDK,
        Compressor::Qsgd { .. } => COMP_QSGD,
        Compressor::Natural => COMP_NATURAL,
    }
}

/// The constants the WGSL kernel receives by injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelConsts {
    pub model: ModelKind,
    /// The kernel (`MODEL`, [`kernel_id`]).
    pub kernel: u32,
    pub dim: usize,
    pub bins: u32,
    /// Random variates per coordinate per substep: the agents of kernels 8–10, 2 for the
    /// rand-k SDE (kernel 12), else 1.
    pub draws: u32,
    /// Compressor of kernel 10 (`COMP_*`).
    pub comp: u32,
    /// The discrete optimizer samples Student-t variates (two words each) instead of normals.
    pub tnoise: bool,
    /// The sign SDE evaluates the Student-t CDF (`crate::noise::t_sign_moments`) for erf.
    pub tcdf: bool,
}

impl KernelConsts {
    /// The kernel constants of an experiment with `bins` histogram bins.
    pub fn new(exp: &Experiment, bins: u32) -> Self {
        let kernel = kernel_id(exp);
        let draws = match kernel {
            8..=10 => exp.model.agents,
            12 => 2,
            _ => 1,
        };
        let student = matches!(exp.noise, Noise::StudentT { .. });
        KernelConsts {
            model: exp.model.name,
            kernel,
            dim: exp.dim,
            bins,
            draws,
            comp: comp_id(&exp.model.compressor),
            tnoise: student && !exp.model.name.is_sde(),
            tcdf: student && kernel == 2,
        }
    }

    /// State words per coordinate (x, then the EMAs).
    pub fn slots(&self) -> usize {
        self.model.slots()
    }

    /// Length of the histogram buffer: (dim + 1) quantities × (bins, underflow, overflow).
    pub fn hist_words(&self) -> usize {
        (self.dim + 1) * (self.bins as usize + 2)
    }

    /// Whether each substep of the shader's general loop takes whole random blocks (the
    /// `FAST4` constant of shaders/advance.wgsl): four coordinates per block (draws = 1, d a
    /// multiple of 4) or four agents (draws a multiple of 4), Gaussian noise, and a kernel that
    /// reads its variates coordinate by coordinate (not DCSGD's or the rand-k SDE's own steps).
    /// Every segment then starts at a block boundary (m0 = k_begin refine d draws).
    pub fn whole_blocks(&self) -> bool {
        let shape = (self.draws == 1 && self.dim.is_multiple_of(4)) || self.draws.is_multiple_of(4);
        shape && !self.tnoise && self.kernel != 10 && self.kernel != 12
    }

    /// Variates per random block of the noise stream: four normals, or one Student-t variate
    /// (three words: a 48-bit radius and an angle, see `crate::noise`).
    pub fn per_block(&self) -> u64 {
        if self.tnoise { 1 } else { 4 }
    }
}
