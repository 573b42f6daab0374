//! The source tree keeps the shape README's "How it works" describes: no import cycle among the
//! modules of `src/`, and no source file (Rust or WGSL) over [`MAX_LINES`] lines unless its
//! opening comment says why (the words "over 600 lines").
//!
//! A module's imports are its `crate::` and `super::` paths (in `use` trees and in code), each
//! resolved to the longest module prefix that is a file; a parent's use of the children it
//! declares with `mod` is structure, not an import, and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file without a stated reason.
const MAX_LINES: usize = 600;

/// The phrase a longer file's opening comment carries, followed by its reason.
const LONG_FILE_PHRASE: &str = "over 600 lines";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
}

/// The module path of a file under `src/` (`src/cpu/mod.rs` -> `cpu`, `src/lib.rs` -> ``).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// `text` without comments, string and character literals (replaced by spaces), so that only
/// code is searched for paths.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(b.len(), |n| i + n + 2);
            i = end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|&c| c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = i + 2 + hashes;
            i = text[body..].find(&close).map_or(b.len(), |n| body + n + close.len());
            out.push(' ');
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A character literal ('x' or '\n'); lifetimes ('a) are left alone.
            let end = text[i + 1..].find('\'').map_or(b.len(), |n| i + 1 + n + 1);
            i = end;
            out.push(' ');
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The paths of a `use` tree or path expression starting at `s` (after `crate::` or `super::`):
/// `a::b::c` gives `[a, b, c]`; `{a::b, c}` gives `[a, b]` and `[c]`.
fn tree_paths(s: &str) -> Vec<Vec<String>> {
    fn ident(s: &str) -> (&str, &str) {
        let n = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
        (&s[..n], &s[n..])
    }
    fn tree<'a>(s: &'a str, prefix: &[String], out: &mut Vec<Vec<String>>) -> &'a str {
        let s = s.trim_start();
        if let Some(mut rest) = s.strip_prefix('{') {
            loop {
                rest = tree(rest, prefix, out).trim_start();
                if let Some(r) = rest.strip_prefix(',') {
                    rest = r;
                    if let Some(r) = rest.trim_start().strip_prefix('}') {
                        return r;
                    }
                } else {
                    return rest.strip_prefix('}').unwrap_or(rest);
                }
            }
        }
        let (name, rest) = ident(s);
        let mut path = prefix.to_vec();
        if !name.is_empty() {
            path.push(name.to_string());
        }
        match rest.strip_prefix("::") {
            Some(r) => tree(r, &path, out),
            None => {
                out.push(path);
                rest
            }
        }
    }
    let mut out = Vec::new();
    tree(s, &[], &mut out);
    out
}

/// Module -> the modules it imports.
fn import_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = root().join("src");
    let mut files = Vec::new();
    files_under(&src, "rs", &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let resolve = |path: &[String]| (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p));
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let mut deps = BTreeSet::new();
        for (keyword, base) in [("crate::", Vec::new()), ("super::", module[..module.len().saturating_sub(1)].to_vec())]
        {
            let mut from = 0;
            while let Some(n) = code[from..].find(keyword) {
                let at = from + n;
                from = at + keyword.len();
                let boundary = code[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                if !boundary {
                    continue;
                }
                for path in tree_paths(&code[from..]) {
                    let full: Vec<String> = base.iter().cloned().chain(path).collect();
                    if let Some(m) = resolve(&full).or_else(|| modules.contains(&base).then(|| base.clone()))
                        && m != module
                    {
                        deps.insert(m);
                    }
                }
            }
        }
        graph.insert(module, deps);
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'g> {
        graph: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, usize>,
        low: BTreeMap<&'g Vec<String>, usize>,
        stack: Vec<&'g Vec<String>>,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn name(m: &[String]) -> String {
    if m.is_empty() { "crate".into() } else { m.join("::") }
}

#[test]
fn no_import_cycles_among_modules() {
    let graph = import_graph();
    assert!(graph.len() > 20, "the scan found only {} modules", graph.len());
    for top in [false, true] {
        // Per file, and per top-level module (a directory counts as one).
        let g: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = if top {
            let mut t: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
            for (m, deps) in &graph {
                let a = m[..m.len().min(1)].to_vec();
                let entry = t.entry(a.clone()).or_default();
                entry.extend(deps.iter().map(|d| d[..d.len().min(1)].to_vec()).filter(|d| *d != a));
            }
            t
        } else {
            graph.clone()
        };
        let found = cycles(&g);
        let report: Vec<String> = found
            .iter()
            .map(|c| {
                let edges: Vec<String> = c
                    .iter()
                    .flat_map(|a| {
                        g[a].iter().filter(|b| c.contains(b)).map(move |b| format!("{} -> {}", name(a), name(b)))
                    })
                    .collect();
                edges.join(", ")
            })
            .collect();
        let level = if top { "top-level modules" } else { "files" };
        assert!(found.is_empty(), "import cycles among {level}:\n{}", report.join("\n"));
    }
}

/// The import scan itself: it sees `use` trees, nested groups and paths in code, and not
/// comments or strings (a scan that found nothing would pass the cycle test vacuously).
#[test]
fn the_import_scan_reads_use_trees_and_skips_comments() {
    assert_eq!(
        tree_paths("{a::{b, c::D}, e};"),
        vec![vec!["a", "b"], vec!["a", "c", "D"], vec!["e"]]
            .into_iter()
            .map(|p| p.into_iter().map(String::from).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    let code = code_only("use crate::x; // crate::y\nlet s = \"crate::z\"; /* crate::w */ crate::v::f('a');");
    assert!(code.contains("crate::x") && code.contains("crate::v::f"), "{code}");
    assert!(!code.contains("crate::y") && !code.contains("crate::z") && !code.contains("crate::w"), "{code}");
    let graph = import_graph();
    let plan = graph.get(&vec!["plan".to_string()]).expect("src/plan.rs is scanned");
    assert!(plan.contains(&vec!["kernel".to_string()]), "plan imports kernel: {plan:?}");
}

#[test]
fn long_source_files_say_why() {
    let mut files = Vec::new();
    files_under(&root().join("src"), "rs", &mut files);
    files_under(&root().join("shaders"), "wgsl", &mut files);
    let mut long = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines = text.lines().count();
        let opening: String =
            text.lines().take_while(|l| l.trim_start().starts_with("//")).collect::<Vec<_>>().join(" ");
        if lines > MAX_LINES && !opening.contains(LONG_FILE_PHRASE) {
            long.push(format!("{}: {lines} lines", f.strip_prefix(root()).unwrap().display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines whose opening comment does not say why (\"{LONG_FILE_PHRASE} because ...\"):\n{}",
        long.join("\n")
    );
}
