//! Unit tests of the formula compiler: errors and their positions, sharing, sum unrolling,
//! power schemes, derivatives against central differences, f32 lanes against f64, and naga
//! validation of the emitted WGSL.

use super::graph::{Bin, Un};
use super::tape::Op;
use super::*;

fn compile(text: &str, dim: Option<usize>) -> Formula {
    Formula::compile(text, dim, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn error(text: &str, dim: Option<usize>, params: &[(&str, ParamShape)]) -> FormulaError {
    let params: Vec<(String, ParamShape)> = params.iter().map(|(n, s)| (n.to_string(), *s)).collect();
    match Formula::compile(text, dim, &params) {
        Ok(_) => panic!("{text} compiled"),
        Err(e) => e,
    }
}

/// A small deterministic generator (xorshift64*), uniform in [lo, hi).
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let u = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

#[test]
fn errors_say_what_was_expected_and_where() {
    let e = error("exp(x0 + 1", None, &[]);
    assert_eq!(
        (e.pos, e.message.as_str()),
        (10, "expected `)` after the argument of exp, found the end of the formula")
    );
    let e = error("a*x0 + b", Some(2), &[("a", ParamShape::Scalar), ("c", ParamShape::Vector)]);
    assert_eq!((e.pos, e.message.as_str()), (7, "unknown name `b`: not a variable (x0…x1) or a parameter (a, c)"));
    let e = error("sum(i, x[i+2]^2)", Some(1), &[]);
    assert_eq!((e.pos, e.message.as_str()), (7, "index x[i+2] is outside 0..0 for every i with d = 1"));
    let e = error("sum(i, x[i])", None, &[]);
    assert_eq!(e.pos, 0);
    assert!(e.message.contains("set `dim`"), "{e}");
    let e = error("x0 + x3", Some(2), &[]);
    assert_eq!(e.pos, 5);
    assert!(e.message.starts_with("index x[3] is outside 0..1"), "{e}");
    let e = error("a[0] * x0", None, &[("a", ParamShape::Scalar)]);
    assert!(e.message.contains("`a` is a scalar parameter"), "{e}");
    let e = error("c * x0", None, &[("c", ParamShape::Vector)]);
    assert!(e.message.contains("`c` is a vector parameter: it needs an index"), "{e}");
    let e = error("x0 +", None, &[]);
    assert_eq!((e.pos, e.message.as_str()), (4, "expected a number, a name or `(`, found the end of the formula"));
    let e = error("x0 / (2 - 2) + 1/0", None, &[]);
    assert_eq!((e.pos, e.message.as_str()), (16, "division by the constant 0"));
    let e = error("sum(i, sum(j, x[j]))", Some(2), &[]);
    assert!(e.message.contains("nested"), "{e}");
    let e = error("min(x0)", None, &[]);
    assert!(e.message.contains("expected `,` before argument 2 of min"), "{e}");
    let e = error("x0 $ 2", None, &[]);
    assert_eq!(e.pos, 3);
    let e = error("x0 + y", None, &[]);
    assert!(e.message.contains("parameter (none declared)"), "{e}");
    assert_eq!(error("x0", None, &[("exp", ParamShape::Scalar)]).pos, 0);
    // Display: 1-based column, the formula and a caret under the column.
    let e = error("exp(x0 + 1", None, &[]);
    assert_eq!(
        e.to_string(),
        "at column 11: expected `)` after the argument of exp, found the end of the formula\n  exp(x0 + 1\n            ^"
    );
}

#[test]
fn precedence_and_literals() {
    let f = compile("-x0^2 + 2^3^2 * 1e-3 - .5 / x[1]", None);
    let x = [1.5, 4.0];
    let expected = -(1.5f64 * 1.5) + 512.0 * 1e-3 - 0.5 / 4.0;
    assert_eq!(f.dim(), 2);
    assert!((f.loss_f64(&x, &[]) - expected).abs() < 1e-12, "{}", f.loss_f64(&x, &[]));
}

#[test]
fn common_subexpressions_are_one_node() {
    let f = compile("x0^2 + sin(x0^2) + x0^2 * x1", None);
    let squares = f.loss.ops.iter().filter(|op| matches!(op, Op::Bin(Bin::Mul, a, b) if a == b)).count();
    assert_eq!(squares, 1, "{:?}", f.loss.ops);
    let vars = f.loss.ops.iter().filter(|op| matches!(op, Op::Var(0))).count();
    assert_eq!(vars, 1);
}

#[test]
fn power_schemes() {
    let ops = |t: &str| compile(t, None).loss.ops.clone();
    // x^4 = (x·x)·(x·x): Var, x·x, (x·x)·(x·x).
    assert_eq!(ops("x0^4"), vec![Op::Var(0), Op::Bin(Bin::Mul, 0, 0), Op::Bin(Bin::Mul, 1, 1)]);
    // x^3 = (x·x)·x.
    assert_eq!(ops("x0^3"), vec![Op::Var(0), Op::Bin(Bin::Mul, 0, 0), Op::Bin(Bin::Mul, 1, 0)]);
    assert_eq!(ops("x0^-1"), vec![Op::Var(0), Op::Const(1.0, 1.0), Op::Bin(Bin::Div, 1, 0)]);
    assert_eq!(ops("x0^0"), vec![Op::Const(1.0, 1.0)]);
    assert_eq!(ops("x0^1"), vec![Op::Var(0)]);
    assert_eq!(
        ops("x0^1.5"),
        vec![Op::Var(0), Op::Const(1.5, 1.5), Op::Un(Un::Log, 0), Op::Bin(Bin::Mul, 1, 2), Op::Un(Un::Exp, 3)]
    );
    // x^6 = (x^3)·(x^3): 4 multiplications at most.
    let muls = ops("x0^6").iter().filter(|o| matches!(o, Op::Bin(Bin::Mul, ..))).count();
    assert_eq!(muls, 3);
}

const ROSENBROCK: &str = "sum(i, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)";

fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2).map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2)).sum()
}

