//! The CPU twin of the emitted WGSL: a tape interpreter over `L` lanes. One `match` per
//! instruction and an inner loop over the lanes, which LLVM vectorises (every operation,
//! the transcendentals included, is branch-free). The operations and their order are the
//! tape's, so with `FMA = false` the result is bit for bit what lavapipe computes from
//! [`super::Formula::wgsl`].

use super::graph::{Bin, Un};
use super::math::{fx_cos, fx_cosh, fx_exp, fx_log, fx_sin, fx_sinh, fx_sqrt, fx_tanh};
use super::tape::{Op, Tape};
use crate::math::sign_f32;

#[inline(always)]
fn map1<const L: usize>(o: &mut [f32; L], a: &[f32; L], f: impl Fn(f32) -> f32) {
    for l in 0..L {
        o[l] = f(a[l]);
    }
}

#[inline(always)]
fn map2<const L: usize>(o: &mut [f32; L], a: &[f32; L], b: &[f32; L], f: impl Fn(f32, f32) -> f32) {
    for l in 0..L {
        o[l] = f(a[l], b[l]);
    }
}

/// Runs `tape` over the lanes; afterwards `regs[k]` holds register k. `regs` only grows.
pub fn run<const FMA: bool, const L: usize>(
    tape: &Tape,
    x: &[[f32; L]],
    v: &[[f32; L]],
    p: &[f32],
    regs: &mut Vec<[f32; L]>,
) {
    if regs.len() < tape.ops.len() {
        regs.resize(tape.ops.len(), [0.0; L]);
    }
    for (k, op) in tape.ops.iter().enumerate() {
        let (done, rest) = regs.split_at_mut(k);
        let o = &mut rest[0];
        match *op {
            Op::Const(c, _) => *o = [c; L],
            Op::Var(i) => *o = x[i as usize],
            Op::Dir(i) => *o = v[i as usize],
            Op::Param(w) => *o = [p[w as usize]; L],
            Op::Un(op, a) => {
                let a = &done[a as usize];
                match op {
                    Un::Neg => map1(o, a, |a| -a),
                    Un::Exp => map1(o, a, fx_exp::<FMA>),
                    Un::Log => map1(o, a, fx_log::<FMA>),
                    Un::Sqrt => map1(o, a, fx_sqrt),
                    Un::Sin => map1(o, a, fx_sin::<FMA>),
                    Un::Cos => map1(o, a, fx_cos::<FMA>),
                    Un::Tanh => map1(o, a, fx_tanh::<FMA>),
                    Un::Cosh => map1(o, a, fx_cosh::<FMA>),
                    Un::Sinh => map1(o, a, fx_sinh::<FMA>),
                    Un::Abs => map1(o, a, f32::abs),
                    Un::Sign => map1(o, a, sign_f32),
                }
            }
            Op::Bin(op, a, b) => {
                let (a, b) = (&done[a as usize], &done[b as usize]);
                match op {
                    Bin::Add => map2(o, a, b, |a, b| a + b),
                    Bin::Sub => map2(o, a, b, |a, b| a - b),
                    Bin::Mul => map2(o, a, b, |a, b| a * b),
                    Bin::Div => map2(o, a, b, |a, b| a / b),
                }
            }
            Op::SelLe(p, q, t, f) => {
                let (p, q, t, f) = (&done[p as usize], &done[q as usize], &done[t as usize], &done[f as usize]);
                for l in 0..L {
                    o[l] = if p[l] <= q[l] { t[l] } else { f[l] };
                }
            }
        }
    }
}
