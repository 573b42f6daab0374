//! The formula language's lexer and parser: text → [`Ast`], with the character offset of every
//! node for error messages. Precedence, loosest first: `+ −`, `* /`, unary minus, `^` (right
//! associative; its exponent may carry a unary minus: `x^-1`).

use super::FormulaError;
use super::graph::{Bin, Un};

/// A function of the language: a one-argument operation of the graph, or `min`/`max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Un(Un),
    Min,
    Max,
}

impl Func {
    /// The function a formula calls `name`, if any.
    pub fn named(name: &str) -> Option<Func> {
        match name {
            "min" => Some(Func::Min),
            "max" => Some(Func::Max),
            _ => Un::FUNCTIONS.into_iter().find(|u| u.name() == name).map(Func::Un),
        }
    }

    pub fn arity(self) -> usize {
        if matches!(self, Func::Min | Func::Max) { 2 } else { 1 }
    }
}

/// An index inside brackets: a constant (`x[3]`) or the sum's variable plus an offset (`x[i-1]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    Const(i64),
    Rel(i64),
}

/// The parsed formula; `pos` is the character offset where the node starts (for operators, the
/// operator's own offset).
#[derive(Clone, Debug)]
pub enum Ast {
    /// A number literal, as written (f64; rounded to f32 once when compiled).
    Num(f64),
    /// `x3` or `x[..]`.
    Var {
        index: Index,
        pos: usize,
    },
    /// A parameter, with its index if it has one.
    Name {
        name: String,
        index: Option<Index>,
        pos: usize,
    },
    Neg(Box<Ast>),
    Bin {
        op: Bin,
        a: Box<Ast>,
        b: Box<Ast>,
        pos: usize,
    },
    Pow {
        base: Box<Ast>,
        exp: Box<Ast>,
    },
    Call {
        func: Func,
        args: Vec<Ast>,
    },
    /// `sum(i, body)`.
    Sum {
        body: Box<Ast>,
        pos: usize,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Sym(char),
    End,
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
}

fn err(pos: usize, message: impl Into<String>) -> FormulaError {
    FormulaError { pos, message: message.into(), formula: String::new() }
}

fn lex(text: &str) -> Result<Lexer, FormulaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let s: String = chars[start..i].iter().collect();
            let v: f64 = s.parse().map_err(|_| err(start, format!("`{s}` is not a number")))?;
            if !(v as f32).is_finite() {
                return Err(err(start, format!("the number {s} is outside the f32 range")));
            }
            toks.push((Tok::Num(v), start));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Ident(chars[start..i].iter().collect()), start));
        } else if "+-*/^(),[]".contains(c) {
            toks.push((Tok::Sym(c), i));
            i += 1;
        } else {
            return Err(err(i, format!("unexpected character `{c}`")));
        }
    }
    toks.push((Tok::End, chars.len()));
    Ok(Lexer { toks })
}

