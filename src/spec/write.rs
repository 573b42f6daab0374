//! The one writer: an [`Experiment`] back to its file form ([`to_toml`]; [`to_json`], the same
//! in JSON; [`study_toml`] for a sweep), which the parser reads back to the same experiment. A
//! run's folder keeps it as `experiment.toml` ([`EXPERIMENT_TOML`]) and `summary.json`'s
//! `experiment`, and either runs again to the same numbers; a saved run's experiment is read
//! back through the parser, so it passes the same checks as a new file
//! ([`experiment_from_summary`]).

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::doc::Overrides;
use super::sweep::Study;
use crate::error::{Error, Result};
use crate::experiment::{
    Adaptive, Basis, Compressor, Correction, Experiment, HistRange, ModelKind, ModelSpec, Noise, Objective,
    RecordBasis, RecordSpec, RunSpec, Schedule, Spectrum, StationarySpec, TimeAxis, fmt_f64,
};

/// The name of the experiment file a run writes beside `summary.json`: [`to_toml`] of its
/// experiment ([`study_toml`] at the top of a sweep's folder).
pub const EXPERIMENT_TOML: &str = "experiment.toml";

/// `exp` written as an experiment file (TOML) that [`Experiment::from_str`] reads back to `exp`,
/// so that `optsde run experiment.toml` repeats the run bit for bit. Floats use Rust's shortest
/// round-trip form, so they come back bit for bit; vectors are written in full; the seed is an
/// integer up to 2⁶³ − 1, TOML's largest, and a decimal string above (`seed =
/// "18446744073709551615"`), which the parser accepts. Every struct is destructured field by
/// field, so a new `Experiment` field is a compile error here rather than a silently dropped
/// key.
pub fn to_toml(exp: &Experiment) -> String {
    let Experiment { name, dim: _, model, objective, noise, x0, run, record, stationary } = exp;
    let ModelSpec { name: kind, eta, adaptive, agents, compressor, curvature, schedule } = model;
    let RunSpec { paths, steps, refine, seed, backend, chunk, divergence_bound } = run;
    let RecordSpec { every: record_every, trajectories, basis, time } = record;
    let StationarySpec { start, every: stat_every, bins, range, cov, pairs } = stationary;
    let mut t = String::new();
    let _ = writeln!(t, "name = {}", quoted(name));
    let _ = writeln!(t, "\n[model]\nname = \"{}\"\neta = {}", kind.name(), num(*eta));
    if let Some(Adaptive { beta1, beta2, eps, weight_decay, correction }) = adaptive {
        if kind.is_adam() {
            let _ = writeln!(t, "beta1 = {}\nbeta2 = {}", num(*beta1), num(*beta2));
        } else {
            let _ = writeln!(t, "beta = {}", num(*beta2));
            if *beta1 != 0.0 {
                // Not a key of this model: the parser rejects it instead of losing it.
                let _ = writeln!(t, "beta1 = {}", num(*beta1));
            }
        }
        let _ = writeln!(t, "eps = {}", num(*eps));
        if !kind.is_malladi() || *weight_decay != 0.0 {
            let _ = writeln!(t, "weight_decay = {}", num(*weight_decay));
        }
        if *kind == ModelKind::AdamSde || *correction != Correction::None {
            let _ = writeln!(t, "correction = \"{}\"", correction.name());
        }
    }
    if *curvature {
        let _ = writeln!(t, "correction = \"curvature\"");
    }
    if kind.is_distributed() || *agents != 1 {
        let _ = writeln!(t, "agents = {agents}");
    }
    if !schedule.is_constant() {
        let _ = writeln!(t, "\n[schedule]\nname = \"{}\"", schedule.name());
        match schedule {
            Schedule::Constant | Schedule::InverseSqrt => {}
            Schedule::Poly { p } => {
                let _ = writeln!(t, "p = {}", num(*p));
            }
            Schedule::Step { milestones, factor } => {
                let _ = writeln!(t, "milestones = {milestones:?}\nfactor = {}", num(*factor));
            }
            Schedule::Cosine { warmup, min_factor } => {
                let _ = writeln!(t, "warmup = {warmup}\nmin_factor = {}", num(*min_factor));
            }
            Schedule::Normalized { beta: v, norm_of, coordinate }
            | Schedule::Clipped { clip: v, norm_of, coordinate } => {
                let key = if matches!(schedule, Schedule::Normalized { .. }) { "beta" } else { "clip" };
                let _ = writeln!(t, "{key} = {}\nnorm_of = \"{}\"\ncoordinate = {coordinate}", num(*v), norm_of.name());
            }
        }
    }
    if kind.is_compressed() || *compressor != Compressor::Identity {
        let _ = writeln!(t, "\n[compressor]\nname = \"{}\"", compressor.name());
        match compressor {
            Compressor::Identity | Compressor::Natural => {}
            Compressor::Bernoulli { p } => {
                let _ = writeln!(t, "p = {}", num(*p));
            }
            Compressor::RandK { k } => {
                let _ = writeln!(t, "k = {k}");
            }
            Compressor::Qsgd { levels } => {
                let _ = writeln!(t, "levels = {levels}");
            }
        }
    }
    match objective {
        Objective::Quadratic { h, center } => {
            let _ = writeln!(t, "\n[objective]\nname = \"quadratic\"\nh = {}\ncenter = {}", nums(h), nums(center));
        }
        Objective::DenseQuadratic { hessian, center, spectrum } => {
            let _ = writeln!(t, "\n[objective]\nname = \"quadratic\"");
            match spectrum {
                None => {
                    let _ = writeln!(t, "hessian = {}", matrix(hessian));
                }
                Some(Spectrum { eigenvalues, basis }) => {
                    let _ = writeln!(t, "eigenvalues = {}", nums(eigenvalues));
                    match basis {
                        Basis::Random { seed } => {
                            let _ = writeln!(t, "basis = \"random\"\nbasis_seed = {seed}");
                        }
                        Basis::Given { q } => {
                            let _ = writeln!(t, "basis = {}", matrix(q));
                        }
                    }
                }
            }
            let _ = writeln!(t, "center = {}", nums(center));
        }
        Objective::LinearRegression { k, target, batch, rotation } => {
            let _ = writeln!(
                t,
                "\n[objective]\nname = \"linear-regression\"\nk = {}\ntarget = {}\nbatch = {batch}",
                nums(k),
                nums(target)
            );
            match rotation.as_ref().map(|r| &r.basis) {
                None => {}
                Some(Basis::Random { seed }) => {
                    let _ = writeln!(t, "basis = \"random\"\nbasis_seed = {seed}");
                }
                Some(Basis::Given { q }) => {
                    let _ = writeln!(t, "basis = {}", matrix(q));
                }
            }
        }
        Objective::Expression { loss, dim, params } => {
            let _ = writeln!(t, "\n[objective]\nname = \"expression\"\nloss = {}\ndim = {dim}", quoted(loss));
            if !params.is_empty() {
                let items: Vec<String> = params
                    .iter()
                    .map(|p| {
                        let v = if p.vector { nums(&p.values) } else { num(p.values[0]) };
                        format!("{} = {v}", p.name)
                    })
                    .collect();
                let _ = writeln!(t, "params = {{ {} }}", items.join(", "));
            }
        }
    }
    match noise {
        Noise::Gaussian { sigma } => {
            let _ = writeln!(t, "\n[noise]\nname = \"gaussian\"\nsigma = {}", nums(sigma));
        }
        Noise::StudentT { nu, scale } => {
            let _ = writeln!(t, "\n[noise]\nname = \"student-t\"\nnu = {}\nscale = {}", nums(nu), nums(scale));
        }
    }
    let _ = writeln!(t, "\n[init]\nx0 = {}", nums(x0));
    let _ =
        writeln!(t, "\n[run]\npaths = {paths}\nsteps = {steps}\nrefine = {refine}\nbackend = \"{}\"", backend.name());
    if *seed <= i64::MAX as u64 {
        let _ = writeln!(t, "seed = {seed}");
    } else {
        let _ = writeln!(t, "seed = \"{seed}\"  # above 2^63 - 1, TOML's largest integer: a string");
    }
    if let Some(c) = chunk {
        let _ = writeln!(t, "chunk = {c}");
    }
    let _ = writeln!(t, "divergence_bound = {}", num(*divergence_bound));
    // Strides beyond i64 behave like any stride beyond run.steps (≤ 2^32 − 1).
    let big = |n: u64| n.min(i64::MAX as u64);
    let _ = writeln!(t, "\n[record]\nevery = {}", big(*record_every));
    // Written when asked for, like `chunk`: a run without trajectories keeps its file as before.
    if *trajectories > 0 {
        let _ = writeln!(t, "trajectories = {trajectories}");
    }
    if *time != TimeAxis::Model {
        let _ = writeln!(t, "time = \"{}\"", time.name());
    }
    if *basis != RecordBasis::Coordinates {
        let _ = writeln!(t, "basis = \"{}\"", basis.name());
    }
    let _ = writeln!(t, "\n[stationary]\nstart = {start}\nevery = {}\nbins = {bins}", big(*stat_every));
    match range {
        HistRange::Auto => t.push_str("range = \"auto\"\n"),
        HistRange::Fixed { lo, hi } => {
            let _ = writeln!(t, "range = [{}, {}]", num(*lo), num(*hi));
        }
    }
    let _ = writeln!(t, "cov = {cov}");
    if !pairs.is_empty() {
        let list: Vec<String> = pairs.iter().map(|[i, j]| format!("[{i}, {j}]")).collect();
        let _ = writeln!(t, "pairs = [{}]", list.join(", "));
    }
    t
}

