//! The expression DAG with hash-consing (one node per distinct (op, children)), and its symbolic
//! derivatives: the gradient by reverse mode, the Hessian–vector product by forward mode on the
//! gradient's graph. A node's children always have smaller ids, so id order is a topological
//! order; every traversal here walks ids in a fixed order, so the graphs (and the tapes and
//! WGSL built from them) are a pure function of the formula, d and the parameters.

use std::collections::HashMap;

/// A node's id: its index in [`Graph::nodes`].
pub type Id = u32;

/// One-argument operations: negation, the language's one-argument functions
/// ([`Un::FUNCTIONS`]) and sign (which only derivatives make).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Un {
    Neg,
    Exp,
    Log,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Cosh,
    Sinh,
    Abs,
    /// sign(u) with sign(0) = sign(NaN) = 0 (`crate::math::sign_f32`).
    Sign,
}

impl Un {
    /// The one-argument functions a formula can call, by [`Un::name`].
    pub const FUNCTIONS: [Un; 9] =
        [Un::Exp, Un::Log, Un::Sqrt, Un::Sin, Un::Cos, Un::Tanh, Un::Cosh, Un::Sinh, Un::Abs];

    /// The name a formula calls it by (`-` for negation, `sign` for sign, which no formula
    /// calls).
    pub fn name(self) -> &'static str {
        match self {
            Un::Neg => "-",
            Un::Exp => "exp",
            Un::Log => "log",
            Un::Sqrt => "sqrt",
            Un::Sin => "sin",
            Un::Cos => "cos",
            Un::Tanh => "tanh",
            Un::Cosh => "cosh",
            Un::Sinh => "sinh",
            Un::Abs => "abs",
            Un::Sign => "sign",
        }
    }

    /// The f64 reference value (the standard library's functions).
    pub fn f64(self, a: f64) -> f64 {
        match self {
            Un::Neg => -a,
            Un::Exp => a.exp(),
            Un::Log => a.ln(),
            Un::Sqrt => a.sqrt(),
            Un::Sin => a.sin(),
            Un::Cos => a.cos(),
            Un::Tanh => a.tanh(),
            Un::Cosh => a.cosh(),
            Un::Sinh => a.sinh(),
            Un::Abs => a.abs(),
            Un::Sign => (a > 0.0) as i32 as f64 - (a < 0.0) as i32 as f64,
        }
    }
}

/// Two-argument operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

impl Bin {
    /// The operator's symbol (in formulas, the WGSL and the printed tapes).
    pub fn symbol(self) -> char {
        match self {
            Bin::Add => '+',
            Bin::Sub => '-',
            Bin::Mul => '*',
            Bin::Div => '/',
        }
    }

    /// The f64 reference value.
    pub fn f64(self, a: f64, b: f64) -> f64 {
        match self {
            Bin::Add => a + b,
            Bin::Sub => a - b,
            Bin::Mul => a * b,
            Bin::Div => a / b,
        }
    }
}

/// A node of the DAG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A constant: its f32 bits (what both backends compute with) and the f64 bits of the
    /// literal (what the f64 reference computes with).
    Const(u32, u64),
    /// Coordinate i of x.
    Var(u32),
    /// Parameter word k.
    Param(u32),
    /// Coordinate i of the HVP's direction v.
    Dir(u32),
    Un(Un, Id),
    Bin(Bin, Id, Id),
    /// `if p <= q { t } else { f }` (min, max and their derivatives).
    SelLe(Id, Id, Id, Id),
}

impl Node {
    /// The children, in order.
    pub fn children(&self) -> impl Iterator<Item = Id> {
        let (buf, n): ([Id; 4], usize) = match *self {
            Node::Const(..) | Node::Var(_) | Node::Param(_) | Node::Dir(_) => ([0; 4], 0),
            Node::Un(_, a) => ([a, 0, 0, 0], 1),
            Node::Bin(_, a, b) => ([a, b, 0, 0], 2),
            Node::SelLe(p, q, t, f) => ([p, q, t, f], 4),
        };
        buf.into_iter().take(n)
    }
}

/// The hash-consed DAG.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    index: HashMap<Node, Id>,
}

impl Graph {
    /// The node `n`, shared if it exists already.
    pub fn add(&mut self, n: Node) -> Id {
        if let Some(&id) = self.index.get(&n) {
            return id;
        }
        let id = self.nodes.len() as Id;
        self.nodes.push(n);
        self.index.insert(n, id);
        id
    }

