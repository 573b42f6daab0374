//! The WGSL preprocessor: `#import`, `#if`, `#for`. A kernel is WGSL with a few directive lines;
//! the composer ([`super::compose`](mod@super::compose)) names the values they read
//! ([`Defines`]), so one source file serves every variant of a kernel instead of a copy per
//! variant or WGSL built in Rust strings. In the style of vello's
//! `vello_shaders/src/compile/preprocess.rs` (directive lines inside the WGSL), with a repetition
//! added for the loops written out per packed path, and errors instead of warnings: a file is
//! parsed into a tree first, so an unbalanced or unknown directive names its file and line.
//!
//! Directives stand alone on their line (leading whitespace allowed):
//! - `#import shared/rng.wgsl`: the file's text, each file once per composed shader.
//! - `#if COND`, `#elif COND`, `#else`, `#endif`: the lines of the first branch whose condition
//!   holds. COND is `A || B`, `A && B` (no parentheses; `&&` binds tighter), each atom a flag
//!   (`SPEC`), a negated flag (`!SPEC`) or a comparison of two expressions (`DRAWS == 1`, with
//!   `==`, `!=`, `<`, `<=`, `>`, `>=`).
//! - `#for q in A..B`, `#for q in (A..B).rev()`, `#for q in (A..B).step_by(N)`,
//!   `#for c in [x, y, z, w]`, `#for q, c in enumerate([x, y, z, w])` ... `#endfor`: the lines in
//!   between once per value, with the loop variables bound (B is excluded, as in Rust).
//!
//! Expressions are integers and numeric names joined by `+`, `-`, `*`, `/` (the usual
//! precedence, no parentheses). In the code of every other line (comments are left as they
//! are), `{EXPR}` is replaced by its value (`x{q}` becomes `x2`; `{b + q}u` becomes `5u`), and
//! `{c}` by the word a list loop bound to `c`. WGSL
//! has no use for braces around a bare expression, so any `{...}` whose content is one (letters,
//! digits, `_`, spaces and `+-*/`, starting and ending with a letter, digit or `_`) must name
//! known values: a misspelt name is an error, not text left in the kernel.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// A value the directives read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// For `#if NAME` and `#if !NAME`.
    Flag(bool),
    /// For expressions: `#for` bounds, `#if` comparisons, `{...}` substitutions.
    Number(i64),
    /// An item of a `#for` word list, substituted by `{name}`.
    Word(String),
}

/// The values the directives of one composed shader read, by name.
pub type Defines = BTreeMap<String, Value>;

/// The shader `root` (a path that `lookup` resolves, as every `#import` is) with its directives
/// applied under `defines`.
pub fn preprocess<'a>(root: &str, lookup: &dyn Fn(&str) -> Option<&'a str>, defines: &Defines) -> Result<String> {
    let mut out = String::new();
    let mut seen = Vec::new();
    import(root, lookup, defines, &mut seen, &mut out)?;
    Ok(out)
}

fn import<'a>(
    path: &str,
    lookup: &dyn Fn(&str) -> Option<&'a str>,
    defines: &Defines,
    seen: &mut Vec<String>,
    out: &mut String,
) -> Result<()> {
    if seen.iter().any(|s| s == path) {
        return Ok(());
    }
    seen.push(path.to_string());
    let text = lookup(path).ok_or_else(|| Error::Gpu(format!("shader import `{path}` not found")))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    let nodes = parse(&lines, &mut at, path, None)?;
    let mut env = defines.clone();
    let mut ctx = Ctx { path, lookup, seen, out, loops: 0 };
    ctx.emit(&nodes, &mut env)
}