/// Parses `text` into its syntax tree (names are resolved later, when lowering).
pub fn parse(text: &str) -> Result<Ast, FormulaError> {
    let lexer = lex(text)?;
    let mut p = Parser { toks: lexer.toks, at: 0, sum_var: None };
    if p.peek() == &Tok::End {
        return Err(err(0, "the formula is empty"));
    }
    let ast = p.expr()?;
    match p.peek() {
        Tok::End => Ok(ast),
        Tok::Sym(')') => Err(err(p.pos(), "unmatched `)`")),
        t => Err(err(p.pos(), format!("expected an operator or the end of the formula, found {}", show(t)))),
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Num(v) => format!("the number {v}"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Sym(c) => format!("`{c}`"),
        Tok::End => "the end of the formula".into(),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// The variable of the enclosing `sum`, if any.
    sum_var: Option<String>,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn pos(&self) -> usize {
        self.toks[self.at].1
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), FormulaError> {
        if self.peek() == &Tok::Sym(c) {
            self.bump();
            Ok(())
        } else {
            Err(err(self.pos(), format!("expected `{c}` {what}, found {}", show(self.peek()))))
        }
    }

    fn expr(&mut self) -> Result<Ast, FormulaError> {
        let mut a = self.term()?;
        while let Tok::Sym(c @ ('+' | '-')) = *self.peek() {
            let pos = self.bump().1;
            let b = self.term()?;
            let op = if c == '+' { Bin::Add } else { Bin::Sub };
            a = Ast::Bin { op, a: Box::new(a), b: Box::new(b), pos };
        }
        Ok(a)
    }

    fn term(&mut self) -> Result<Ast, FormulaError> {
        let mut a = self.unary()?;
        while let Tok::Sym(c @ ('*' | '/')) = *self.peek() {
            let pos = self.bump().1;
            let b = self.unary()?;
            let op = if c == '*' { Bin::Mul } else { Bin::Div };
            a = Ast::Bin { op, a: Box::new(a), b: Box::new(b), pos };
        }
        Ok(a)
    }

    fn unary(&mut self) -> Result<Ast, FormulaError> {
        if self.peek() == &Tok::Sym('-') {
            self.bump();
            return Ok(Ast::Neg(Box::new(self.unary()?)));
        }
        if self.peek() == &Tok::Sym('+') {
            self.bump();
            return self.unary();
        }
        let base = self.primary()?;
        if self.peek() == &Tok::Sym('^') {
            self.bump();
            let exp = self.unary()?;
            return Ok(Ast::Pow { base: Box::new(base), exp: Box::new(exp) });
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Ast, FormulaError> {
        let (tok, pos) = self.bump();
        match tok {
            Tok::Num(v) => Ok(Ast::Num(v)),
            Tok::Sym('(') => {
                let e = self.expr()?;
                self.expect(')', "to close the `(`")?;
                Ok(e)
            }
            Tok::Ident(name) => self.ident(name, pos),
            t => Err(err(pos, format!("expected a number, a name or `(`, found {}", show(&t)))),
        }
    }

    fn ident(&mut self, name: String, pos: usize) -> Result<Ast, FormulaError> {
        if name == "sum" {
            return self.sum(pos);
        }
        if let Some(func) = Func::named(&name) {
            self.expect('(', &format!("after `{name}`"))?;
            let mut args = vec![self.expr()?];
            for k in 1..func.arity() {
                let what = format!("before argument {} of {name}", k + 1);
                self.expect(',', &what)?;
                args.push(self.expr()?);
            }
            let what = if func.arity() == 1 {
                format!("after the argument of {name}")
            } else {
                format!("after the {} arguments of {name}", func.arity())
            };
            self.expect(')', &what)?;
            return Ok(Ast::Call { func, args });
        }
        if Some(&name) == self.sum_var.as_ref() {
            return Err(err(
                pos,
                format!("the sum's index `{name}` can only be used inside brackets, as in x[{name}]"),
            ));
        }
        if let Some(digits) = name.strip_prefix('x')
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            let k: i64 = digits.parse().map_err(|_| err(pos, format!("`{name}`: index too large")))?;
            return Ok(Ast::Var { index: Index::Const(k), pos });
        }
        let index = if self.peek() == &Tok::Sym('[') {
            self.bump();
            let index = self.index()?;
            self.expect(']', &format!("to close the index of `{name}`"))?;
            Some(index)
        } else {
            None
        };
        if name == "x" {
            return match index {
                Some(index) => Ok(Ast::Var { index, pos }),
                None => Err(err(pos, "`x` needs an index: x0, x[3], or x[i] inside a sum")),
            };
        }
        Ok(Ast::Name { name, index, pos })
    }

    fn index(&mut self) -> Result<Index, FormulaError> {
        let (tok, pos) = self.bump();
        match tok {
            Tok::Num(v) if v.fract() == 0.0 && v >= 0.0 => Ok(Index::Const(v as i64)),
            Tok::Ident(n) if Some(&n) == self.sum_var.as_ref() => {
                let sign = match self.peek() {
                    Tok::Sym('+') => 1,
                    Tok::Sym('-') => -1,
                    _ => return Ok(Index::Rel(0)),
                };
                self.bump();
                match self.bump() {
                    (Tok::Num(v), _) if v.fract() == 0.0 => Ok(Index::Rel(sign * v as i64)),
                    (t, p) => Err(err(p, format!("expected an integer offset after `{n}`, found {}", show(&t)))),
                }
            }
            Tok::Ident(n) => Err(err(
                pos,
                match &self.sum_var {
                    Some(v) => format!("unknown index `{n}`: the sum's index is `{v}`"),
                    None => format!("the index `{n}` is only defined inside sum({n}, ...)"),
                },
            )),
            t => Err(err(pos, format!("expected an index (an integer, or the sum's index), found {}", show(&t)))),
        }
    }

    fn sum(&mut self, pos: usize) -> Result<Ast, FormulaError> {
        if self.sum_var.is_some() {
            return Err(err(pos, "nested sums are not supported"));
        }
        self.expect('(', "after `sum`")?;
        let var = match self.bump() {
            (Tok::Ident(v), _) if v != "x" && Func::named(&v).is_none() => v,
            (t, p) => {
                return Err(err(p, format!("expected the sum's index name (as in sum(i, ...)), found {}", show(&t))));
            }
        };
        self.expect(',', "after the sum's index name")?;
        self.sum_var = Some(var);
        let body = self.expr();
        self.sum_var = None;
        let body = body?;
        self.expect(')', "after the body of sum")?;
        Ok(Ast::Sum { body: Box::new(body), pos })
    }
}
