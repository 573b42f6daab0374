//! Losses written as formulas, compiled for both backends.
//!
//! A formula f(x) over x ∈ R^d is parsed once ([`parse`]), lowered for the given d into a
//! hash-consed expression DAG ([`graph`]; the same operation on the same operands is one node),
//! differentiated symbolically (gradient by reverse mode, Hessian–vector product H(x)·v by
//! forward mode on the gradient's graph), and cut into three linear programs of f32
//! instructions ([`tape`]): loss, gradient, HVP. The same tapes become WGSL
//! ([`Formula::wgsl`], straight-line code) and run in the CPU's lane interpreter
//! ([`Formula::loss_lanes`] …), operation for operation, so lavapipe and the CPU's split
//! arithmetic (`FMA = false`) agree bit for bit. [`Formula::loss_f64`] … evaluate the same
//! graph in f64 with std functions, for tests and host-side uses.
//!
//! # The language
//! - Variables `x0 … x{d−1}`, also written `x[3]`.
//! - Numbers `1`, `2.5`, `1e-3`, `.5`; each is rounded to f32 once (the f64 reference keeps
//!   the literal's f64 value).
//! - Operators `+ - * / ^` with the usual precedence; `^` is right associative and binds
//!   tighter than unary minus: `-x0^2` = −(x0²), `2^3^2` = 2^9; the exponent may be negated
//!   (`x0^-1`).
//! - Functions `exp log sqrt sin cos tanh cosh sinh abs` and the two-argument `min max`.
//! - Parameters, declared by the caller with a shape: a scalar `a`, or a vector of d entries
//!   `c`, read as `c[0]` or, inside a sum, `c[i]`, `c[i+1]` (a bare `c` inside a sum means
//!   `c[i]`). A scalar with an index, or a vector without one outside a sum, is an error.
//! - `sum(i, body)` = Σ_{i=0}^{d−1} body, where `x[i+k]`, `x[i−k]`, `c[i+k]` name neighbours;
//!   for an i where any such index falls outside 0..d−1, that whole summand is left out (so
//!   `sum(i, (x[i+1] − x[i])^2)` has d − 1 terms). A sum needs `dim`; sums do not nest; an
//!   offset |k| ≥ d (outside the range for every i) is an error.
//! - d is `dim` when given, else the largest constant index + 1. An index ≥ d is an error.
//! - A division by the constant 0 is an error; whether a formula is defined at a given point
//!   (`1/x0` or `log(x0)` at 0) is [`Formula::defined_at`]'s question.
//!
//! # How it computes
//! - Integer powers with |n| ≤ 1024 are multiplications by binary exponentiation:
//!   x^(2m) = x^m·x^m, x^(2m+1) = x^(2m)·x (x^4 = (x·x)·(x·x), one x·x node); x^0 = 1,
//!   x^−n = 1/x^n. Other powers are a^b = exp(b·log a) (NaN for a < 0, 0 at a = 0 for b > 0).
//! - min(a, b) = (a ≤ b ? a : b), max(a, b) = (b ≤ a ? a : b), as selects (no driver min/max).
//! - Only negated constants are folded (exact); x·1 = x in derivatives (exact).
//! - Transcendentals are polynomials ([`math`], `shaders/shared/formula_math.wgsl`), never a
//!   driver's builtin; their ranges and measured accuracy are in [`math`].
//!
//! # Derivative conventions
//! - d|u|/du = sign(u), with sign(0) = 0.
//! - min(a, b): the derivative flows to a when a ≤ b, else to b; max(a, b): to a when a ≥ b,
//!   else to b (ties go to the first argument).
//! - sqrt′(u) = 0.5/sqrt(u) (∞ at 0); log′(u) = 1/u; exp′ = exp; tanh′ = 1 − tanh²;
//!   cosh′ = sinh; sinh′ = cosh; sin′ = cos; cos′ = −sin; a^b through exp(b·log a).
//! - Adjoints are accumulated in decreasing node order (a fixed order: the tapes, and so the
//!   bits, depend only on the formula, d and the parameter declarations).
//!
//! # The WGSL
//! [`Formula::wgsl`] emits `formula_loss(x)`, `formula_gradient(x, g)` and
//! `formula_hvp(x, v, hv)` over `ptr<function, array<f32, DIM>>`; the kernel defines
//! `const DIM: u32`, `fn obj_param(k: u32) -> f32` (parameter word k, in the layout of
//! [`Formula::pack_params`]) and imports `shared/math.wgsl` then `shared/formula_math.wgsl`.

mod emit;
mod eval;
mod graph;
mod lower;
pub mod math;
mod parse;
mod tape;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_numeric;

use std::fmt;

use graph::Graph;
use lower::{Lower, Param};
use tape::Tape;

/// The shape of a declared parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamShape {
    /// One value.
    Scalar,
    /// d values.
    Vector,
}

