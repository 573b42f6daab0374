//! Tapes: each function (loss, gradient, HVP) as a linear program of f32 instructions in
//! topological order, register k holding instruction k's result. Both backends run the same
//! tape: the WGSL emitter writes one `let` per instruction, the lane interpreter one `match`
//! arm per instruction; the f64 reference evaluates it with std functions.

use super::graph::{Bin, Graph, Id, Node, Un};

/// One instruction; operands are earlier registers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// A constant: its f32 value and the f64 literal it was rounded from.
    Const(f32, f64),
    Var(u32),
    Param(u32),
    Dir(u32),
    Un(Un, u32),
    Bin(Bin, u32, u32),
    /// `if r[p] <= r[q] { r[t] } else { r[f] }`.
    SelLe(u32, u32, u32, u32),
}

/// A linear program and the registers holding its outputs.
#[derive(Clone, Debug)]
pub struct Tape {
    pub ops: Vec<Op>,
    pub outputs: Vec<u32>,
    /// The graph node of each instruction (for messages).
    pub nodes: Vec<Id>,
    /// Whether each register depends on constants and parameters only (the same in every lane;
    /// the interpreter keeps those in lane 0, [`Tape::lanes`]).
    pub uniform: Vec<bool>,
}

impl Tape {
    /// The instructions that `outputs` depend on, in increasing node id.
    pub fn build(g: &Graph, outputs: &[Id]) -> Tape {
        let n = outputs.iter().map(|&o| o as usize + 1).max().unwrap_or(0);
        let mut needed = vec![false; n];
        for &o in outputs {
            needed[o as usize] = true;
        }
        for id in (0..n).rev() {
            if needed[id] {
                for c in g.nodes[id].children() {
                    needed[c as usize] = true;
                }
            }
        }
        let mut reg = vec![u32::MAX; n];
        let (mut ops, mut nodes) = (Vec::new(), Vec::new());
        for id in (0..n).filter(|&id| needed[id]) {
            let r = |c: Id| reg[c as usize];
            let op = match g.nodes[id] {
                Node::Const(b, d) => Op::Const(f32::from_bits(b), f64::from_bits(d)),
                Node::Var(i) => Op::Var(i),
                Node::Param(k) => Op::Param(k),
                Node::Dir(i) => Op::Dir(i),
                Node::Un(op, a) => Op::Un(op, r(a)),
                Node::Bin(op, a, b) => Op::Bin(op, r(a), r(b)),
                Node::SelLe(p, q, t, f) => Op::SelLe(r(p), r(q), r(t), r(f)),
            };
            reg[id] = ops.len() as u32;
            ops.push(op);
            nodes.push(id as Id);
        }
        let mut uniform: Vec<bool> = Vec::with_capacity(ops.len());
        for op in &ops {
            let u = |r: &u32| uniform[*r as usize];
            let flag = match op {
                Op::Const(..) | Op::Param(_) => true,
                Op::Var(_) | Op::Dir(_) => false,
                Op::Un(_, a) => u(a),
                Op::Bin(_, a, b) => u(a) && u(b),
                Op::SelLe(p, q, t, f) => [p, q, t, f].into_iter().all(u),
            };
            uniform.push(flag);
        }
        Tape { outputs: outputs.iter().map(|&o| reg[o as usize]).collect(), ops, nodes, uniform }
    }

    /// Register `r`'s lanes after the interpreter ran (`super::eval::run`): a uniform register
    /// holds its value in lane 0 only.
    pub fn lanes<const L: usize>(&self, regs: &[[f32; L]], r: u32) -> [f32; L] {
        let v = regs[r as usize];
        if self.uniform[r as usize] { [v[0]; L] } else { v }
    }

    /// Every register's value in f64 at (x, v, params).
    pub fn eval_f64(&self, x: &[f64], v: &[f64], p: &[f64]) -> Vec<f64> {
        let mut r: Vec<f64> = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            let val = match *op {
                Op::Const(_, d) => d,
                Op::Var(i) => x[i as usize],
                Op::Param(k) => p[k as usize],
                Op::Dir(i) => v[i as usize],
                Op::Un(op, a) => op.f64(r[a as usize]),
                Op::Bin(op, a, b) => op.f64(r[a as usize], r[b as usize]),
                Op::SelLe(p, q, t, f) => {
                    if r[p as usize] <= r[q as usize] {
                        r[t as usize]
                    } else {
                        r[f as usize]
                    }
                }
            };
            r.push(val);
        }
        r
    }
}

/// The expression of node `id` as text, cut to about `budget` characters with `…`.
pub fn render(g: &Graph, id: Id, names: &dyn Fn(u32) -> String, budget: usize) -> String {
    let mut s = String::new();
    write_node(g, id, names, budget, &mut s);
    s
}

fn write_node(g: &Graph, id: Id, names: &dyn Fn(u32) -> String, budget: usize, s: &mut String) {
    if s.chars().count() > budget {
        if !s.ends_with('…') {
            s.push('…');
        }
        return;
    }
    let sub = |c: Id, s: &mut String| write_node(g, c, names, budget, s);
    match g.nodes[id as usize] {
        Node::Const(_, d) => s.push_str(&format!("{}", f64::from_bits(d))),
        Node::Var(i) => s.push_str(&format!("x{i}")),
        Node::Dir(i) => s.push_str(&format!("v{i}")),
        Node::Param(k) => s.push_str(&names(k)),
        Node::Un(op, a) => {
            let name = op.name();
            s.push_str(name);
            s.push('(');
            sub(a, s);
            s.push(')');
        }
        Node::Bin(op, a, b) => {
            // Sums spaced, products not: (a + b*c).
            let sym = op.symbol();
            let spaced = matches!(op, Bin::Add | Bin::Sub);
            s.push('(');
            sub(a, s);
            s.push_str(&if spaced { format!(" {sym} ") } else { sym.to_string() });
            sub(b, s);
            s.push(')');
        }
        Node::SelLe(p, q, t, f) => {
            s.push_str("(if ");
            sub(p, s);
            s.push_str(" <= ");
            sub(q, s);
            s.push_str(" then ");
            sub(t, s);
            s.push_str(" else ");
            sub(f, s);
            s.push(')');
        }
    }
}
