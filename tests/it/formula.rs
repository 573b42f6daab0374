//! Formulas on the GPU against the CPU's lane interpreter, bit for bit (STYLE habit 7's first
//! tier): the `formula_eval` kernel computes a compiled formula's loss, gradient and HVP at
//! host-given points, and lavapipe, which splits every fma into a multiply and an add, must
//! give exactly `*_lanes::<false, L>`. The fx_* transcendentals are checked the same way, through
//! one-function formulas, against `optsde::objective::formula::math` directly.
//!
//! Plain tapes would not match: Mesa's NIR applies its inexact algebraic rewrites
//! (reassociation around constants, a·b + a·c → a·(b + c), ...) to naga's SPIR-V, which carries
//! no NoContraction decorations (measured before the barrier: Rosenbrock d = 4, 121 of 2304
//! values an ulp off; the function mix, 331 of 1792). The emitter passes every computed value
//! through `fx_keep`, opaque to the compiler (src/objective/formula/emit.rs), and the fx_*
//! functions are written in forms NIR leaves alone (fx_cos's polynomial is Horner to the end).
//! Each test counts every mismatch before it fails.

use optsde::objective::formula::math::*;
use optsde::objective::formula::{Formula, ParamShape};

use crate::common::gpu;

const L: usize = 64;

/// Points in [−r, r]^d from a fixed LCG (f32).
fn points(d: usize, r: f32, n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            (0..d)
                .map(|_| {
                    s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    r * (2.0 * ((s >> 40) as f32 / (1u64 << 24) as f32) - 1.0)
                })
                .collect()
        })
        .collect()
}

/// Same bits, or both NaN (WGSL leaves NaN payloads unspecified).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn cases() -> Vec<(&'static str, usize, f32)> {
    vec![
        ("sum(i, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)", 4, 2.0),
        ("sum(i, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)", 32, 2.0),
        ("0.25*(x0^2 - 1)^2 + 0.1*x0", 1, 3.0),
        ("sum(i, c[i]*cosh(x[i])) + a*x0^-2", 3, 5.0),
        (
            "exp(0.3*x0) + log(1 + x1^2) + sqrt(2 + x2) + sin(x0*x1) + cos(x2) + tanh(x1 - x0) \
             + cosh(0.5*x2) + sinh(0.2*x0) + abs(x1) + min(x0, x2^2) + max(x1, 0.5*x0) \
             + (1 + x0^2)^1.5 + 2^x1 + (1 + x2^2)^a / (3 + x0^4) + log(x0) + sqrt(x1)",
            3,
            8.0,
        ),
    ]
}

#[test]
fn formula_eval_matches_split_lanes_bit_for_bit() {
    let Some(mut g) = gpu() else { return };
    let decl = [("a".to_string(), ParamShape::Scalar), ("c".to_string(), ParamShape::Vector)];
    let mut failures = 0;
    for (text, d, r) in cases() {
        let f = Formula::compile(text, Some(d), &decl).unwrap();
        let values = [("a".to_string(), vec![1.7]), ("c".to_string(), (0..d).map(|i| 0.3 + 0.2 * i as f64).collect())];
        let p = f.pack_params(&values).unwrap();
        let n = 4 * L;
        let xs = points(d, r, n, 3);
        let vs = points(d, 1.0, n, 4);
        let pts: Vec<(Vec<f32>, Vec<f32>)> = xs.iter().cloned().zip(vs.iter().cloned()).collect();
        let gpu_values = g.eval_formula(&f, &p, &pts).unwrap();
        let mut regs = Vec::new();
        let (mut checked, mut mismatches, mut bad) = (0, 0, String::new());
        for chunk in 0..n / L {
            let lanes = |v: &[Vec<f32>]| -> Vec<[f32; L]> {
                (0..d).map(|i| std::array::from_fn(|l| v[chunk * L + l][i])).collect()
            };
            let (xl, vl) = (lanes(&xs), lanes(&vs));
            let mut loss = [0.0; L];
            let mut grad = vec![[0.0; L]; d];
            let mut hv = vec![[0.0; L]; d];
            f.loss_lanes::<false, L>(&xl, &p, &mut loss, &mut regs);
            f.gradient_lanes::<false, L>(&xl, &p, &mut grad, &mut regs);
            f.hvp_lanes::<false, L>(&xl, &vl, &p, &mut hv, &mut regs);
            for l in 0..L {
                let k = chunk * L + l;
                let gv = &gpu_values[k];
                let mut check = |what: &str, i: usize, gpu: f32, cpu: f32| {
                    if !same(gpu, cpu) {
                        if bad.is_empty() {
                            bad = format!(
                                "first: point {k} x = {:?}: {what}[{i}] GPU {gpu:e} ({:#010x}), CPU {cpu:e} ({:#010x})",
                                xs[k],
                                gpu.to_bits(),
                                cpu.to_bits()
                            );
                        }
                        mismatches += 1;
                    }
                    checked += 1;
                };
                check("loss", 0, gv.loss, loss[l]);
                for i in 0..d {
                    check("gradient", i, gv.gradient[i], grad[i][l]);
                    check("hvp", i, gv.hvp[i], hv[i][l]);
                }
            }
        }
        eprintln!("{text} (d = {d}): {mismatches} of {checked} values differ; {bad}");
        failures += mismatches;
    }
    assert_eq!(failures, 0, "values that differ between lavapipe and the split lanes");
}