/// A compile error at a character offset of the formula.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormulaError {
    /// Character offset (0-based) in the formula.
    pub pos: usize,
    pub message: String,
    /// The formula's text (for the caret line of `Display`).
    pub formula: String,
}

impl fmt::Display for FormulaError {
    /// "at column N: message", then the formula and a caret under column N.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.pos + 1, self.message)?;
        if !self.formula.is_empty() {
            write!(f, "\n  {}\n  {}^", self.formula, " ".repeat(self.pos))?;
        }
        Ok(())
    }
}

impl std::error::Error for FormulaError {}

/// A compiled formula: its tapes for loss, gradient and HVP.
#[derive(Clone, Debug)]
pub struct Formula {
    text: String,
    d: usize,
    params: Vec<Param>,
    used: Vec<bool>,
    words: usize,
    graph: Graph,
    loss: Tape,
    grad: Tape,
    hvp: Tape,
}

fn reserved(name: &str) -> bool {
    name == "x"
        || name == "sum"
        || parse::Func::named(name).is_some()
        || name.strip_prefix('x').is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
}

impl Formula {
    /// Compiles `loss` for `dim` (or the largest constant index + 1) with the declared
    /// parameters (their words laid out in this order: a scalar 1, a vector d).
    pub fn compile(loss: &str, dim: Option<usize>, params: &[(String, ParamShape)]) -> Result<Formula, FormulaError> {
        Self::compile_inner(loss, dim, params).map_err(|mut e| {
            e.formula = loss.to_string();
            e
        })
    }