#[test]
fn sums_unroll_and_drop_summands_out_of_range() {
    // d = 1: x[i+1] is outside 0..0 for every i, an error; a sum without neighbours works.
    let e = error(ROSENBROCK, Some(1), &[]);
    assert!(e.message.starts_with("index x[i+1] is outside 0..0 for every i with d = 1"), "{e}");
    assert_eq!(compile("sum(i, x[i]^2)", Some(1)).loss_f64(&[3.0], &[]), 9.0);
    // d = 2: one summand; the i = 1 summand needs x[2] and is left out.
    let f = compile(ROSENBROCK, Some(2));
    assert_eq!(f.loss_f64(&[0.5, 2.0], &[]), 100.0 * 1.75f64.powi(2) + 0.25);
    // Summands at the edge are dropped whole: with d = 3, x[i-1] leaves out i = 0 and x[i+1]
    // leaves out i = 2: only i = 1 remains.
    let f = compile("sum(i, x[i-1]*x[i+1] + x[i])", Some(3));
    assert_eq!(f.loss_f64(&[2.0, 10.0, 3.0], &[]), 16.0);
    let mut rng = Rng(7);
    for d in [2, 32] {
        let f = compile(ROSENBROCK, Some(d));
        let x: Vec<f64> = (0..d).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let (a, b) = (f.loss_f64(&x, &[]), rosenbrock(&x));
        assert!((a - b).abs() <= 1e-12 * b.abs(), "d = {d}: {a} vs {b}");
    }
    // Backward neighbours and parameters indexed alike: Σ_{i≥1} c[i]·(x[i] − x[i−1])².
    let params = [("c".to_string(), ParamShape::Vector)];
    let f = Formula::compile("sum(i, c[i]*(x[i] - x[i-1])^2)", Some(3), &params).unwrap();
    let p = f.pack_params_f64(&[("c".into(), vec![10.0, 2.0, 3.0])]).unwrap();
    assert_eq!(f.loss_f64(&[1.0, 2.0, 4.0], &p), 2.0 * 1.0 + 3.0 * 4.0);
    assert_eq!(f.names_used(), vec!["c".to_string()]);
}

#[test]
fn parameters_layout_and_use() {
    let params = [
        ("a".to_string(), ParamShape::Scalar),
        ("c".to_string(), ParamShape::Vector),
        ("b".to_string(), ParamShape::Scalar),
    ];
    let f = Formula::compile("a*x0 + c[2]*x1", Some(3), &params).unwrap();
    assert_eq!(
        (f.param_words(), f.param_offset("a"), f.param_offset("c"), f.param_offset("b")),
        (5, Some(0), Some(1), Some(4))
    );
    assert_eq!(f.names_used(), vec!["a".to_string(), "c".to_string()]);
    let values = [("a".to_string(), vec![2.0]), ("c".to_string(), vec![0.0, 0.0, 3.0]), ("b".to_string(), vec![0.1])];
    assert_eq!(f.pack_params(&values).unwrap(), vec![2.0, 0.0, 0.0, 3.0, 0.1]);
    assert!(f.pack_params(&values[..2]).unwrap_err().contains("`b`"));
    assert_eq!(f.loss_f64(&[1.0, 2.0, 0.0], &f.pack_params_f64(&values).unwrap()), 8.0);
}

#[test]
fn defined_at_names_the_first_non_finite_subexpression() {
    let f = compile("x0^2 + 1/x0", None);
    let e = f.defined_at(&[0.0], &[]).unwrap_err();
    assert!(e.contains("(1/x0)") && e.contains("inf"), "{e}");
    assert!(f.defined_at(&[1.0], &[]).is_ok());
    assert!(compile("log(x0)", None).defined_at(&[0.0], &[]).unwrap_err().contains("log(x0)"));
    // sqrt is finite at 0 but its derivative is not.
    assert!(compile("sqrt(x0)", None).defined_at(&[0.0], &[]).unwrap_err().contains("gradient"));
}

#[test]
fn subgradient_conventions() {
    let g = |t: &str, x: &[f64]| compile(t, Some(x.len())).gradient_f64(x, &[]);
    assert_eq!(g("abs(x0)", &[0.0]), vec![0.0]);
    assert_eq!(g("abs(x0)", &[-2.0]), vec![-1.0]);
    assert_eq!(g("min(x0, x1)", &[1.0, 1.0]), vec![1.0, 0.0]);
    assert_eq!(g("min(x0, x1)", &[2.0, 1.0]), vec![0.0, 1.0]);
    assert_eq!(g("max(x0, x1)", &[1.0, 1.0]), vec![1.0, 0.0]);
    assert_eq!(g("max(x0, x1)", &[1.0, 2.0]), vec![0.0, 1.0]);
}

#[test]
fn key_is_a_content_hash() {
    let a = compile("x0^2 + x1", None);
    assert_eq!(a.key(), compile("x0^2 + x1", None).key());
    assert_ne!(a.key(), compile("x0^2 + x1", Some(3)).key());
    assert_ne!(a.key(), compile("x0^2 - x1", None).key());
    assert_ne!(a.key(), compile("x0^2 + 1.0000001*x1", None).key());
}