/// One line of a source file, or a directive with the lines it governs.
#[derive(Debug)]
enum Node<'s> {
    Text(usize, &'s str),
    Import(usize, &'s str),
    /// (line, condition, lines) for `#if` and each `#elif`, then `#else`'s lines (as a branch
    /// whose condition is empty).
    If(Vec<(usize, &'s str, Vec<Node<'s>>)>),
    For {
        line: usize,
        vars: &'s str,
        iter: &'s str,
        body: Vec<Node<'s>>,
    },
}

/// The directive of a line (`#name rest`), if it is one.
fn directive(line: &str) -> Option<(&str, &str)> {
    let d = line.trim_start().strip_prefix('#')?;
    let end = d.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(d.len());
    Some((&d[..end], d[end..].trim()))
}

fn err(path: &str, line: usize, what: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{path}:{}: {what}", line + 1))
}

/// The nodes from line `*at` up to the directive that closes `open` (`#endif`, `#elif`,
/// `#else` for an `#if`; `#endfor` for a `#for`; the end of the file at top level), which is
/// left at `*at`.
fn parse<'s>(lines: &[&'s str], at: &mut usize, path: &str, open: Option<(&str, usize)>) -> Result<Vec<Node<'s>>> {
    let mut nodes = Vec::new();
    while *at < lines.len() {
        let n = *at;
        let Some((name, rest)) = directive(lines[n]) else {
            nodes.push(Node::Text(n, lines[n]));
            *at += 1;
            continue;
        };
        match (name, open) {
            ("endif" | "elif" | "else", Some(("if", _))) | ("endfor", Some(("for", _))) => return Ok(nodes),
            ("endif" | "elif" | "else" | "endfor", _) => {
                return Err(err(path, n, format!("#{name} without its opening")));
            }
            ("import", _) => {
                nodes.push(Node::Import(n, rest));
                *at += 1;
            }
            ("if", _) => {
                let mut branches = Vec::new();
                let mut cond = rest;
                let mut line = n;
                loop {
                    *at += 1;
                    let body = parse(lines, at, path, Some(("if", n)))?;
                    branches.push((line, cond, body));
                    let (next, rest) = directive(lines[*at]).expect("parse stops at a directive");
                    line = *at;
                    match next {
                        "endif" => break,
                        "elif" if !cond.is_empty() => cond = rest,
                        "else" if !cond.is_empty() => cond = "",
                        _ => return Err(err(path, *at, format!("#{next} after #else"))),
                    }
                }
                *at += 1;
                nodes.push(Node::If(branches));
            }
            ("for", _) => {
                let (vars, iter) = rest.split_once(" in ").ok_or_else(|| err(path, n, "#for needs `VAR in ITER`"))?;
                *at += 1;
                let body = parse(lines, at, path, Some(("for", n)))?;
                *at += 1;
                nodes.push(Node::For { line: n, vars: vars.trim(), iter: iter.trim(), body });
            }
            _ => return Err(err(path, n, format!("unknown directive #{name}"))),
        }
    }
    match open {
        Some((what, line)) => Err(err(path, line, format!("#{what} without its #end{what}"))),
        None => Ok(nodes),
    }
}

struct Ctx<'c, 'a> {
    path: &'c str,
    lookup: &'c dyn Fn(&str) -> Option<&'a str>,
    seen: &'c mut Vec<String>,
    out: &'c mut String,
    /// `#for` loops around the node being emitted (an `#import` inside one is refused).
    loops: usize,
}