    pub fn konst(&mut self, v: f64) -> Id {
        self.add(Node::Const((v as f32).to_bits(), v.to_bits()))
    }

    /// The f32 value of a constant node.
    pub fn const_value(&self, id: Id) -> Option<f32> {
        match self.nodes[id as usize] {
            Node::Const(b, _) => Some(f32::from_bits(b)),
            _ => None,
        }
    }

    pub fn un(&mut self, op: Un, a: Id) -> Id {
        // Negating a constant is exact in f32 and f64 alike: fold it (so `-1` is one constant).
        if let (Un::Neg, Node::Const(b, d)) = (op, self.nodes[a as usize]) {
            return self.add(Node::Const(b ^ 0x8000_0000, d ^ (1 << 63)));
        }
        self.add(Node::Un(op, a))
    }

    pub fn bin(&mut self, op: Bin, a: Id, b: Id) -> Id {
        self.add(Node::Bin(op, a, b))
    }

    pub fn mul(&mut self, a: Id, b: Id) -> Id {
        // x·1 = x exactly (IEEE), so derivative chains do not multiply by their unit seeds.
        if self.const_value(a) == Some(1.0) {
            return b;
        }
        if self.const_value(b) == Some(1.0) {
            return a;
        }
        self.bin(Bin::Mul, a, b)
    }

    pub fn sel_le(&mut self, p: Id, q: Id, t: Id, f: Id) -> Id {
        self.add(Node::SelLe(p, q, t, f))
    }

    /// `acc + c`, where `None` is a structural zero.
    fn accumulate(&mut self, acc: Option<Id>, c: Id) -> Id {
        match acc {
            None => c,
            Some(a) => self.bin(Bin::Add, a, c),
        }
    }

    /// The gradient of `root` with respect to x0 … x{d−1} (reverse mode). Adjoints are pushed
    /// from each node to its children in decreasing node id and, within a node, in child
    /// order; a coordinate the loss does not depend on gets the constant 0.
    pub fn gradient(&mut self, root: Id, d: usize) -> Vec<Id> {
        let n = root as usize + 1;
        let mut adj: Vec<Option<Id>> = vec![None; n];
        adj[root as usize] = Some(self.konst(1.0));
        for id in (0..n).rev() {
            let Some(g) = adj[id] else { continue };
            let y = id as Id;
            let mut push =
                |s: &mut Self, c: Id, contrib: Id| adj[c as usize] = Some(s.accumulate(adj[c as usize], contrib));
            match self.nodes[id] {
                Node::Const(..) | Node::Var(_) | Node::Param(_) | Node::Dir(_) => {}
                Node::Un(op, a) => {
                    let Some(c) = self.chain(op, a, y, g) else { continue };
                    push(self, a, c);
                }
                Node::Bin(op, a, b) => match op {
                    Bin::Add => {
                        push(self, a, g);
                        push(self, b, g);
                    }
                    Bin::Sub => {
                        push(self, a, g);
                        let ng = self.un(Un::Neg, g);
                        push(self, b, ng);
                    }
                    Bin::Mul => {
                        let ca = self.mul(g, b);
                        push(self, a, ca);
                        let cb = self.mul(g, a);
                        push(self, b, cb);
                    }
                    Bin::Div => {
                        let q = self.bin(Bin::Div, g, b);
                        push(self, a, q);
                        let qy = self.mul(q, y);
                        let cb = self.un(Un::Neg, qy);
                        push(self, b, cb);
                    }
                },
                Node::SelLe(p, q, t, f) => {
                    let zero = self.konst(0.0);
                    let ct = self.sel_le(p, q, g, zero);
                    push(self, t, ct);
                    let cf = self.sel_le(p, q, zero, g);
                    push(self, f, cf);
                }
            }
        }
        (0..d)
            .map(|i| match self.index.get(&Node::Var(i as u32)) {
                Some(&v) if (v as usize) < n && adj[v as usize].is_some() => adj[v as usize].unwrap(),
                _ => self.konst(0.0),
            })
            .collect()
    }

