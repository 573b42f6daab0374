//! The objective stage: the landscape f that every model's kernel composes in, as its loss, its
//! gradient and its Hessian–vector product. The separable quadratic (`shaders/shared/objective.wgsl`)
//! is the fast path; [`formula`] compiles a loss written as a formula into the same stage.

pub mod formula;
