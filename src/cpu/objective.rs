//! The objective stage of a block of lanes (twins of `shaders/shared/objective.wgsl`,
//! `objective_dense.wgsl` and `objective_formula.wgsl`): the gradient of every coordinate
//! ([`gradient`]) and the loss ([`loss`]), for the stage the kernel is composed with
//! (`crate::objective::Stage`). Same operations in the same order as the WGSL; a formula runs
//! in its lane interpreter (`crate::objective::formula`).

use super::LANES;
use super::inputs::{Inputs, Rows};
use crate::kernel::KernelConsts;
use crate::objective::Stage;

/// ∇f of every lane into `g`.
#[inline(always)]
pub(super) fn gradient<const FMA: bool>(k: &KernelConsts, inp: &Inputs<'_>, x: &Rows, g: &mut Rows) {
    match k.objective {
        Stage::Formula(_) => {
            let f = inp.formula.expect("a formula kernel has its formula");
            f.gradient_lanes::<FMA, LANES>(x, inp.objective, g, &mut inp.regs.borrow_mut());
        }
        Stage::Diagonal | Stage::Regression { rotated: false, .. } => {
            for i in 0..k.dim {
                let (hi, ci) = (inp.h[i], inp.c[i]);
                for l in 0..LANES {
                    g[i][l] = hi * (x[i][l] - ci);
                }
            }
        }
        Stage::Dense | Stage::Regression { rotated: true, .. } => {
            let mut y = inp.regs.borrow_mut();
            centred(k, inp, x, &mut y);
            for i in 0..k.dim {
                g[i] = dense_row(k.dim, &inp.objective[i * k.dim..(i + 1) * k.dim], &y);
            }
        }
    }
}

/// x − c of every lane into `y` (the block's scratch rows, grown once: no allocation per step).
#[inline(always)]
fn centred(k: &KernelConsts, inp: &Inputs<'_>, x: &Rows, y: &mut Vec<[f32; LANES]>) {
    if y.len() < k.dim {
        y.resize(k.dim, [0.0; LANES]);
    }
    for j in 0..k.dim {
        for l in 0..LANES {
            y[j][l] = x[j][l] - inp.c[j];
        }
    }
}

/// (H y)_i of every lane, from row i of H: Σ_j in order from 0.0 (`dense_row` of the WGSL).
#[inline(always)]
fn dense_row(dim: usize, row: &[f32], y: &[[f32; LANES]]) -> [f32; LANES] {
    let mut s = [0.0f32; LANES];
    for j in 0..dim {
        let hij = row[j];
        for l in 0..LANES {
            s[l] += hij * y[j][l];
        }
    }
    s
}

/// f of every lane into `out`.
#[inline(always)]
pub(super) fn loss<const FMA: bool>(k: &KernelConsts, inp: &Inputs<'_>, x: &Rows, out: &mut [f32; LANES]) {
    match k.objective {
        Stage::Formula(_) => {
            let f = inp.formula.expect("a formula kernel has its formula");
            f.loss_lanes::<FMA, LANES>(x, inp.objective, out, &mut inp.regs.borrow_mut());
        }
        Stage::Diagonal | Stage::Regression { rotated: false, .. } => {
            let mut l2 = [0.0f32; LANES];
            for i in 0..k.dim {
                for l in 0..LANES {
                    let y = x[i][l] - inp.c[i];
                    l2[l] += inp.h[i] * y * y;
                }
            }
            for l in 0..LANES {
                out[l] = 0.5 * l2[l];
            }
        }
        Stage::Dense | Stage::Regression { rotated: true, .. } => {
            let mut y = inp.regs.borrow_mut();
            centred(k, inp, x, &mut y);
            let mut l2 = [0.0f32; LANES];
            for i in 0..k.dim {
                let hy = dense_row(k.dim, &inp.objective[i * k.dim..(i + 1) * k.dim], &y);
                for l in 0..LANES {
                    l2[l] += y[i][l] * hy[l];
                }
            }
            for l in 0..LANES {
                out[l] = 0.5 * l2[l];
            }
        }
    }
}