/// [`to_toml`] as JSON: the same keys and values, an experiment file when saved as `.json`
/// (`summary.json`'s `experiment`).
pub fn to_json(exp: &Experiment) -> serde_json::Value {
    // Every value of a validated experiment is finite, so the TOML always converts; floats keep
    // their bits (serde_json's float_roundtrip).
    toml::from_str(&to_toml(exp)).unwrap_or(serde_json::Value::Null)
}

/// A study written as the file that runs it again: [`to_toml`] of its first point and, for a
/// sweep, a `[sweep]` table listing every axis's values in full (a `log`/`linear` range as the
/// values it gave, written exactly), so the grid comes back bit for bit.
pub fn study_toml(study: &Study) -> String {
    let mut t = to_toml(&study.points[0].exp);
    if !study.axes.is_empty() {
        t.push_str("\n[sweep]\n");
        for a in &study.axes {
            let _ = writeln!(t, "{} = {}", a.key, nums(&a.values));
        }
    }
    t
}

/// Validate `exp` again through the writer and the parser; `origin` names it in messages.
pub fn revalidate(exp: &Experiment, origin: &str) -> Result<Experiment> {
    Experiment::from_str(&to_toml(exp), "toml", origin, &exp.name, &Overrides::default())
}

/// The `experiment` of a `summary.json` (at `path`, for messages), validated again as an
/// experiment file, so a saved run obeys the same checks as a new one. It is the file form
/// ([`to_json`]); the serde form of [`Experiment`] that earlier versions wrote (with `dim` at
/// the top) is read too, through [`revalidate`].
pub fn experiment_from_summary(summary: &serde_json::Value, path: &Path) -> Result<Experiment> {
    let origin = format!("{} (its `experiment`)", path.display());
    let syntax = |message: String| Error::Syntax { path: origin.clone(), message };
    let e = summary.get("experiment").filter(|e| e.is_object());
    let e = e.ok_or_else(|| syntax("has no `experiment` object".into()))?;
    if e.get("dim").is_some() {
        let exp = Experiment::deserialize(e).map_err(|err| syntax(err.to_string()))?;
        return revalidate(&exp, &origin);
    }
    let name = e.get("name").and_then(|n| n.as_str()).unwrap_or("experiment");
    Experiment::from_str(&e.to_string(), "json", &origin, name, &Overrides::default())
}

