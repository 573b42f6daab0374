//! The configuration of the advance kernel that every backend runs: which kernel computes an
//! experiment ([`Kernel`]), the constants it is specialised for ([`KernelConsts`]) and the
//! meaning of its coefficient slots ([`coefs`]). The WGSL composer (`crate::shader`) writes
//! them into the shader as named constants, the CPU twin (`crate::cpu`) takes them as generic
//! and ordinary arguments, and the plan (`crate::plan`) sizes its buffers with them.
//! Backend-neutral: depends on the problem types alone.

pub mod coefs;

use crate::experiment::{BATCH, Compressor, Experiment, MAX_HIST_PAIRS, ModelKind, Noise, Objective};
use crate::objective::Stage;

/// Paths per workgroup (= paths per statistics batch); the GPU kernel's invocations per workgroup
/// unless it packs several paths into each (`crate::shader::pack_for`).
pub const WG: usize = BATCH as usize;

/// Pair sums of the stationary covariance the workgroup reduction adds per pass: each pass
/// holds CROSS_TILE × WG words of workgroup memory (shaders/shared/cross.wgsl), 4 KiB of the
/// 16 KiB that WebGPU guarantees (the reduction arrays take 3 KiB, the histogram what is left).
pub const CROSS_TILE: usize = 4;
const _: () = assert!((CROSS_TILE + 3) * WG * 4 <= 16384, "the workgroup memory of the reductions");

/// The advance kernels: each runs one update rule on every path. The WGSL knows them by the
/// names [`Kernel::wgsl_name`] (`K_SGD_SDE`, ...), constants the composer writes from this enum,
/// so their numbers exist only here. Several models share a kernel ([`Kernel::of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Kernel {
    /// Euler–Maruyama step of the SGD SDE: `sgd-sde`, and `dsgd-sde` and `dcsgd-sde` with ω = 0,
    /// whose noise is scaled by 1/√N; and `signhsgd`, whose drift the data stage computes
    /// ([`KernelConsts::sign_limit`]).
    SgdSde = 0,
    /// Discrete SGD.
    Sgd = 1,
    /// The SignSGD SDE: `signsgd-sde`, and `dsignsgd-sde` with its noise scaled by 1/√N.
    SignsgdSde = 2,
    /// Discrete SignSGD.
    Signsgd = 3,
    /// Discrete RMSprop(W).
    Rmsprop = 4,
    /// Discrete Adam(W).
    Adam = 5,
    /// The RMSprop SDEs of P1 and of Malladi et al. (their own coefficients).
    RmspropSde = 6,
    /// The Adam SDEs of P1 and of Malladi et al.
    AdamSde = 7,
    /// Distributed SGD (`dsgd`, and `dcsgd` with the identity): the agents' normals summed.
    Dsgd = 8,
    /// Distributed SignSGD: the agents' signs summed.
    Dsignsgd = 9,
    /// Distributed compressed SGD with a compressor other than the identity.
    Dcsgd = 10,
    /// The DCSGD SDE with the bernoulli compressor: a diagonal diffusion.
    BernoulliSde = 11,
    /// The DCSGD SDE with rand-k (k < d): the O(d) sampler of docs/compressed.md, two normals per coordinate.
    RandkSde = 12,
}

impl Kernel {
    /// Every kernel, in id order.
    pub const ALL: [Kernel; 13] = [
        Kernel::SgdSde,
        Kernel::Sgd,
        Kernel::SignsgdSde,
        Kernel::Signsgd,
        Kernel::Rmsprop,
        Kernel::Adam,
        Kernel::RmspropSde,
        Kernel::AdamSde,
        Kernel::Dsgd,
        Kernel::Dsignsgd,
        Kernel::Dcsgd,
        Kernel::BernoulliSde,
        Kernel::RandkSde,
    ];

    /// Its number (`MODEL` in the WGSL, the CPU twin's generic parameter).
    pub const fn id(self) -> u32 {
        self as u32
    }

    /// The kernel numbered `id` (panics on a number that is none: the CPU twin calls it in
    /// constant contexts only).
    pub const fn from_id(id: u32) -> Kernel {
        assert!((id as usize) < Kernel::ALL.len(), "not a kernel id");
        Kernel::ALL[id as usize]
    }

