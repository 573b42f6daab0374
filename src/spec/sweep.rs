//! Sweeps: a `[sweep]` table turns a file into a [`Study`] of several experiments, the grid of
//! its axes, every point validated as a file of its own and all sharing one kernel.

use std::path::Path;

use serde::Serialize;

use super::doc::{Entries, Overrides, SpecFile, Val, parse, set_key};
use super::table::{Table, bad};
use super::validate::validate;
use crate::error::{Error, Result};
use crate::experiment::{BATCH, Experiment, fmt_f64, round_to_15_digits};
use crate::kernel::KernelConsts;

/// The sweepable parameters: (key, table). A key may also be written dotted (`model.eta`).
/// Each changes only coefficients, never the kernel or the path layout, so all points of a sweep
/// run in the same launches.
pub const SWEEP_KEYS: &[(&str, &str)] = &[
    ("eta", "model"),
    ("beta", "model"),
    ("beta1", "model"),
    ("beta2", "model"),
    ("eps", "model"),
    ("weight_decay", "model"),
    ("sigma", "noise"),
    ("nu", "noise"),
    ("scale", "noise"),
    ("p", "compressor"),
    ("k", "compressor"),
    ("levels", "compressor"),
    // Written dotted (`schedule.p`): a bare `p` is the compressor's, a bare `beta` the model's.
    ("p", "schedule"),
    ("beta", "schedule"),
    ("clip", "schedule"),
    ("h", "objective"),
    ("center", "objective"),
    ("x0", "init"),
];
/// Largest number of points in one sweep.
pub const MAX_SWEEP_POINTS: usize = 4096;

/// One axis of a sweep: the parameter (as `table.key`) and its values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<f64>,
}

/// One grid point: the axis values (in axis order) and the validated experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub values: Vec<f64>,
    pub exp: Experiment,
}

/// A study: one experiment, or the grid of a `[sweep]` (first axis slowest).
#[derive(Clone, Debug, PartialEq)]
pub struct Study {
    pub axes: Vec<Axis>,
    pub points: Vec<Point>,
}