fn num(x: f64) -> String {
    fmt_f64(x)
}

fn nums(xs: &[f64]) -> String {
    format!("[{}]", xs.iter().map(|&x| num(x)).collect::<Vec<_>>().join(", "))
}

/// A matrix as an array of rows, one row per line.
fn matrix(rows: &[Vec<f64>]) -> String {
    let rows: Vec<String> = rows.iter().map(|r| format!("  {}", nums(r))).collect();
    format!("[\n{},\n]", rows.join(",\n"))
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{EXAMPLES, example};

    /// Every built-in example, and every model each can be derived to, comes back unchanged
    /// through [`to_toml`] and the parser, and through summary.json's serde form.
    #[test]
    fn writer_round_trips() {
        for (name, _, _) in EXAMPLES {
            let e = example(name, &Overrides::default()).unwrap();
            assert_eq!(revalidate(&e, "test").unwrap(), e, "example {name}:\n{}", to_toml(&e));
            let summary = serde_json::json!({ "experiment": serde_json::to_value(&e).unwrap() });
            assert_eq!(experiment_from_summary(&summary, Path::new("summary.json")).unwrap(), e, "example {name}");
            let summary = serde_json::json!({ "experiment": to_json(&e) });
            assert_eq!(experiment_from_summary(&summary, Path::new("summary.json")).unwrap(), e, "example {name}");
            let mut derived = 0;
            for k in ModelKind::ALL {
                let Ok(m) = e.with_model(k, 4) else { continue };
                derived += 1;
                assert_eq!(revalidate(&m, "test").unwrap(), m, "example {name} as {}:\n{}", k.name(), to_toml(&m));
            }
            // Sampled data runs the SGD SDEs only: Adam on a regression has no SDE to derive.
            let least = if e.objective.samples_data() && e.model.adaptive.is_some() { 1 } else { 2 };
            assert!(derived >= least, "example {name}: its optimizer and SDE at least");
        }
        let mut e = example("sgd", &Overrides::default()).unwrap();
        e.run.seed = u64::MAX;
        e.name = "a \"quoted\"\\ name\t".into();
        e.stationary.range = HistRange::Fixed { lo: -0.5, hi: 1e-8 };
        e.x0 = vec![0.1, -0.30000000000000004, 1.2345678901234567e-300, -0.0];
        assert_eq!(revalidate(&e, "test").unwrap(), e, "{}", to_toml(&e));
        let summary = serde_json::json!({ "experiment": to_json(&e) });
        assert_eq!(experiment_from_summary(&summary, Path::new("summary.json")).unwrap(), e);
        e.run.seed = i64::MAX as u64;
        assert_eq!(revalidate(&e, "test").unwrap(), e, "{}", to_toml(&e));
        e.record.trajectories = 64;
        assert!(to_toml(&e).contains("\n[record]\nevery = "), "{}", to_toml(&e));
        assert!(to_toml(&e).contains("\ntrajectories = 64\n"), "{}", to_toml(&e));
        assert_eq!(revalidate(&e, "test").unwrap(), e, "{}", to_toml(&e));
        let summary = serde_json::json!({ "experiment": to_json(&e) });
        assert_eq!(experiment_from_summary(&summary, Path::new("summary.json")).unwrap(), e);
        // The serde form of an experiment from before `trajectories` existed reads as none.
        let mut old = serde_json::to_value(&e).unwrap();
        old["record"].as_object_mut().unwrap().remove("trajectories");
        let summary = serde_json::json!({ "experiment": old });
        let back = experiment_from_summary(&summary, Path::new("summary.json")).unwrap();
        assert_eq!(back.record.trajectories, 0);
    }

    #[test]
    fn a_summary_without_an_experiment_is_refused() {
        let e = experiment_from_summary(&serde_json::json!({}), Path::new("s.json")).unwrap_err();
        assert!(e.to_string().contains("s.json (its `experiment`)"), "{e}");
    }
}
