//! The objective stage: the landscape f that every model's kernel composes in, as its loss, its
//! gradient and its Hessian–vector product. The separable quadratic (`shaders/shared/objective.wgsl`)
//! is the fast path; [`dense`] holds the dense quadratic's host side, [`formula`] compiles a loss
//! written as a formula into the same stage, and [`rotated`] builds a rotated regression's
//! matrices (its data factor and signHSGD's noise factor).

pub mod dense;
pub mod formula;
pub mod registry;
pub mod rotated;

/// Intervals of the uniform grid in w = s/√(2P + s²) ∈ [0, 1] of signHSGD's φ table (a
/// regression stage's `phi_table`; `crate::regression::phi_table` fills it).
pub const PHI_INTERVALS: usize = 1024;

/// Words of one group's φ table: s², then R at the [`PHI_INTERVALS`] + 1 nodes.
pub const PHI_WORDS: usize = PHI_INTERVALS + 2;

/// φ(P) = (2/π) R(w)/s from a φ table (`PHI_WORDS` words: s_l², then R at the nodes) for
/// s = √(2P + s_l²) > 0 and labels of scale `scale`: w = `scale`/s, R linear between nodes. The
/// CPU twin of `data_phi_tabulated` (shaders/shared/data.wgsl): the same f32 operations in the
/// same order.
#[inline(always)]
pub fn phi_tabulated(table: &[f32], scale: f32, s: f32) -> f32 {
    let top = PHI_INTERVALS as f32;
    let u = ((scale / s) * top).min(top);
    let n = (u as u32).min(PHI_INTERVALS as u32 - 1);
    let f = u - n as f32;
    let (r0, r1) = (table[1 + n as usize], table[2 + n as usize]);
    (std::f32::consts::FRAC_2_PI * (r0 + f * (r1 - r0))) / s
}

/// How a kernel computes the loss and its gradient: one of its constants
/// (`crate::kernel::KernelConsts::objective`), so each form is a kernel of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The separable quadratic from the coefficients h and c (`shaders/shared/objective.wgsl`).
    Diagonal,
    /// A dense quadratic: H from the objective buffer, O(d²) per gradient
    /// (`shaders/shared/objective_dense.wgsl`).
    Dense,
    /// A formula ([`formula`]), named by its key ([`registry::by_key`]); its parameters in the
    /// objective buffer (`shaders/shared/objective_formula.wgsl`).
    Formula(u64),
    /// One-pass least squares (`linear-regression`): the population gradient and excess risk
    /// are the quadratic's with Hessian K and c = x* (the diagonal stage's with h = k, or the
    /// dense stage's when `rotated`); the discrete models' gradients are sampled from `batch`
    /// data points per step and agent, and the SDEs' diffusions depend on the state
    /// (`shaders/shared/data.wgsl`). Its words per group: unrotated, √k_i, then the label scale,
    /// E ε² and 1/batch; rotated, K and the noise factor M (each d × d, rows), then the label
    /// scale, E ε² and 1/batch, then K_ii^{−1/2} ([`Stage::data_scalars`]). With `phi_table`
    /// (signHSGD with Student-t labels), then the table of its drift factor φ(P)
    /// ([`crate::regression::phi_table`], from [`Stage::data_phi`]).
    Regression { batch: u32, rotated: bool, phi_table: bool },
}

impl Stage {
    /// f32 words per parameter group in the objective buffer (binding 7) for dimension `dim`.
    pub fn words(self, dim: usize) -> usize {
        match self {
            Stage::Diagonal => 0,
            Stage::Dense => dim * dim,
            Stage::Formula(key) => registry::by_key(key).map_or(0, |f| f.param_words()),
            Stage::Regression { phi_table, .. } => self.data_phi(dim) + if phi_table { PHI_WORDS } else { 0 },
        }
    }

    /// Where a regression's label scale, E ε² and 1/batch start among its words: after √k
    /// (d words), or after K and M (2d² words) when rotated.
    pub fn data_scalars(self, dim: usize) -> usize {
        match self {
            Stage::Regression { rotated: true, .. } => 2 * dim * dim,
            _ => dim,
        }
    }

    /// Where a regression's φ table would start among its words ([`Stage::Regression`]'s
    /// `phi_table`): after the three scalars, and after K_ii^{−1/2} when rotated.
    pub fn data_phi(self, dim: usize) -> usize {
        match self {
            Stage::Regression { rotated: true, .. } => 2 * dim * dim + 3 + dim,
            _ => dim + 3,
        }
    }

    /// Whether ∇f and f are the dense quadratic's (`shaders/shared/objective_dense.wgsl`).
    pub fn is_dense(self) -> bool {
        matches!(self, Stage::Dense | Stage::Regression { rotated: true, .. })
    }

    /// Whether the gradient is sampled from data ([`Stage::Regression`]).
    pub fn samples_data(self) -> bool {
        matches!(self, Stage::Regression { .. })
    }

    /// Data points per step and agent (1 where the gradient is not sampled from data).
    pub fn batch(self) -> u32 {
        match self {
            Stage::Regression { batch, .. } => batch,
            _ => 1,
        }
    }
}
