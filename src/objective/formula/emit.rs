//! The WGSL emitter: each tape as straight-line code, one `let tK = ...;` per instruction,
//! with constant indices into x, v, g, hv and constant parameter words. Constants are written
//! as `bitcast<f32>(0x...u)` (with the value in a comment), which names their f32 bits exactly:
//! a decimal literal would be parsed by the shader compiler, possibly through f64.
//! Transcendentals call `shaders/shared/formula_math.wgsl`; sign is `sign_f32` of
//! `shaders/shared/math.wgsl`.
//!
//! Every computed value passes through `fx_keep` (formula_math.wgsl), an XOR of its bits with a
//! word the kernel reads at run time and the host sets to 0: the value is unchanged, but a
//! shader compiler can no longer see which operation made it. Without it Mesa's NIR (lavapipe)
//! applies its inexact algebraic rewrites across instructions (reassociating sums and products,
//! fusing a product into the next sum's polynomial form), since naga's SPIR-V marks no
//! operation exact, and some results then differ by an ulp from the CPU twin's, which computes
//! the tape as written (counted in `tests/it/formula.rs`). One integer operation per
//! instruction buys the bit-for-bit agreement.

use std::fmt::Write;

use super::graph::Un;
use super::tape::{Op, Tape};

fn body(tape: &Tape, out: &mut String) {
    for (k, op) in tape.ops.iter().enumerate() {
        let expr = match *op {
            Op::Const(c, _) => format!("bitcast<f32>({:#010x}u); // {c:e}", c.to_bits()),
            Op::Var(i) => format!("(*x)[{i}];"),
            Op::Dir(i) => format!("(*v)[{i}];"),
            Op::Param(w) => format!("obj_param({w}u);"),
            Op::Un(Un::Neg, a) => format!("-t{a};"),
            Op::Un(op, a) => {
                // The twins of formula_math.wgsl are `fx_` and the formula's name; abs is exact.
                let f = match op {
                    Un::Neg => unreachable!("negation is written above"),
                    Un::Abs => "abs".to_string(),
                    Un::Sign => "sign_f32".to_string(),
                    op => format!("fx_{}", op.name()),
                };
                format!("{f}(t{a});")
            }
            Op::Bin(op, a, b) => format!("t{a} {} t{b};", op.symbol()),
            Op::SelLe(p, q, t, f) => format!("select(t{f}, t{t}, t{p} <= t{q});"),
        };
        let kept = match *op {
            Op::Const(..) | Op::Var(_) | Op::Dir(_) | Op::Param(_) => expr,
            _ => format!("fx_keep({});", expr.trim_end_matches(';')),
        };
        let _ = writeln!(out, "    let t{k} = {kept}");
    }
}

/// The three functions the kernel composes in (see the module docs of [`super`]).
pub fn wgsl(loss: &Tape, grad: &Tape, hvp: &Tape) -> String {
    let mut s = String::new();
    s.push_str("fn formula_loss(x: ptr<function, array<f32, DIM>>) -> f32 {\n");
    body(loss, &mut s);
    let _ = writeln!(s, "    return t{};\n}}\n", loss.outputs[0]);
    s.push_str("fn formula_gradient(x: ptr<function, array<f32, DIM>>, g: ptr<function, array<f32, DIM>>) {\n");
    body(grad, &mut s);
    for (i, o) in grad.outputs.iter().enumerate() {
        let _ = writeln!(s, "    (*g)[{i}] = t{o};");
    }
    s.push_str("}\n\n");
    s.push_str(
        "fn formula_hvp(x: ptr<function, array<f32, DIM>>, v: ptr<function, array<f32, DIM>>, hv: ptr<function, array<f32, DIM>>) {\n",
    );
    body(hvp, &mut s);
    for (i, o) in hvp.outputs.iter().enumerate() {
        let _ = writeln!(s, "    (*hv)[{i}] = t{o};");
    }
    s.push_str("}\n");
    s
}