/// Arguments for a function: a grid over `lo..hi`, log-spaced magnitudes, and special values.
fn math_args(lo: f32, hi: f32) -> Vec<f32> {
    let mut v: Vec<f32> = (0..=8_000).map(|i| lo + (hi - lo) * i as f32 / 8_000.0).collect();
    for i in 0..=4_000 {
        let m = (10f64.powf(-30.0 + 60.0 * i as f64 / 4_000.0)) as f32;
        v.extend([m, -m]);
    }
    v.extend([
        0.0,
        -0.0,
        1.0,
        -1.0,
        88.0,
        88.5,
        89.0,
        -87.0,
        -87.5,
        1e4,
        -1e4,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ]);
    v
}

#[test]
fn fx_math_matches_cpu_bit_for_bit() {
    let Some(mut g) = gpu() else { return };
    type F = fn(f32) -> f32;
    let funcs: [(&str, F, f32, f32); 8] = [
        ("exp", fx_exp::<false>, -100.0, 100.0),
        ("log", fx_log::<false>, -1.0, 100.0),
        ("sqrt", fx_sqrt, -1.0, 100.0),
        ("sin", fx_sin::<false>, -1e4, 1e4),
        ("cos", fx_cos::<false>, -1e4, 1e4),
        ("tanh", fx_tanh::<false>, -20.0, 20.0),
        ("cosh", fx_cosh::<false>, -95.0, 95.0),
        ("sinh", fx_sinh::<false>, -95.0, 95.0),
    ];
    let mut failures = 0;
    for (name, f, lo, hi) in funcs {
        let formula = Formula::compile(&format!("{name}(x0)"), None, &[]).unwrap();
        let args = math_args(lo, hi);
        let pts: Vec<(Vec<f32>, Vec<f32>)> = args.iter().map(|&x| (vec![x], vec![1.0])).collect();
        let out = g.eval_formula(&formula, &[], &pts).unwrap();
        let (mut mismatches, mut first) = (0, String::new());
        for (x, o) in args.iter().zip(&out) {
            let cpu = f(*x);
            if !same(o.loss, cpu) {
                if first.is_empty() {
                    first = format!(
                        "first: {name}({x:e}): GPU {:e} ({:#010x}), CPU {cpu:e} ({:#010x})",
                        o.loss,
                        o.loss.to_bits(),
                        cpu.to_bits()
                    );
                }
                mismatches += 1;
            }
        }
        eprintln!("{name}: {mismatches} of {} arguments differ; {first}", args.len());
        failures += mismatches;
    }
    assert_eq!(failures, 0, "fx_* values that differ between lavapipe and the CPU (split)");
}
