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

/// Runs `tape` over the lanes; afterwards `regs[k]` holds register k, in lane 0 alone where
/// the register is uniform (`Tape::uniform`: constants, parameters and what only they make,
/// computed once instead of once per lane: the same operation on the same values, so the same
/// bits). `regs` only grows. Inlined into the CPU twin's workgroup function, so that it is
/// compiled for the vector unit (`crate::cpu::VectorUnit`: fused multiply-adds are one
/// instruction there, a libm call elsewhere).
#[inline(always)]
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
    let uni = &tape.uniform;
    for (k, op) in tape.ops.iter().enumerate() {
        let (done, rest) = regs.split_at_mut(k);
        let o = &mut rest[0];
        match *op {
            Op::Const(c, _) => o[0] = c,
            Op::Var(i) => *o = x[i as usize],
            Op::Dir(i) => *o = v[i as usize],
            Op::Param(w) => o[0] = p[w as usize],
            Op::Un(op, a) => {
                let a_reg = &done[a as usize];
                let uniform = uni[a as usize];
                // Each arm names its function statically, so the lane loop inlines it.
                macro_rules! un {
                    ($f:expr) => {{
                        let f = $f;
                        if uniform { o[0] = f(a_reg[0]) } else { map1(o, a_reg, f) }
                    }};
                }
                match op {
                    Un::Neg => un!(|a: f32| -a),
                    Un::Exp => un!(fx_exp::<FMA>),
                    Un::Log => un!(fx_log::<FMA>),
                    Un::Sqrt => un!(fx_sqrt),
                    Un::Sin => un!(fx_sin::<FMA>),
                    Un::Cos => un!(fx_cos::<FMA>),
                    Un::Tanh => un!(fx_tanh::<FMA>),
                    Un::Cosh => un!(fx_cosh::<FMA>),
                    Un::Sinh => un!(fx_sinh::<FMA>),
                    Un::Abs => un!(f32::abs),
                    Un::Sign => un!(sign_f32),
                }
            }
            Op::Bin(op, a, b) => {
                let (ua, ub) = (uni[a as usize], uni[b as usize]);
                let (a, b) = (&done[a as usize], &done[b as usize]);
                macro_rules! bin {
                    ($f:expr) => {{
                        let f = $f;
                        match (ua, ub) {
                            (true, true) => o[0] = f(a[0], b[0]),
                            (true, false) => {
                                let s = a[0];
                                for l in 0..L {
                                    o[l] = f(s, b[l]);
                                }
                            }
                            (false, true) => {
                                let s = b[0];
                                for l in 0..L {
                                    o[l] = f(a[l], s);
                                }
                            }
                            (false, false) => map2(o, a, b, f),
                        }
                    }};
                }
                match op {
                    Bin::Add => bin!(|a: f32, b: f32| a + b),
                    Bin::Sub => bin!(|a: f32, b: f32| a - b),
                    Bin::Mul => bin!(|a: f32, b: f32| a * b),
                    Bin::Div => bin!(|a: f32, b: f32| a / b),
                }
            }
            Op::SelLe(p, q, t, f) => {
                let lane = |r: u32, l: usize| if uni[r as usize] { done[r as usize][0] } else { done[r as usize][l] };
                if uni[k] {
                    o[0] = if lane(p, 0) <= lane(q, 0) { lane(t, 0) } else { lane(f, 0) };
                } else {
                    for l in 0..L {
                        o[l] = if lane(p, l) <= lane(q, l) { lane(t, l) } else { lane(f, l) };
                    }
                }
            }
        }
    }
}