    /// Its constant's name in the WGSL.
    pub fn wgsl_name(self) -> &'static str {
        match self {
            Kernel::SgdSde => "K_SGD_SDE",
            Kernel::Sgd => "K_SGD",
            Kernel::SignsgdSde => "K_SIGNSGD_SDE",
            Kernel::Signsgd => "K_SIGNSGD",
            Kernel::Rmsprop => "K_RMSPROP",
            Kernel::Adam => "K_ADAM",
            Kernel::RmspropSde => "K_RMSPROP_SDE",
            Kernel::AdamSde => "K_ADAM_SDE",
            Kernel::Dsgd => "K_DSGD",
            Kernel::Dsignsgd => "K_DSIGNSGD",
            Kernel::Dcsgd => "K_DCSGD",
            Kernel::BernoulliSde => "K_BERNOULLI_SDE",
            Kernel::RandkSde => "K_RANDK_SDE",
        }
    }

    /// The kernel that runs an experiment. The compressed models' kernel depends on the
    /// compressor: `dcsgd` with the identity is DSGD, any other compressor runs [`Kernel::Dcsgd`];
    /// `dcsgd-sde` with the identity, or rand-k with k = d (ω = 0), is the DSGD SDE (the SGD SDE
    /// with noise scaled by 1/√N), bernoulli has a diagonal diffusion, and rand-k needs the O(d)
    /// sampler of docs/compressed.md.
    pub fn of(exp: &Experiment) -> Kernel {
        let c = exp.model.compressor;
        match exp.model.name {
            ModelKind::Dcsgd if c != Compressor::Identity => Kernel::Dcsgd,
            ModelKind::DcsgdSde if !exp.model.is_sgd_sde(exp.dim) => match c {
                Compressor::Bernoulli { .. } => Kernel::BernoulliSde,
                _ => Kernel::RandkSde,
            },
            kind => Kernel::of_model(kind),
        }
    }

    /// The kernel of a model with the identity compressor (see [`Kernel::of`]).
    pub fn of_model(kind: ModelKind) -> Kernel {
        match kind {
            ModelKind::SgdSde | ModelKind::DsgdSde | ModelKind::DcsgdSde | ModelKind::Signhsgd => Kernel::SgdSde,
            ModelKind::Sgd => Kernel::Sgd,
            ModelKind::SignsgdSde | ModelKind::DsignsgdSde => Kernel::SignsgdSde,
            ModelKind::Signsgd => Kernel::Signsgd,
            ModelKind::Rmsprop => Kernel::Rmsprop,
            ModelKind::Adam => Kernel::Adam,
            ModelKind::RmspropSde | ModelKind::RmspropMalladiSde => Kernel::RmspropSde,
            ModelKind::AdamSde | ModelKind::AdamMalladiSde => Kernel::AdamSde,
            ModelKind::Dsgd | ModelKind::Dcsgd => Kernel::Dsgd,
            ModelKind::Dsignsgd => Kernel::Dsignsgd,
        }
    }

    /// One agent, one variate per coordinate and substep (the kernels before [`Kernel::Dsgd`]).
    pub const fn is_single_agent(self) -> bool {
        (self as u32) < Kernel::Dsgd as u32
    }

    /// The agents' variates are summed per coordinate before the update
    /// (`crate::model::distributed::accumulate`).
    pub const fn aggregates_agents(self) -> bool {
        matches!(self, Kernel::Dsgd | Kernel::Dsignsgd)
    }

    /// The kernel takes a step of its own instead of updating coordinate by coordinate
    /// (`dcsgd_step`, `randk_sde_step`): its variates do not come one per coordinate in order.
    pub const fn has_own_step(self) -> bool {
        matches!(self, Kernel::Dcsgd | Kernel::RandkSde)
    }

    /// The update scales by the substep's bias-correction time factors (Adam and its SDE).
    pub const fn has_time_factors(self) -> bool {
        matches!(self, Kernel::Adam | Kernel::AdamSde)
    }
}