    /// The chain rule through `y = op(a)`: `seed · op′(a)` (seed first in every product), or
    /// `None` where the derivative is zero (sign). The gradient (seed: y's adjoint) and the
    /// Hessian–vector product (seed: a's tangent) share it.
    fn chain(&mut self, op: Un, a: Id, y: Id, seed: Id) -> Option<Id> {
        Some(match op {
            Un::Neg => self.un(Un::Neg, seed),
            Un::Exp => self.mul(seed, y),
            Un::Log => self.bin(Bin::Div, seed, a),
            Un::Sqrt => {
                let half = self.konst(0.5);
                let r = self.bin(Bin::Div, half, y);
                self.mul(seed, r)
            }
            Un::Cos => {
                let s = self.un(Un::Sin, a);
                let gs = self.mul(seed, s);
                self.un(Un::Neg, gs)
            }
            Un::Tanh => {
                let dt = self.tanh_slope(y);
                self.mul(seed, dt)
            }
            // The derivative is another one-argument operation of a.
            Un::Sin | Un::Cosh | Un::Sinh | Un::Abs => {
                let slope = match op {
                    Un::Sin => Un::Cos,
                    Un::Cosh => Un::Sinh,
                    Un::Sinh => Un::Cosh,
                    _ => Un::Sign,
                };
                let s = self.un(slope, a);
                self.mul(seed, s)
            }
            Un::Sign => return None,
        })
    }

    /// 1 − y² (the derivative of tanh, from its value y).
    fn tanh_slope(&mut self, y: Id) -> Id {
        let one = self.konst(1.0);
        let yy = self.bin(Bin::Mul, y, y);
        self.bin(Bin::Sub, one, yy)
    }

    /// The directional derivative of each of `outputs` in the direction v (`Node::Dir`):
    /// forward mode, tangents built in increasing node id over the outputs' ancestors. Applied
    /// to the gradient's nodes this is H(x)·v.
    pub fn directional(&mut self, outputs: &[Id]) -> Vec<Id> {
        let n = outputs.iter().map(|&o| o as usize + 1).max().unwrap_or(0);
        let mut needed = vec![false; n];
        for &o in outputs {
            needed[o as usize] = true;
        }
        for id in (0..n).rev() {
            if needed[id] {
                for c in self.nodes[id].children() {
                    needed[c as usize] = true;
                }
            }
        }
        let mut tan: Vec<Option<Id>> = vec![None; n];
        for id in 0..n {
            if !needed[id] {
                continue;
            }
            let y = id as Id;
            tan[id] = match self.nodes[id] {
                Node::Const(..) | Node::Param(_) | Node::Dir(_) => None,
                Node::Var(i) => Some(self.add(Node::Dir(i))),
                Node::Un(op, a) => tan[a as usize].and_then(|ta| self.chain(op, a, y, ta)),
                Node::Bin(op, a, b) => {
                    let (ta, tb) = (tan[a as usize], tan[b as usize]);
                    match op {
                        Bin::Add => self.sum_opt(ta, tb),
                        Bin::Sub => match (ta, tb) {
                            (ta, None) => ta,
                            (None, Some(tb)) => Some(self.un(Un::Neg, tb)),
                            (Some(ta), Some(tb)) => Some(self.bin(Bin::Sub, ta, tb)),
                        },
                        Bin::Mul => {
                            let l = ta.map(|ta| self.mul(ta, b));
                            let r = tb.map(|tb| self.mul(a, tb));
                            self.sum_opt(l, r)
                        }
                        Bin::Div => {
                            // (ta − y·tb) / b
                            let num = match (ta, tb) {
                                (None, None) => None,
                                (Some(ta), None) => Some(ta),
                                (ta, Some(tb)) => {
                                    let ytb = self.mul(y, tb);
                                    Some(match ta {
                                        Some(ta) => self.bin(Bin::Sub, ta, ytb),
                                        None => self.un(Un::Neg, ytb),
                                    })
                                }
                            };
                            num.map(|num| self.bin(Bin::Div, num, b))
                        }
                    }
                }
                Node::SelLe(p, q, t, f) => match (tan[t as usize], tan[f as usize]) {
                    (None, None) => None,
                    (tt, tf) => {
                        let zero = self.konst(0.0);
                        Some(self.sel_le(p, q, tt.unwrap_or(zero), tf.unwrap_or(zero)))
                    }
                },
            };
        }
        outputs.iter().map(|&o| tan[o as usize].unwrap_or_else(|| self.konst(0.0))).collect()
    }

    fn sum_opt(&mut self, a: Option<Id>, b: Option<Id>) -> Option<Id> {
        match (a, b) {
            (None, b) => b,
            (a, None) => a,
            (Some(a), Some(b)) => Some(self.bin(Bin::Add, a, b)),
        }
    }
}
