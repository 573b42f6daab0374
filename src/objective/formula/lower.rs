//! Lowering the syntax tree to the DAG for a given d: names resolved, `sum` unrolled, integer
//! powers written out as multiplications, real powers as exp(b·log a), min/max as selects.

use super::graph::{Bin, Graph, Id, Node, Un};
use super::parse::{Ast, Func, Index};
use super::{FormulaError, ParamShape};

/// A declared parameter and where its words start.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub shape: ParamShape,
    pub offset: usize,
}

/// Integer exponents up to this size are written out as multiplications.
pub const MAX_INT_POWER: f64 = 1024.0;

fn err(pos: usize, message: impl Into<String>) -> FormulaError {
    FormulaError { pos, message: message.into(), formula: String::new() }
}

/// The largest constant index of x or of a vector parameter, and the position of the first sum.
pub fn scan(ast: &Ast, max_index: &mut Option<i64>, sum_at: &mut Option<usize>) {
    let mut note = |i: &Option<Index>| {
        if let Some(Index::Const(k)) = i {
            *max_index = Some(max_index.map_or(*k, |m| m.max(*k)));
        }
    };
    match ast {
        Ast::Num(_) => {}
        Ast::Var { index, .. } => note(&Some(*index)),
        Ast::Name { index, .. } => note(index),
        Ast::Neg(a) => scan(a, max_index, sum_at),
        Ast::Bin { a, b, .. } => {
            scan(a, max_index, sum_at);
            scan(b, max_index, sum_at);
        }
        Ast::Pow { base, exp } => {
            scan(base, max_index, sum_at);
            scan(exp, max_index, sum_at);
        }
        Ast::Call { args, .. } => args.iter().for_each(|a| scan(a, max_index, sum_at)),
        Ast::Sum { body, pos } => {
            sum_at.get_or_insert(*pos);
            scan(body, max_index, sum_at);
        }
    }
}

/// The lowering's context.
pub struct Lower<'a> {
    pub g: &'a mut Graph,
    pub d: usize,
    pub params: &'a [Param],
    /// Which parameters the formula reads.
    pub used: Vec<bool>,
}

fn show_index(name: &str, index: Index) -> String {
    match index {
        Index::Const(k) => format!("{name}[{k}]"),
        Index::Rel(0) => format!("{name}[i]"),
        Index::Rel(k) if k > 0 => format!("{name}[i+{k}]"),
        Index::Rel(k) => format!("{name}[i-{}]", -k),
    }
}

