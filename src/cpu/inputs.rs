//! What a block of lanes reads ([`Inputs`]) and the shape of its per-coordinate rows ([`Rows`]),
//! shared by the step loop's stages (`super::step`) and the objective stage (`super::objective`).

use std::cell::RefCell;

use super::LANES;
use crate::kernel::coefs::SLOTS;
use crate::layout::{Coef, Group};
use crate::objective::formula::Formula;

/// One row of [`LANES`] values per coordinate (a state slot, the gradient, a sum, ...).
pub(super) type Rows = [[f32; LANES]];

/// What a block reads and a dispatch does not change: its group's coefficients (h and c, and the
/// slots as rows, taken out once per block), the Student-t CDF tables and the group's scalars.
#[derive(Clone, Copy)]
pub(super) struct Inputs<'a> {
    pub coef: &'a [Coef],
    pub tcdf: &'a [f32],
    pub group: &'a Group,
    pub h: &'a [f32],
    pub c: &'a [f32],
    pub p: &'a [[f32; SLOTS]],
    /// The group's words of the objective buffer (`crate::layout::Upload::objective`).
    pub objective: &'a [f32],
    /// A formula kernel's formula (`crate::objective::Stage::Formula`).
    pub formula: Option<&'a Formula>,
    /// The objective stage's scratch rows, reused across calls: the formula interpreter's
    /// registers, or a dense quadratic's x − c.
    pub regs: &'a RefCell<Vec<[f32; LANES]>>,
}