impl Study {
    /// Read a file (as [`Experiment::load`]); a `[sweep]` table makes it a grid.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Study> {
        let f = SpecFile::read(path)?;
        Self::from_str(&f.text, f.format, &f.origin, &f.name, overrides)
    }

    /// A study of one experiment.
    pub fn single(exp: Experiment) -> Study {
        Study { axes: Vec::new(), points: vec![Point { values: Vec::new(), exp }] }
    }

    /// Parse and validate every grid point (each as a full experiment, so every point gets the
    /// ordinary checks), then check that the points can share launches.
    pub fn from_str(text: &str, format_hint: &str, origin: &str, name: &str, overrides: &Overrides) -> Result<Study> {
        Self::from_str_inner(text, format_hint, origin, name, overrides).map_err(|e| overrides.explain(e))
    }

    fn from_str_inner(text: &str, format_hint: &str, origin: &str, name: &str, overrides: &Overrides) -> Result<Study> {
        let mut doc = parse(text, format_hint, origin)?;
        overrides.apply(&mut doc);
        let Some(pos) = doc.iter().position(|(k, _)| k == "sweep") else {
            return Ok(Study::single(validate(&doc, origin, name)?));
        };
        let (_, sweep) = doc.remove(pos);
        let axes = sweep_axes(&sweep, origin, &formula_scalars(&doc))?;
        let n: usize = axes.iter().map(|a| a.values.len()).product();
        if n > MAX_SWEEP_POINTS {
            return Err(bad("sweep", &sweep, format!("has {n} grid points; at most {MAX_SWEEP_POINTS}")));
        }
        let mut points = Vec::with_capacity(n);
        for idx in 0..n {
            let mut rem = idx;
            let mut values = vec![0.0; axes.len()];
            for (j, a) in axes.iter().enumerate().rev() {
                values[j] = a.values[rem % a.values.len()];
                rem /= a.values.len();
            }
            let mut point = doc.clone();
            for (a, &v) in axes.iter().zip(&values) {
                match a.key.strip_prefix(PARAMS_PREFIX) {
                    Some(param) => set_param(&mut point, param, number(v)),
                    None => {
                        let (table, key) = a.key.split_once('.').expect("axis keys are table.key");
                        set_key(&mut point, table, key, number(v));
                    }
                }
            }
            let label =
                axes.iter().zip(&values).map(|(a, v)| format!("{} = {}", a.key, fmt_f64(*v))).collect::<Vec<_>>();
            let exp = validate(&point, origin, name)
                .map_err(|e| Error::SweepPoint { point: label.join(", "), source: Box::new(e) })?;
            points.push(Point { values, exp });
        }
        let first = &points[0].exp;
        let k0 = KernelConsts::new(first, first.stationary.bins);
        for p in &points[1..] {
            let k = KernelConsts::new(&p.exp, p.exp.stationary.bins);
            if k != k0 || p.exp.dim != first.dim {
                let label = axes.iter().zip(&p.values).map(|(a, v)| format!("{} = {}", a.key, fmt_value(*v)));
                return Err(bad(
                    "sweep",
                    &sweep,
                    format!(
                        "needs a different kernel at {} than at the first point (e.g. rand-k with k = d is the \
                         identity compressor); sweep points must share the kernel: split the sweep",
                        label.collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if n > 1 {
            let paths = first.run.paths;
            if paths % BATCH != 0 {
                return Err(Error::invalid(
                    "run.paths",
                    paths,
                    format!("must be a multiple of {BATCH} in a sweep (each point owns whole workgroups)"),
                ));
            }
            if paths.saturating_mul(n as u64) > u64::from(u32::MAX) {
                return Err(Error::invalid(
                    "run.paths",
                    paths,
                    format!("times the {n} sweep points must stay below 2^32 paths; split the sweep"),
                ));
            }
        }
        Ok(Study { axes, points })
    }
}

/// The axis key of a formula's scalar parameter (`[sweep] a = [...]` or
/// `objective.params.a = [...]`): one kernel serves every value, since parameters live in the
/// objective buffer.
const PARAMS_PREFIX: &str = "objective.params.";

/// The scalar parameters of a formula objective (`name = "expression"`), as the document
/// writes them.
fn formula_scalars(doc: &Entries) -> Vec<String> {
    let Some((_, Val::Table(obj))) = doc.iter().find(|(k, _)| k == "objective") else { return Vec::new() };
    let is_expression = obj.iter().any(|(k, v)| k == "name" && matches!(v, Val::Str(s) if s == "expression"));
    match obj.iter().find(|(k, _)| k == "params") {
        Some((_, Val::Table(params))) if is_expression => {
            params.iter().filter(|(_, v)| !matches!(v, Val::Array(_))).map(|(k, _)| k.clone()).collect()
        }
        _ => Vec::new(),
    }
}

/// Sets `objective.params.name = val` in the document.
fn set_param(doc: &mut Entries, name: &str, val: Val) {
    let Some((_, Val::Table(obj))) = doc.iter_mut().find(|(k, _)| k == "objective") else { return };
    let Some((_, Val::Table(params))) = obj.iter_mut().find(|(k, _)| k == "params") else { return };
    match params.iter_mut().find(|(k, _)| k == name) {
        Some(entry) => entry.1 = val,
        None => params.push((name.to_string(), val)),
    }
}

/// The axes of a `[sweep]` table: `key = [v, ...]` or `key = { log = [lo, hi], points = n }`
/// (geometric) or `key = { linear = [lo, hi], points = n }`; `params` are the formula's scalar
/// parameters, which are sweep keys too.
fn sweep_axes(sweep: &Val, origin: &str, params: &[String]) -> Result<Vec<Axis>> {
    let Val::Table(entries) = sweep else {
        return Err(bad("sweep", sweep, "must be a table of parameter = [values] or { log = [lo, hi], points = n }"));
    };
    if entries.is_empty() {
        return Err(bad("sweep", sweep, "must name at least one parameter"));
    }
    let mut valid = SWEEP_KEYS.iter().map(|(k, t)| format!("{k} ({t}.{k})")).collect::<Vec<_>>();
    valid.extend(params.iter().map(|p| format!("{p} ({PARAMS_PREFIX}{p})")));
    let valid = valid.join(", ");
    // TOML writes `model.eta = [...]` as a nested table (and `objective.params.a` as two):
    // flatten those to dotted keys.
    let mut flat: Vec<(String, &Val)> = Vec::new();
    for (key, v) in entries {
        match v {
            Val::Table(inner) if SWEEP_KEYS.iter().any(|(_, t)| t == key) => {
                for (k, x) in inner {
                    match x {
                        Val::Table(deeper) if key == "objective" && k == "params" => {
                            flat.extend(deeper.iter().map(|(p, y)| (format!("{PARAMS_PREFIX}{p}"), y)));
                        }
                        _ => flat.push((format!("{key}.{k}"), x)),
                    }
                }
            }
            _ => flat.push((key.clone(), v)),
        }
    }
    let mut axes: Vec<Axis> = Vec::new();
    for (key, v) in flat {
        let key = &key;
        let param = key.strip_prefix(PARAMS_PREFIX).or_else(|| {
            let bare = !key.contains('.') && !SWEEP_KEYS.iter().any(|(k, _)| k == key);
            bare.then_some(key.as_str())
        });
        if let Some(p) = param.filter(|p| params.iter().any(|q| q == p)) {
            let full = format!("{PARAMS_PREFIX}{p}");
            if axes.iter().any(|a| a.key == full) {
                return Err(bad(&format!("sweep.{key}"), v, format!("repeats the parameter {full}")));
            }
            axes.push(Axis { key: full, values: axis_values(&format!("sweep.{key}"), v, origin)? });
            continue;
        }
        let (table, field) = match key.split_once('.') {
            Some((t, k)) => (t, k),
            None => match SWEEP_KEYS.iter().find(|(k, _)| k == key) {
                Some((k, t)) => (*t, *k),
                None => ("", key.as_str()),
            },
        };
        if !SWEEP_KEYS.iter().any(|(k, t)| *k == field && *t == table) {
            return Err(Error::UnknownKey { path: origin.to_string(), key: format!("sweep.{key}"), valid });
        }
        let full = format!("{table}.{field}");
        if axes.iter().any(|a| a.key == full) {
            return Err(bad(&format!("sweep.{key}"), v, format!("repeats the parameter {full}")));
        }
        axes.push(Axis { key: full.clone(), values: axis_values(&format!("sweep.{key}"), v, origin)? });
    }
    Ok(axes)
}

/// The values of one axis `field_name = v`: a list of numbers, or a log or linear grid.
fn axis_values(field_name: &str, v: &Val, origin: &str) -> Result<Vec<f64>> {
    let values = match v {
        Val::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, x)| match x.as_f64() {
                Some(f) if f.is_finite() => Ok(f),
                _ => Err(bad(&format!("{field_name}[{i}]"), x, "must be a finite number")),
            })
            .collect::<Result<Vec<f64>>>()?,
        Val::Table(t) => {
            let spec = Table { origin, prefix: "sweep", entries: t };
            let kind = if t.iter().any(|(k, _)| k == "log") { "log" } else { "linear" };
            spec.check_keys(&[kind, "points"]).map_err(|_| {
                bad(field_name, v, "must be { log = [lo, hi], points = n } or { linear = [lo, hi], points = n }")
            })?;
            let range = match t.iter().find(|(k, _)| k == kind).map(|(_, r)| r) {
                Some(Val::Array(r)) if r.len() == 2 => (r[0].as_f64(), r[1].as_f64()),
                _ => (None, None),
            };
            let (Some(lo), Some(hi)) = range else {
                return Err(bad(field_name, v, format!("needs {kind} = [lo, hi], two finite numbers")));
            };
            if !(lo.is_finite() && hi.is_finite()) || (kind == "log" && (lo <= 0.0 || hi <= 0.0)) {
                return Err(bad(
                    field_name,
                    v,
                    format!(
                        "needs {kind} = [lo, hi] with finite bounds{}",
                        if kind == "log" { " > 0 (a log range must be positive)" } else { "" }
                    ),
                ));
            }
            let points = match t.iter().find(|(k, _)| k == "points").map(|(_, p)| p) {
                Some(p) => match p.as_int() {
                    Some(n) if (2..=MAX_SWEEP_POINTS as i128).contains(&n) => n as usize,
                    _ => {
                        return Err(bad(
                            &format!("{field_name}.points"),
                            p,
                            format!("must be an integer >= 2 and <= {MAX_SWEEP_POINTS}"),
                        ));
                    }
                },
                None => return Err(bad(field_name, v, "needs points = n (an integer >= 2)")),
            };
            grid(kind == "log", lo, hi, points)
        }
        _ => {
            return Err(bad(
                field_name,
                v,
                "must be a non-empty list of numbers, or { log = [lo, hi], points = n }, or { linear = [lo, hi], points = n }",
            ));
        }
    };
    Ok(values)
}

/// `points` values from `lo` to `hi`, evenly spaced in log10 (`log`) or linearly: the ends
/// exactly as written, the inner values rounded to 15 significant digits, so that a decade
/// split in two gives 0.1, not 1.0000000000000002e-1 (every point's experiment, files and
/// labels carry the value).
fn grid(log: bool, lo: f64, hi: f64, points: usize) -> Vec<f64> {
    (0..points)
        .map(|j| {
            if j == 0 {
                return lo;
            } else if j == points - 1 {
                return hi;
            }
            let u = j as f64 / (points - 1) as f64;
            let v = if log { 10f64.powf(lo.log10() + u * (hi.log10() - lo.log10())) } else { lo + u * (hi - lo) };
            round_to_15_digits(v)
        })
        .collect()
}

/// A swept value as the file would write it (integers without a fraction).
fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { fmt_f64(v) }
}

/// A swept value in the document: integer-valued keys (k, levels) need an integer, and every
/// number field accepts one.
fn number(v: f64) -> Val {
    if v.fract() == 0.0 && v.abs() < 1e15 { Val::Int(v as i128) } else { Val::Float(v) }
}
