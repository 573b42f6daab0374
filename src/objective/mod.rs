//! The objective stage: the landscape f that every model's kernel composes in, as its loss, its
//! gradient and its Hessian–vector product. The separable quadratic (`shaders/shared/objective.wgsl`)
//! is the fast path; [`formula`] compiles a loss written as a formula into the same stage.

pub mod dense;
pub mod formula;
pub mod registry;

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
}

impl Stage {
    /// f32 words per parameter group in the objective buffer (binding 7) for dimension `dim`.
    pub fn words(self, dim: usize) -> usize {
        match self {
            Stage::Diagonal => 0,
            Stage::Dense => dim * dim,
            Stage::Formula(key) => registry::by_key(key).map_or(0, |f| f.param_words()),
        }
    }
}