impl Lower<'_> {
    /// The coordinate an index names for the sum's current i; `Ok(None)` when a relative index
    /// falls outside 0..d−1 for this i (the summand is dropped).
    fn resolve(&self, name: &str, index: Index, i: Option<usize>, pos: usize) -> Result<Option<u32>, FormulaError> {
        let d = self.d as i64;
        match index {
            Index::Const(k) if k < d => Ok(Some(k as u32)),
            Index::Const(_) => Err(err(
                pos,
                format!(
                    "index {} is outside 0..{} (d = {d}; set `dim` to use more coordinates)",
                    show_index(name, index),
                    d - 1
                ),
            )),
            Index::Rel(k) => {
                if k.abs() >= d {
                    return Err(err(
                        pos,
                        format!("index {} is outside 0..{} for every i with d = {d}", show_index(name, index), d - 1),
                    ));
                }
                let i = i.expect("relative indices only parse inside a sum") as i64;
                Ok((0..d).contains(&(i + k)).then_some((i + k) as u32))
            }
        }
    }

    /// The node of `ast` for the sum's current `i` (None outside a sum); `Ok(None)` when the
    /// enclosing summand is dropped.
    pub fn lower(&mut self, ast: &Ast, i: Option<usize>) -> Result<Option<Id>, FormulaError> {
        Ok(Some(match ast {
            Ast::Num(v) => self.g.konst(*v),
            Ast::Var { index, pos } => match self.resolve("x", *index, i, *pos)? {
                Some(k) => self.g.add(Node::Var(k)),
                None => return Ok(None),
            },
            Ast::Name { name, index, pos } => return self.name(name, *index, i, *pos),
            Ast::Neg(a) => match self.lower(a, i)? {
                Some(a) => self.g.un(Un::Neg, a),
                None => return Ok(None),
            },
            Ast::Bin { op, a, b, pos } => {
                let (Some(a), Some(b)) = (self.lower(a, i)?, self.lower(b, i)?) else { return Ok(None) };
                let op = *op;
                if op == Bin::Div && self.g.const_value(b) == Some(0.0) {
                    return Err(err(*pos, "division by the constant 0"));
                }
                self.g.bin(op, a, b)
            }
            Ast::Pow { base, exp } => {
                let Some(a) = self.lower(base, i)? else { return Ok(None) };
                match const_of(exp) {
                    Some(n) if n.fract() == 0.0 && n.abs() <= MAX_INT_POWER => self.int_power(a, n as i64),
                    _ => {
                        let Some(b) = self.lower(exp, i)? else { return Ok(None) };
                        let l = self.g.un(Un::Log, a);
                        let bl = self.g.bin(Bin::Mul, b, l);
                        self.g.un(Un::Exp, bl)
                    }
                }
            }
            Ast::Call { func, args } => {
                let mut ids = Vec::with_capacity(args.len());
                for a in args {
                    match self.lower(a, i)? {
                        Some(id) => ids.push(id),
                        None => return Ok(None),
                    }
                }
                let a = ids[0];
                match func {
                    Func::Un(op) => self.g.un(*op, a),
                    Func::Min => self.g.sel_le(a, ids[1], a, ids[1]),
                    Func::Max => self.g.sel_le(ids[1], a, a, ids[1]),
                }
            }
            Ast::Sum { body, pos } => {
                if i.is_some() {
                    return Err(err(*pos, "nested sums are not supported"));
                }
                let mut acc: Option<Id> = None;
                for k in 0..self.d {
                    if let Some(t) = self.lower(body, Some(k))? {
                        acc = Some(match acc {
                            None => t,
                            Some(s) => self.g.bin(Bin::Add, s, t),
                        });
                    }
                }
                acc.unwrap_or_else(|| self.g.konst(0.0))
            }
        }))
    }

    /// x^n by binary exponentiation: x^(2m) = x^m · x^m, x^(m+1) = x^m · x (m even), so
    /// x^4 = (x·x)·(x·x) with x·x one node; x^0 = 1, x^−n = 1 / x^n.
    fn int_power(&mut self, x: Id, n: i64) -> Id {
        fn pos(g: &mut Graph, x: Id, n: u64) -> Id {
            match n {
                1 => x,
                n if n % 2 == 0 => {
                    let h = pos(g, x, n / 2);
                    g.bin(Bin::Mul, h, h)
                }
                n => {
                    let p = pos(g, x, n - 1);
                    g.bin(Bin::Mul, p, x)
                }
            }
        }
        match n {
            0 => self.g.konst(1.0),
            n if n > 0 => pos(self.g, x, n as u64),
            n => {
                let p = pos(self.g, x, n.unsigned_abs());
                let one = self.g.konst(1.0);
                self.g.bin(Bin::Div, one, p)
            }
        }
    }

    fn name(
        &mut self,
        name: &str,
        index: Option<Index>,
        i: Option<usize>,
        pos: usize,
    ) -> Result<Option<Id>, FormulaError> {
        let Some((k, p)) = self.params.iter().enumerate().find(|(_, p)| p.name == name) else {
            let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            let params = if names.is_empty() { "none declared".to_string() } else { names.join(", ") };
            return Err(err(
                pos,
                format!("unknown name `{name}`: not a variable (x0…x{}) or a parameter ({params})", self.d - 1),
            ));
        };
        self.used[k] = true;
        let word = match (p.shape, index) {
            (ParamShape::Scalar, None) => p.offset,
            (ParamShape::Scalar, Some(ix)) => {
                return Err(err(pos, format!("`{name}` is a scalar parameter: {} has an index", show_index(name, ix))));
            }
            (ParamShape::Vector, None) if i.is_none() => {
                return Err(err(
                    pos,
                    format!(
                        "`{name}` is a vector parameter: it needs an index, as in {name}[0], or {name}[i] inside a sum"
                    ),
                ));
            }
            (ParamShape::Vector, None) => p.offset + i.unwrap_or(0),
            (ParamShape::Vector, Some(ix)) => match self.resolve(name, ix, i, pos)? {
                Some(c) => p.offset + c as usize,
                None => return Ok(None),
            },
        };
        Ok(Some(self.g.add(Node::Param(word as u32))))
    }
}

/// The value of a constant exponent (a number, possibly negated).
fn const_of(ast: &Ast) -> Option<f64> {
    match ast {
        Ast::Num(v) => Some(*v),
        Ast::Neg(a) => const_of(a).map(|v| -v),
        _ => None,
    }
}