/// Defines the compressor ids and their table by name, so each is written once.
macro_rules! compressor_ids {
    ($($(#[$doc:meta])* $name:ident = $id:literal,)*) => {
        $($(#[$doc])* pub const $name: u32 = $id;)*
        /// Every compressor id with its constant's name, which the WGSL composer writes out.
        pub const COMPRESSOR_IDS: &[(&str, u32)] = &[$((stringify!($name), $id),)*];
    };
}

compressor_ids! {
    /// C(v) = v.
    COMP_IDENTITY = 0,
    /// Keep each coordinate with probability p, scaled by 1/p.
    COMP_BERNOULLI = 1,
    /// Keep a uniform k-subset, scaled by d/k.
    COMP_RANDK = 2,
    /// QSGD's random dithering with s levels.
    COMP_QSGD = 3,
    /// Stochastic rounding to a power of two.
    COMP_NATURAL = 4,
}

/// The id of a compressor (`COMP` in the WGSL).
pub fn comp_id(c: &Compressor) -> u32 {
    match c {
        Compressor::Identity => COMP_IDENTITY,
        Compressor::Bernoulli { .. } => COMP_BERNOULLI,
        Compressor::RandK { .. } => COMP_RANDK,
        Compressor::Qsgd { .. } => COMP_QSGD,
        Compressor::Natural => COMP_NATURAL,
    }
}

/// The objective stage that computes `exp`'s objective; a regression's carries signHSGD's φ table
/// when its labels are Student-t.
pub fn stage_of(exp: &Experiment) -> Stage {
    let objective = &exp.objective;
    match objective {
        Objective::Quadratic { .. } => Stage::Diagonal,
        Objective::DenseQuadratic { .. } => Stage::Dense,
        Objective::Expression { .. } => Stage::Formula(objective.formula().expect("a formula").0.key()),
        Objective::LinearRegression { batch, rotation, .. } => {
            let phi_table = exp.model.name == ModelKind::Signhsgd && matches!(exp.noise, Noise::StudentT { .. });
            Stage::Regression { batch: *batch, rotated: rotation.is_some(), phi_table }
        }
    }
}

/// The constants the WGSL kernel receives by injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelConsts {
    pub model: ModelKind,
    pub kernel: Kernel,
    pub dim: usize,
    pub bins: u32,
    /// Random variates per coordinate per substep: the agents of the multi-agent kernels, 2 for
    /// the rand-k SDE, else 1.
    pub draws: u32,
    /// The compressor of [`Kernel::Dcsgd`] (`COMP_*`).
    pub comp: u32,
    /// The discrete optimizer samples Student-t variates (two words each) instead of normals.
    pub tnoise: bool,
    /// A discrete model on sampled data draws Student-t labels from their own stream
    /// (`crate::rng::STREAM_LABEL`); its noise stream then holds the design's normals only.
    pub tlabel: bool,
    /// The sign SDE evaluates the Student-t CDF (`crate::noise::t_sign_moments`) for erf.
    pub tcdf: bool,
    /// How the kernel computes f and ∇f.
    pub objective: Stage,
    /// The stationary samples also sum the products (x_i − c_i)(x_j − c_j) of every pair i < j
    /// (the `[stationary] cov` matrix).
    pub cross: bool,
    /// The coordinate pairs with a 2-D stationary histogram (`[stationary] pairs`).
    pub pairs: HistPairs,
    /// The learning-rate schedule's id (`crate::experiment::SCHED_*`; its values are per group,
    /// `crate::layout::Group::sched`): a scheduled kernel scales each substep's increment of x.
    pub schedule: u32,
}

/// Bins per axis of a 2-D stationary histogram at most (with fewer 1-D bins, as many as those).
pub const MAX_PAIR_BINS: u32 = 64;

/// The coordinate pairs (i, j) with a 2-D stationary histogram, held by value so that the kernel
/// constants stay `Copy` (at most [`MAX_HIST_PAIRS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HistPairs {
    n: u8,
    ij: [[u16; 2]; MAX_HIST_PAIRS],
}

impl HistPairs {
    /// `pairs` (checked by the experiment: at most [`MAX_HIST_PAIRS`], coordinates below
    /// [`crate::experiment::MAX_DIM`]).
    pub fn new(pairs: &[[usize; 2]]) -> Self {
        let mut p = HistPairs::default();
        for (k, &[i, j]) in pairs.iter().take(MAX_HIST_PAIRS).enumerate() {
            p.ij[k] = [i as u16, j as u16];
            p.n = k as u8 + 1;
        }
        p
    }
    pub fn len(&self) -> usize {
        usize::from(self.n)
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = [usize; 2]> + '_ {
        self.ij[..self.len()].iter().map(|&[i, j]| [usize::from(i), usize::from(j)])
    }
}

impl KernelConsts {
    /// The kernel constants of an experiment with `bins` histogram bins.
    pub fn new(exp: &Experiment, bins: u32) -> Self {
        let kernel = Kernel::of(exp);
        let draws = match kernel {
            Kernel::Dsgd | Kernel::Dsignsgd | Kernel::Dcsgd => exp.model.agents,
            Kernel::RandkSde => 2,
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
            tnoise: student && !exp.model.name.is_sde() && !exp.objective.samples_data(),
            tlabel: student && !exp.model.name.is_sde() && exp.objective.samples_data(),
            tcdf: student && kernel == Kernel::SignsgdSde,
            objective: stage_of(exp),
            cross: exp.stationary.cov && exp.dim > 1,
            pairs: HistPairs::new(&exp.stationary.pairs),
            schedule: exp.model.schedule.id(),
        }
    }

    /// Bins per axis of the 2-D histograms: the 1-D histograms' bins, at most [`MAX_PAIR_BINS`].
    pub fn pair_bins(&self) -> u32 {
        self.bins.min(MAX_PAIR_BINS)
    }

    /// PAIR_BINS / BINS as the f32 both backends multiply a coordinate's inverse bin width by
    /// to bin it in a 2-D histogram.
    pub fn pair_scale(&self) -> f32 {
        (f64::from(self.pair_bins()) / f64::from(self.bins)) as f32
    }

    /// Words of one 2-D histogram: its bins² (x slow), then the samples outside its box.
    pub fn pair_hist_words(&self) -> usize {
        let b = self.pair_bins() as usize;
        b * b + 1
    }

    /// Where the 2-D histograms start in a group's histogram words (after the 1-D ones).
    pub fn pair_hist_base(&self) -> usize {
        (self.dim + 1) * (self.bins as usize + 2)
    }

    /// Coordinate pairs i < j whose cross sums the stationary samples keep (0 without `cross`).
    pub fn cross_pairs(&self) -> usize {
        if self.cross { self.dim * (self.dim - 1) / 2 } else { 0 }
    }

    /// f32 words per parameter group of the objective buffer (binding 7).
    pub fn objective_words(&self) -> usize {
        self.objective.words(self.dim)
    }

    /// State words per coordinate (x, then the EMAs).
    pub fn slots(&self) -> usize {
        self.model.slots()
    }

    /// Histogram words of one group: (dim + 1) quantities × (bins, underflow, overflow), then
    /// the 2-D histograms.
    pub fn hist_words(&self) -> usize {
        self.pair_hist_base() + self.pairs.len() * self.pair_hist_words()
    }

    /// Whether each substep of the shader's general loop takes whole random blocks (the
    /// `FAST4` constant of shaders/advance.wgsl): four coordinates per block (draws = 1, d a
    /// multiple of 4) or four agents (draws a multiple of 4), Gaussian noise, and a kernel that
    /// reads its variates coordinate by coordinate (not DCSGD's or the rand-k SDE's own steps).
    /// Every segment then starts at a block boundary (m0 = k_begin refine d draws).
    pub fn whole_blocks(&self) -> bool {
        let shape = (self.draws == 1 && self.dim.is_multiple_of(4)) || self.draws.is_multiple_of(4);
        shape && !self.tnoise && !self.kernel.has_own_step() && !self.objective.samples_data()
    }

    /// The SGD SDE kernel runs signHSGD (`signhsgd`): on sampled data its drift is
    /// φ(P) √k_i r_i, which the data stage computes, and its diffusion is isotropic.
    pub fn sign_limit(&self) -> bool {
        self.model == ModelKind::Signhsgd
    }

    /// Noise variates each path takes per substep: one per coordinate and draw; on sampled
    /// data, d + 1 per data point (the design a, then the label noise; d with Student-t labels,
    /// which have their own stream) for the discrete models' draws × batch points, 1 + d for the
    /// SGD SDE's state-dependent diffusion (z′, then z), d more for the compressed SDEs' diagonal
    /// term (bernoulli) and d more again for rand-k's z₂, and d for signHSGD and the adaptive
    /// SDEs (their diffusions are diagonal).
    /// Segment j starts at variate k_begin · refine · this (`crate::plan::params_for`).
    pub fn variates_per_substep(&self) -> u64 {
        let d = self.dim as u64;
        if !self.objective.samples_data() {
            return d * u64::from(self.draws);
        }
        if !self.model.is_sde() {
            u64::from(self.draws) * u64::from(self.objective.batch()) * (d + u64::from(!self.tlabel))
        } else if self.kernel == Kernel::SgdSde && !self.sign_limit() {
            d + 1
        } else if self.kernel == Kernel::BernoulliSde {
            2 * d + 1
        } else if self.kernel == Kernel::RandkSde {
            3 * d + 1
        } else {
            d
        }
    }

    /// Variates per random block of the noise stream: four normals, or one Student-t variate
    /// (three words: a 48-bit radius and an angle, see `crate::noise`).
    pub fn per_block(&self) -> u64 {
        if self.tnoise { 1 } else { 4 }
    }
}