    fn compile_inner(loss: &str, dim: Option<usize>, params: &[(String, ParamShape)]) -> Result<Formula, FormulaError> {
        let e = |message: String| FormulaError { pos: 0, message, formula: String::new() };
        let ast = parse::parse(loss)?;
        let (mut max_index, mut sum_at) = (None, None);
        lower::scan(&ast, &mut max_index, &mut sum_at);
        let d = match (dim, sum_at) {
            (Some(0), _) => return Err(e("`dim` must be at least 1".into())),
            (Some(d), _) => d,
            (None, Some(pos)) => {
                return Err(FormulaError {
                    pos,
                    message: "a formula with `sum` needs the dimension: set `dim`".into(),
                    formula: String::new(),
                });
            }
            (None, None) => max_index.map_or(1, |m| m as usize + 1),
        };
        let mut decl = Vec::new();
        let mut offset = 0;
        for (name, shape) in params {
            let ident = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !ident || reserved(name) {
                return Err(e(format!("`{name}` cannot name a parameter (a name, not x, xN, sum or a function)")));
            }
            if decl.iter().any(|p: &Param| &p.name == name) {
                return Err(e(format!("parameter `{name}` is declared twice")));
            }
            decl.push(Param { name: name.clone(), shape: *shape, offset });
            offset += if *shape == ParamShape::Scalar { 1 } else { d };
        }
        let mut graph = Graph::default();
        let mut low = Lower { g: &mut graph, d, params: &decl, used: vec![false; decl.len()] };
        let root = match low.lower(&ast, None)? {
            Some(r) => r,
            None => unreachable!("only summands are dropped"),
        };
        let used = low.used;
        let grad_out = graph.gradient(root, d);
        let hvp_out = graph.directional(&grad_out);
        let loss_tape = Tape::build(&graph, &[root]);
        let grad = Tape::build(&graph, &grad_out);
        let hvp = Tape::build(&graph, &hvp_out);
        Ok(Formula { text: loss.to_string(), d, params: decl, used, words: offset, graph, loss: loss_tape, grad, hvp })
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The formula's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Total f32 words of parameters.
    pub fn param_words(&self) -> usize {
        self.words
    }

    /// The first word of parameter `name`.
    pub fn param_offset(&self, name: &str) -> Option<usize> {
        self.params.iter().find(|p| p.name == name).map(|p| p.offset)
    }

    /// The declared parameters the formula reads, in declaration order.
    pub fn names_used(&self) -> Vec<String> {
        self.params.iter().zip(&self.used).filter(|(_, u)| **u).map(|(p, _)| p.name.clone()).collect()
    }

    /// Instructions in the (loss, gradient, HVP) tapes.
    pub fn tape_lengths(&self) -> (usize, usize, usize) {
        (self.loss.ops.len(), self.grad.ops.len(), self.hvp.ops.len())
    }

    /// Parameter values laid out by [`Formula::param_offset`]: each declared parameter needs
    /// its entry (1 value for a scalar, d for a vector); an error names what is missing.
    pub fn pack_params_f64(&self, values: &[(String, Vec<f64>)]) -> Result<Vec<f64>, String> {
        let mut out = vec![0.0; self.words];
        for p in &self.params {
            let want = if p.shape == ParamShape::Scalar { 1 } else { self.d };
            let Some((_, v)) = values.iter().find(|(n, _)| n == &p.name) else {
                return Err(format!("parameter `{}` has no value", p.name));
            };
            if v.len() != want {
                return Err(format!("parameter `{}` has {} values, needs {want}", p.name, v.len()));
            }
            out[p.offset..p.offset + want].copy_from_slice(v);
        }
        if let Some((n, _)) = values.iter().find(|(n, _)| self.param_offset(n).is_none()) {
            return Err(format!("`{n}` is not a declared parameter"));
        }
        Ok(out)
    }

    /// [`Formula::pack_params_f64`] rounded to f32, the words `obj_param` returns.
    pub fn pack_params(&self, values: &[(String, Vec<f64>)]) -> Result<Vec<f32>, String> {
        Ok(self.pack_params_f64(values)?.into_iter().map(|v| v as f32).collect())
    }

    /// The three WGSL functions (see the module docs).
    pub fn wgsl(&self) -> String {
        emit::wgsl(&self.loss, &self.grad, &self.hvp)
    }

    /// A stable content hash of the compiled programs: the first 8 bytes (little endian) of
    /// the SHA-256 of d, the parameter layout and the emitted WGSL.
    pub fn key(&self) -> u64 {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(format!("optsde.formula d={} words={}\n", self.d, self.words).as_bytes());
        h.update(self.wgsl().as_bytes());
        let b = h.finalize();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// f at L points (x[i][l] = coordinate i of lane l), twin of `formula_loss`.
    #[inline(always)]
    pub fn loss_lanes<const FMA: bool, const L: usize>(
        &self,
        x: &[[f32; L]],
        p: &[f32],
        out: &mut [f32; L],
        regs: &mut Vec<[f32; L]>,
    ) {
        eval::run::<FMA, L>(&self.loss, x, &[], p, regs);
        *out = self.loss.lanes(regs, self.loss.outputs[0]);
    }

    /// ∇f at L points, twin of `formula_gradient`.
    #[inline(always)]
    pub fn gradient_lanes<const FMA: bool, const L: usize>(
        &self,
        x: &[[f32; L]],
        p: &[f32],
        g: &mut [[f32; L]],
        regs: &mut Vec<[f32; L]>,
    ) {
        eval::run::<FMA, L>(&self.grad, x, &[], p, regs);
        for (gi, &o) in g.iter_mut().zip(&self.grad.outputs) {
            *gi = self.grad.lanes(regs, o);
        }
    }

    /// H(x)·v at L points, twin of `formula_hvp`.
    #[inline(always)]
    pub fn hvp_lanes<const FMA: bool, const L: usize>(
        &self,
        x: &[[f32; L]],
        v: &[[f32; L]],
        p: &[f32],
        hv: &mut [[f32; L]],
        regs: &mut Vec<[f32; L]>,
    ) {
        eval::run::<FMA, L>(&self.hvp, x, v, p, regs);
        for (h, &o) in hv.iter_mut().zip(&self.hvp.outputs) {
            *h = self.hvp.lanes(regs, o);
        }
    }

    /// f in f64 (params as [`Formula::pack_params_f64`] lays them out).
    pub fn loss_f64(&self, x: &[f64], params: &[f64]) -> f64 {
        self.loss.eval_f64(x, &[], params)[self.loss.outputs[0] as usize]
    }

    /// ∇f in f64.
    pub fn gradient_f64(&self, x: &[f64], params: &[f64]) -> Vec<f64> {
        let r = self.grad.eval_f64(x, &[], params);
        self.grad.outputs.iter().map(|&o| r[o as usize]).collect()
    }

    /// H(x)·v in f64.
    pub fn hvp_f64(&self, x: &[f64], v: &[f64], params: &[f64]) -> Vec<f64> {
        let r = self.hvp.eval_f64(x, v, params);
        self.hvp.outputs.iter().map(|&o| r[o as usize]).collect()
    }

    /// Whether f and ∇f are finite at x in f64; else the first non-finite sub-expression (in
    /// evaluation order), as text.
    pub fn defined_at(&self, x: &[f64], params: &[f64]) -> Result<(), String> {
        let names = |w: u32| {
            let w = w as usize;
            match self.params.iter().rev().find(|p| p.offset <= w) {
                Some(p) if p.shape == ParamShape::Scalar => p.name.clone(),
                Some(p) => format!("{}[{}]", p.name, w - p.offset),
                None => format!("p{w}"),
            }
        };
        for (what, tape) in [("f", &self.loss), ("the gradient", &self.grad)] {
            let r = tape.eval_f64(x, &[], params);
            if let Some(k) = r.iter().position(|v| !v.is_finite()) {
                let expr = tape::render(&self.graph, tape.nodes[k], &names, 120);
                return Err(format!("{what} is not finite here: {expr} = {}", r[k]));
            }
        }
        Ok(())
    }
}