impl Ctx<'_, '_> {
    fn emit(&mut self, nodes: &[Node<'_>], env: &mut Defines) -> Result<()> {
        let path = self.path;
        for node in nodes {
            match node {
                Node::Text(n, text) => {
                    let line = substitute(text, env).map_err(|e| err(path, *n, e))?;
                    self.out.push_str(&line);
                    self.out.push('\n');
                }
                Node::Import(n, dep) => {
                    if self.loops > 0 {
                        return Err(err(path, *n, "#import inside #for"));
                    }
                    import(dep, self.lookup, env, self.seen, self.out)?;
                }
                Node::If(branches) => {
                    for (n, cond, body) in branches {
                        if cond.is_empty() || condition(cond, env).map_err(|e| err(path, *n, e))? {
                            self.emit(body, env)?;
                            break;
                        }
                    }
                }
                Node::For { line, vars, iter, body } => {
                    let names: Vec<&str> = vars.split(',').map(str::trim).collect();
                    let items = iteration(iter, env).map_err(|e| err(path, *line, e))?;
                    let enumerate = iter.starts_with("enumerate(");
                    let expected = if enumerate { 2 } else { 1 };
                    if names.len() != expected || names.iter().any(|v| !is_name(v) || env.contains_key(*v)) {
                        return Err(err(path, *line, format!("#for binds {expected} new name(s), not `{vars}`")));
                    }
                    self.loops += 1;
                    for (i, item) in items.into_iter().enumerate() {
                        if enumerate {
                            env.insert(names[0].to_string(), Value::Number(i as i64));
                        }
                        env.insert(names[expected - 1].to_string(), item);
                        self.emit(body, env)?;
                    }
                    self.loops -= 1;
                    for v in &names {
                        env.remove(*v);
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The values a `#for` iterates over.
fn iteration(iter: &str, env: &Defines) -> std::result::Result<Vec<Value>, String> {
    if let Some(list) = iter.strip_prefix("enumerate(").and_then(|s| s.strip_suffix(')')) {
        return iteration(list.trim(), env);
    }
    if let Some(list) = iter.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return Ok(list.split(',').map(|w| Value::Word(w.trim().to_string())).collect());
    }
    let (range, rev, step) = if let Some(r) = iter.strip_suffix(".rev()") {
        (r, true, "1")
    } else if let Some((r, s)) = iter.split_once(".step_by(") {
        (r, false, s.strip_suffix(')').ok_or_else(|| format!("`{iter}`: unclosed step_by"))?)
    } else {
        (iter, false, "1")
    };
    let range = range.trim();
    let range = range.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or(range);
    let (a, b) = range.split_once("..").ok_or_else(|| format!("`{iter}` is no range or list"))?;
    let (a, b, step) = (eval(a, env)?, eval(b, env)?, eval(step, env)?);
    if step <= 0 {
        return Err(format!("`{iter}`: step {step}"));
    }
    let mut values: Vec<Value> = (a..b).step_by(step as usize).map(Value::Number).collect();
    if rev {
        values.reverse();
    }
    Ok(values)
}

/// Whether a `#if` condition holds.
fn condition(cond: &str, env: &Defines) -> std::result::Result<bool, String> {
    for conj in cond.split("||") {
        let mut all = true;
        for atom in conj.split("&&") {
            all = all && atom_holds(atom.trim(), env)?;
        }
        if all {
            return Ok(true);
        }
    }
    Ok(false)
}

fn atom_holds(atom: &str, env: &Defines) -> std::result::Result<bool, String> {
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((a, b)) = atom.split_once(op) {
            let (a, b) = (eval(a, env)?, eval(b, env)?);
            return Ok(match op {
                "==" => a == b,
                "!=" => a != b,
                "<=" => a <= b,
                ">=" => a >= b,
                "<" => a < b,
                _ => a > b,
            });
        }
    }
    let (name, negated) = match atom.strip_prefix('!') {
        Some(n) => (n.trim(), true),
        None => (atom, false),
    };
    match env.get(name) {
        Some(Value::Flag(f)) => Ok(*f != negated),
        Some(v) => Err(format!("`{name}` is {v:?}, not a flag")),
        None => Err(format!("unknown flag `{name}`")),
    }
}

/// The value of an expression: terms joined by `+` and `-`, factors by `*` and `/`.
fn eval(expr: &str, env: &Defines) -> std::result::Result<i64, String> {
    let mut tokens = Vec::new();
    let mut rest = expr.trim();
    while !rest.is_empty() {
        let end = if rest.starts_with(['+', '-', '*', '/']) {
            1
        } else {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())
        };
        if end == 0 {
            return Err(format!("`{expr}`: unexpected `{rest}`"));
        }
        tokens.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    let operand = |t: &str| -> std::result::Result<i64, String> {
        if let Ok(v) = t.parse::<i64>() {
            return Ok(v);
        }
        match env.get(t) {
            Some(Value::Number(v)) => Ok(*v),
            Some(v) => Err(format!("`{t}` is {v:?}, not a number")),
            None => Err(format!("unknown name `{t}` in `{expr}`")),
        }
    };
    // Sum of products: `term` accumulates the current product.
    let mut sum = 0i64;
    let mut sign = 1i64;
    let mut term: Option<i64> = None;
    let mut op = "";
    for t in tokens {
        match t {
            "+" | "-" if term.is_some() && op.is_empty() => {
                sum += sign * term.take().expect("a term");
                sign = if t == "+" { 1 } else { -1 };
            }
            "*" | "/" if term.is_some() && op.is_empty() => op = t,
            _ if op.is_empty() && term.is_none() => term = Some(operand(t)?),
            _ if !op.is_empty() => {
                let (a, b) = (term.expect("a term before the operator"), operand(t)?);
                term = Some(if op == "*" { a * b } else { a.checked_div(b).ok_or("division by zero")? });
                op = "";
            }
            _ => return Err(format!("`{expr}` is no expression")),
        }
    }
    match term {
        Some(t) if op.is_empty() => Ok(sum + sign * t),
        _ => Err(format!("`{expr}` is incomplete")),
    }
}

/// `line` with every `{EXPR}` (see the module docs) before its comment replaced by its value.
fn substitute(line: &str, env: &Defines) -> std::result::Result<String, String> {
    let (code, comment) = line.split_at(line.find("//").unwrap_or(line.len()));
    let mut out = String::with_capacity(line.len());
    let mut rest = code;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let inner = after.find('}').map(|close| &after[..close]);
        match inner.filter(|s| is_expression(s)) {
            Some(expr) => {
                match env.get(expr.trim()) {
                    Some(Value::Word(w)) => out.push_str(w),
                    _ => out.push_str(&eval(expr, env)?.to_string()),
                }
                rest = &after[expr.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.push_str(comment);
    Ok(out)
}

fn is_expression(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_ +-*/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &'static str)], defines: &[(&str, Value)]) -> Result<String> {
        let files: Vec<(String, &'static str)> = files.iter().map(|(p, s)| (p.to_string(), *s)).collect();
        let lookup = |p: &str| files.iter().find(|(q, _)| q == p).map(|(_, s)| *s);
        let defines: Defines = defines.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        preprocess("main.wgsl", &lookup, &defines)
    }

    #[test]
    fn imports_each_file_once() {
        let out = run(
            &[
                ("main.wgsl", "#import a.wgsl\n#import b.wgsl\nmain\n"),
                ("a.wgsl", "a\n"),
                ("b.wgsl", "#import a.wgsl\nb\n"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(out, "a\nb\nmain\n");
        assert!(run(&[("main.wgsl", "#import c.wgsl\n")], &[]).is_err());
    }

    #[test]
    fn conditions_choose_one_branch() {
        let src = "#if A && !B\nab\n#elif N == 2 || B\nn2\n#else\nelse\n#endif\nend\n";
        let with = |a, b, n| {
            run(&[("main.wgsl", src)], &[("A", Value::Flag(a)), ("B", Value::Flag(b)), ("N", Value::Number(n))])
        };
        assert_eq!(with(true, false, 2).unwrap(), "ab\nend\n");
        assert_eq!(with(false, false, 2).unwrap(), "n2\nend\n");
        assert_eq!(with(true, true, 1).unwrap(), "n2\nend\n");
        assert_eq!(with(false, false, 1).unwrap(), "else\nend\n");
        // A flag that is not defined, a number used as a flag, an unclosed #if, a stray #endif.
        assert!(run(&[("main.wgsl", "#if C\n#endif\n")], &[]).is_err());
        assert!(run(&[("main.wgsl", "#if N\n#endif\n")], &[("N", Value::Number(1))]).is_err());
        assert!(run(&[("main.wgsl", "#if A\n")], &[("A", Value::Flag(true))]).is_err());
        assert!(run(&[("main.wgsl", "#endif\n")], &[]).is_err());
        assert!(run(&[("main.wgsl", "#if A\n#else\n#elif A\n#endif\n")], &[("A", Value::Flag(true))]).is_err());
    }

    #[test]
    fn loops_repeat_with_their_variables() {
        let pack = [("PACK", Value::Number(3))];
        let out = run(&[("main.wgsl", "#for q in 1..PACK\nx{q} = y{q + 1} * {PACK * 2 - q};\n#endfor\n")], &pack);
        assert_eq!(out.unwrap(), "x1 = y2 * 5;\nx2 = y3 * 4;\n");
        let out = run(&[("main.wgsl", "#for q in (0..PACK - 1).rev()\n{q}\n#endfor\n")], &pack);
        assert_eq!(out.unwrap(), "1\n0\n");
        let out = run(
            &[(
                "main.wgsl",
                "#for b in (0..8).step_by(4)\n#for i, c in enumerate([x, y])\n{b + i}{c}\n#endfor\n#endfor\n",
            )],
            &[],
        );
        assert_eq!(out.unwrap(), "0x\n1y\n4x\n5y\n");
        let out = run(&[("main.wgsl", "#for q in 0..PACK\n#if q == 1\none\n#else\nv{q}\n#endif\n#endfor\n")], &pack);
        assert_eq!(out.unwrap(), "v0\none\nv2\n");
        // Braces that hold no expression are WGSL's own; a misspelt name in one is an error.
        assert_eq!(run(&[("main.wgsl", "if (a) { b(); } {}\n")], &[]).unwrap(), "if (a) { b(); } {}\n");
        assert_eq!(run(&[("main.wgsl", "a; // {q}\n")], &[]).unwrap(), "a; // {q}\n");
        assert!(run(&[("main.wgsl", "#for q in 0..2\nx{p}\n#endfor\n")], &[]).is_err());
        assert!(run(&[("main.wgsl", "#for q in 0..2\n")], &[]).is_err());
        assert!(run(&[("main.wgsl", "#for PACK in 0..2\n#endfor\n")], &pack).is_err());
    }
}
