//! The document -> a validated [`Experiment`], one function per section in the file's order,
//! then [`Experiment::new`] for what ties the sections together.
//!
//! Each section reads its keys with the [`Domain`]s of `crate::experiment` and then builds its
//! part through that part's constructor. The reader checks a value first, with the same domain,
//! only so that a message shows the value as the file wrote it (`eta = 0`, not `0.0`), names a
//! broadcast number without an index (`noise.sigma`, not `noise.sigma[0]`), and reports the
//! first of several errors in the order of the file; the constructors then find nothing more.

use super::doc::{Entries, Val};
use super::schedule::schedule;
use super::table::{Coords, Table, bad, names};
use crate::error::{Error, Result};
use crate::experiment::{
    ANY_REAL, Adaptive, BETA, BackendChoice, Basis, CURVATURE, Compressor, Correction, EPS, ETA, Experiment,
    FormulaParam, HistRange, KEEP_PROBABILITY, LEVELS, MATRIX_ENTRY, MAX_COV_DIM, MAX_DIM, ModelKind, ModelSpec, NU,
    Noise, Objective, RANGE_EXPECTED, RecordBasis, RecordSpec, RunSpec, StationarySpec, TimeAxis, WEIGHT_DECAY,
    agents_domain, bins_domain, chunk_domain, curvature_models, default_divergence_bound, dim_domain,
    divergence_domain, every_domain, kept_domain, no_compressor, noise_scale_domain, nu_domains, paths_domain,
    refine_domain, refine_only_for_sdes, seed_domain, start_domain, steps_domain, trajectories_domain,
};

const TOP_KEYS: &[&str] =
    &["name", "model", "schedule", "objective", "noise", "compressor", "init", "run", "record", "stationary", "sweep"];
const MODEL_KEYS: &[&str] = &["name", "eta", "beta", "beta1", "beta2", "eps", "weight_decay", "correction", "agents"];
// Every key of `[objective]`, a row per objective (quadratic, expression, linear-regression);
// each objective's reader then checks its own.
#[rustfmt::skip]
const OBJECTIVE_KEYS: &[&str] = &[
    "name", "h", "hessian", "eigenvalues", "basis", "basis_seed", "center", "dim",
    "loss", "params",
    "k", "spectrum", "target", "batch",
];
/// The keys that give a quadratic's Hessian, one form each.
const HESSIAN_FORMS: [&str; 3] = ["h", "hessian", "eigenvalues"];
const NOISE_KEYS: &[&str] = &["name", "sigma", "nu", "scale"];
const COMPRESSOR_KEYS: &[&str] = &["name", "p", "k", "levels"];
const INIT_KEYS: &[&str] = &["x0"];
const RUN_KEYS: &[&str] = &["paths", "steps", "refine", "seed", "backend", "chunk", "divergence_bound"];
const RECORD_KEYS: &[&str] = &["every", "trajectories", "basis", "time"];
const STATIONARY_KEYS: &[&str] = &["start", "every", "bins", "range", "cov", "pairs"];

const OBJECTIVE_NAMES: &[&str] = &["quadratic", "expression", "linear-regression"];
const NOISE_NAMES: &[&str] = &["gaussian", "student-t"];

/// Validate a document (its top-level entries); `origin` names it in messages, `default_name`
/// is the run name unless the document sets one.
pub(super) fn validate(doc: &Entries, origin: &str, default_name: &str) -> Result<Experiment> {
    let top = Table { origin, prefix: "", entries: doc };
    top.check_keys(TOP_KEYS)?;
    if let Some(v) = top.get("sweep") {
        return Err(bad(
            "sweep",
            v,
            "makes this file a study of several experiments: load it with Study (`optsde run` does), \
             not as one Experiment",
        ));
    }
    let name = name(&top, default_name)?;
    let model = model(&top)?;
    let objective = objective(&top)?;
    let noise = noise(&top, model.kind)?;
    let x0 = init(&top)?;
    let mut vectors = objective.vectors();
    vectors.extend([&noise.scale, &x0]);
    vectors.extend(&noise.nu);
    let dim = dimension(objective.dim.clone(), &vectors)?;
    let (objective, noise, x0) = (objective.expand(dim)?, noise.expand(dim)?, x0.expand(dim));
    let compressor = compressor(&top, model.kind, dim)?;
    let curvature = model.curvature;
    let model = ModelSpec::new(model.kind, model.eta, model.adaptive, model.agents, compressor)?;
    let model = if curvature { model.with_curvature()? } else { model }.with_schedule(schedule(&top)?);
    let run = run(&top, model.name, &objective, &x0)?;
    let record = record(&top, &run)?;
    let stationary = stationary(&top, run.steps, &objective, dim, record.basis)?;
    Experiment::new(name, model, objective, noise, x0, run, record, stationary)
}

/// The top-level `name`.
fn name(top: &Table<'_>, default_name: &str) -> Result<String> {
    match top.get("name") {
        None => Ok(default_name.to_string()),
        Some(Val::Str(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(v) => Err(bad("name", v, "must be a non-empty string")),
    }
}

/// `[model]` less its compressor, which needs the dimension.
struct ModelSection {
    kind: ModelKind,
    eta: f64,
    adaptive: Option<Adaptive>,
    agents: u32,
    /// `correction = "curvature"` (the SGD-type SDEs).
    curvature: bool,
}

fn model(top: &Table<'_>) -> Result<ModelSection> {
    let t = top.require_sub("model", MODEL_KEYS)?;
    let kind_name = t.name_of(&ModelKind::ALL.map(ModelKind::name))?;
    let kind = ModelKind::ALL.into_iter().find(|m| m.name() == kind_name).expect("name_of checked it");
    let curvature = curvature(&t, kind)?;
    t.check_keys(model_keys(kind))?;
    t.require("eta", "a finite number > 0")?;
    let eta = t.real("eta", &ETA)?.expect("required");
    let adaptive = adaptive(&t, kind)?;
    let agents = t.int("agents", &agents_domain())?.map_or(1, |n| n as u32);
    Ok(ModelSection { kind, eta, adaptive, agents, curvature })
}

/// `correction` of the SGD-type SDEs: `"curvature"` or `"none"` (the default). On a model that
/// has no correction at all, the message says which models have one.
fn curvature(t: &Table<'_>, kind: ModelKind) -> Result<bool> {
    let Some(v) = t.get("correction").filter(|_| kind != ModelKind::AdamSde) else { return Ok(false) };
    if !ModelSpec::CURVATURE_MODELS.contains(&kind) {
        return Err(bad(&t.field("correction"), v, curvature_models(kind)));
    }
    match v {
        Val::Str(s) if s == "curvature" => Ok(true),
        Val::Str(s) if s == "none" => Ok(false),
        v => Err(bad(&t.field("correction"), v, "must be one of \"curvature\", \"none\"")),
    }
}

/// The `[model]` keys of one model.
fn model_keys(kind: ModelKind) -> &'static [&'static str] {
    match kind {
        ModelKind::Rmsprop | ModelKind::RmspropSde => &["name", "eta", "beta", "eps", "weight_decay"],
        ModelKind::RmspropMalladiSde => &["name", "eta", "beta", "eps"],
        ModelKind::Adam => &["name", "eta", "beta1", "beta2", "eps", "weight_decay"],
        ModelKind::AdamSde => &["name", "eta", "beta1", "beta2", "eps", "weight_decay", "correction"],
        ModelKind::AdamMalladiSde => &["name", "eta", "beta1", "beta2", "eps"],
        ModelKind::SgdSde => &["name", "eta", "correction"],
        ModelKind::DsgdSde | ModelKind::DcsgdSde => &["name", "eta", "agents", "correction"],
        k if k.is_distributed() => &["name", "eta", "agents"],
        _ => &["name", "eta"],
    }
}

/// RMSprop/Adam parameters with PyTorch's defaults (beta 0.99; beta1 0.9, beta2 0.999;
/// eps 1e-8; weight_decay 0). The P7 SDEs have no weight decay and no drift correction.
fn adaptive(t: &Table<'_>, kind: ModelKind) -> Result<Option<Adaptive>> {
    if !kind.is_rmsprop() && !kind.is_adam() {
        return Ok(None);
    }
    let (beta1, beta2) = if kind.is_adam() {
        (t.real("beta1", &BETA)?.unwrap_or(0.9), t.real("beta2", &BETA)?.unwrap_or(0.999))
    } else {
        (0.0, t.real("beta", &BETA)?.unwrap_or(0.99))
    };
    let eps = t.real("eps", &EPS)?.unwrap_or(1e-8);
    let weight_decay = t.real("weight_decay", &WEIGHT_DECAY)?.unwrap_or(0.0);
    let correction = match t.get("correction") {
        None => Correction::Consistent,
        Some(Val::Str(s)) => Correction::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| Error::UnknownName {
            field: t.field("correction"),
            value: s.clone(),
            valid: names(Correction::ALL.map(Correction::name)),
        })?,
        Some(v) => {
            return Err(bad(&t.field("correction"), v, "must be one of \"consistent\", \"drift-only\", \"none\""));
        }
    };
    let a = if kind.is_adam() {
        Adaptive::adam(beta1, beta2, eps, weight_decay)?
    } else {
        Adaptive::rmsprop(beta2, eps, weight_decay)?
    };
    Ok(Some(if kind == ModelKind::AdamSde { a.with_correction(correction) } else { a }))
}

/// `[objective]` as written: the vectors before the dimension is known.
struct ObjectiveSection {
    /// `objective.dim`, or the dimension a matrix fixes, with what fixed it (for messages).
    dim: Option<(usize, String)>,
    hessian: HessianSection,
    center: Coords,
}

/// How the quadratic's Hessian was written.
enum HessianSection {
    /// `h`: the diagonal.
    Diagonal(Coords),
    /// `hessian`: every entry.
    Dense(Vec<Vec<f64>>),
    /// `eigenvalues` and `basis`.
    Spectral(Coords, Basis),
    /// Not a quadratic: a formula (`name = "expression"`) or a regression, already whole.
    Whole(Objective),
}

impl ObjectiveSection {
    /// An objective that is not a quadratic, already whole; `against` says what fixed d.
    fn whole(against: String, o: Objective) -> ObjectiveSection {
        let center = Coords::scalar("objective.center", 0.0);
        ObjectiveSection { dim: Some((o.dim(), against)), hessian: HessianSection::Whole(o), center }
    }

    /// The per-coordinate vectors, for the dimension.
    fn vectors(&self) -> Vec<&Coords> {
        match &self.hessian {
            HessianSection::Diagonal(h) | HessianSection::Spectral(h, _) => vec![h, &self.center],
            HessianSection::Dense(_) => vec![&self.center],
            HessianSection::Whole(_) => Vec::new(),
        }
    }

    fn expand(self, dim: usize) -> Result<Objective> {
        let center = self.center.expand(dim);
        match self.hessian {
            HessianSection::Diagonal(h) => Objective::quadratic(h.expand(dim), center),
            HessianSection::Dense(m) => Objective::dense(m, center),
            HessianSection::Spectral(l, basis) => Objective::spectral(l.expand(dim), basis, center),
            HessianSection::Whole(o) => Ok(o),
        }
    }
}

fn objective(top: &Table<'_>) -> Result<ObjectiveSection> {
    let t = top.require_sub("objective", OBJECTIVE_KEYS)?;
    match t.name_of(OBJECTIVE_NAMES)? {
        "expression" => return expression(&t),
        "linear-regression" => {
            let o = super::regression::regression(&t)?;
            return Ok(ObjectiveSection::whole(format!("objective.k has {} entries", o.dim()), o));
        }
        _ => {}
    }
    let given: Vec<&str> = HESSIAN_FORMS.into_iter().filter(|k| t.get(k).is_some()).collect();
    if given.len() > 1 {
        let field = t.field(given[1]);
        return Err(bad(
            &field,
            t.get(given[1]).expect("given"),
            format!(
                "cannot be given with objective.{}: the quadratic's Hessian is one of h (diagonal), hessian \
                 (every entry) or eigenvalues with basis",
                given[0]
            ),
        ));
    }
    let form = given.first().copied().unwrap_or("h");
    let keys: &[&str] = match form {
        "hessian" => &["name", "hessian", "center"],
        "eigenvalues" => &["name", "eigenvalues", "basis", "basis_seed", "center", "dim"],
        _ => &["name", "h", "center", "dim"],
    };
    t.check_keys(keys)?;
    let mut dim = t.int("dim", &dim_domain())?.map(|d| (d as usize, format!("objective.dim = {d}")));
    let center = t.coords("center", &ANY_REAL)?.unwrap_or_else(|| Coords::scalar("objective.center", 0.0));
    let hessian = match form {
        "hessian" => {
            let m = t.matrix("hessian", &MATRIX_ENTRY)?.expect("given");
            if m.len() > MAX_DIM {
                return Err(bad(
                    "objective.hessian",
                    t.get("hessian").expect("given"),
                    format!("has {} rows; at most {MAX_DIM} coordinates (MAX_DIM) are supported", m.len()),
                ));
            }
            dim = Some((m.len(), format!("objective.hessian has {} rows", m.len())));
            HessianSection::Dense(m)
        }
        "eigenvalues" => {
            let l = t.coords("eigenvalues", &MATRIX_ENTRY)?.expect("given");
            t.require("basis", "\"random\" (with basis_seed) or the orthonormal matrix Q, rows as written")?;
            HessianSection::Spectral(l, super::basis::basis(&t)?.expect("required"))
        }
        _ => {
            t.require(
                "h",
                "the Hessian: h (diagonal: a finite number > 0, or an array of them), hessian or eigenvalues",
            )?;
            HessianSection::Diagonal(t.coords("h", &CURVATURE)?.expect("required"))
        }
    };
    Ok(ObjectiveSection { dim, hessian, center })
}

/// `[objective]` with `name = "expression"`: `loss`, optional `dim`, `params`.
fn expression(t: &Table<'_>) -> Result<ObjectiveSection> {
    t.check_keys(&["name", "loss", "dim", "params"])?;
    let loss = match t.require("loss", "the loss as a formula, e.g. \"0.25*(x0^2 - 1)^2 + 0.1*x0\"")? {
        Val::Str(s) if !s.trim().is_empty() => s.clone(),
        v => return Err(bad("objective.loss", v, "must be a non-empty string: the loss as a formula")),
    };
    let dim = t.int("dim", &dim_domain())?.map(|d| d as usize);
    let mut params = Vec::new();
    match t.get("params") {
        None => {}
        Some(Val::Table(entries)) => {
            for (name, v) in entries {
                let field = format!("objective.params.{name}");
                let number = |x: &Val, field: &str| match x.as_f64() {
                    Some(x) if ANY_REAL.contains(x) => Ok(x),
                    _ => Err(bad(field, x, ANY_REAL.expected())),
                };
                let (values, vector) = match v {
                    Val::Array(items) if !items.is_empty() => (
                        items
                            .iter()
                            .enumerate()
                            .map(|(j, x)| number(x, &format!("{field}[{j}]")))
                            .collect::<Result<Vec<f64>>>()?,
                        true,
                    ),
                    _ => (vec![number(v, &field)?], false),
                };
                params.push(FormulaParam { name: name.clone(), values, vector });
            }
        }
        Some(v) => {
            return Err(bad(
                "objective.params",
                v,
                "must be a table of named parameters: { a = 2.0, c = [1.0, 2.0] } (numbers, or vectors of d numbers)",
            ));
        }
    }
    let o = Objective::expression(loss, dim, params)?;
    let d = o.dim();
    let against = match dim {
        Some(d) => format!("objective.dim = {d}"),
        None => format!("the formula's dimension is d = {d} (its highest index + 1)"),
    };
    Ok(ObjectiveSection::whole(against, o))
}

/// `[noise]` as written.
struct NoiseSection {
    scale: Coords,
    /// Student-t noise: its ν.
    nu: Option<Coords>,
}

impl NoiseSection {
    fn expand(self, dim: usize) -> Result<Noise> {
        match self.nu {
            Some(nu) => Noise::student_t(nu.expand(dim), self.scale.expand(dim)),
            None => Noise::gaussian(self.scale.expand(dim)),
        }
    }
}

/// `[noise]`, with what model `kind` needs of it ([`noise_scale_domain`], [`nu_domains`]).
fn noise(top: &Table<'_>, kind: ModelKind) -> Result<NoiseSection> {
    let t = top.require_sub("noise", NOISE_KEYS)?;
    let student = t.name_of(NOISE_NAMES)? == "student-t";
    t.check_keys(if student { &["name", "nu", "scale"] } else { &["name", "sigma"] })?;
    let scale_key = if student { "scale" } else { "sigma" };
    t.require(scale_key, "the noise scales: a finite number >= 0, or an array of them")?;
    let scale = t.coords(scale_key, &noise_scale_domain(kind, student))?.expect("required");
    if !student {
        return Ok(NoiseSection { scale, nu: None });
    }
    t.require("nu", "the Student-t degrees of freedom: a finite number > 0, or an array of them")?;
    let nu = t.coords("nu", &NU)?.expect("required");
    let domains = nu_domains(kind);
    for (j, &v) in nu.xs.iter().enumerate() {
        for domain in &domains {
            domain.check(&nu.field_of(j), v)?;
        }
    }
    Ok(NoiseSection { scale, nu: Some(nu) })
}

/// `[init]`: x0, by default 0.
fn init(top: &Table<'_>) -> Result<Coords> {
    let x0 = match top.sub("init", INIT_KEYS)? {
        Some(t) => t.coords("x0", &ANY_REAL)?,
        None => None,
    };
    Ok(x0.unwrap_or_else(|| Coords::scalar("init.x0", 0.0)))
}

/// The dimension: `objective.dim`, else the first vector's length, else 1; all vectors agree.
fn dimension(fixed: Option<(usize, String)>, fields: &[&Coords]) -> Result<usize> {
    let mut vectors = fields.iter().filter(|c| c.vector);
    let Some(first) = vectors.clone().next() else {
        return Ok(fixed.map_or(1, |(d, _)| d));
    };
    let (d, against) = match fixed.clone() {
        Some(f) => f,
        None => (first.xs.len(), format!("{} has length {}", first.field, first.xs.len())),
    };
    if fixed.is_none() && d > MAX_DIM {
        return Err(bad(
            &first.field,
            &first.val,
            format!("has length {d}; at most {MAX_DIM} coordinates (MAX_DIM) are supported"),
        ));
    }
    match vectors.find(|c| c.xs.len() != d) {
        Some(c) if fixed.is_some() => Err(bad(
            &c.field,
            &c.val,
            format!(
                "has length {} but {against}; vectors must have length {d} (a single number broadcasts)",
                c.xs.len()
            ),
        )),
        Some(c) => Err(bad(
            &c.field,
            &c.val,
            format!(
                "has length {} but {against}; all vectors must have the same length (the dimension; a single \
                 number broadcasts)",
                c.xs.len()
            ),
        )),
        None => Ok(d),
    }
}

/// `[compressor]`: only for dcsgd and dcsgd-sde (default identity).
fn compressor(top: &Table<'_>, kind: ModelKind, dim: usize) -> Result<Compressor> {
    let Some(t) = top.sub("compressor", COMPRESSOR_KEYS)? else {
        return Ok(Compressor::Identity);
    };
    if !kind.is_compressed() {
        return Err(bad("compressor", top.get("compressor").expect("present"), no_compressor(kind)));
    }
    let name = t.name_of(&Compressor::NAMES)?;
    let keys: &[&str] = match name {
        "bernoulli" => &["name", "p"],
        "rand-k" => &["name", "k"],
        "qsgd" => &["name", "levels"],
        _ => &["name"],
    };
    t.check_keys(keys)?;
    match name {
        "identity" => Ok(Compressor::Identity),
        "bernoulli" => {
            t.require("p", "the keep probability, 0 < p <= 1")?;
            Compressor::bernoulli(t.real("p", &KEEP_PROBABILITY)?.expect("required"))
        }
        "rand-k" => {
            t.require("k", "the number of kept coordinates, 1 <= k <= d")?;
            Compressor::rand_k(t.int("k", &kept_domain(dim))?.expect("required") as u32, dim)
        }
        "qsgd" => {
            t.require("levels", "the number of quantisation levels s >= 1")?;
            Compressor::qsgd(t.int("levels", &LEVELS)?.expect("required") as u32)
        }
        _ => Ok(Compressor::Natural),
    }
}

/// `[run]`; the divergence bound's range and default depend on the objective and x0.
fn run(top: &Table<'_>, kind: ModelKind, objective: &Objective, x0: &[f64]) -> Result<RunSpec> {
    let t = top.require_sub("run", RUN_KEYS)?;
    t.require("paths", "an integer >= 1")?;
    let paths = t.int("paths", &paths_domain())?.expect("required") as u64;
    t.require("steps", "an integer >= 1")?;
    let steps = t.int("steps", &steps_domain())?.expect("required") as u64;
    let refine = t.int("refine", &refine_domain())?.map_or(1, |r| r as u32);
    if let Some(v) = t.get("refine").filter(|_| refine != 1 && !kind.is_sde()) {
        return Err(bad("run.refine", v, refine_only_for_sdes(kind)));
    }
    let seed = match t.get("seed") {
        // Above 2^63 - 1 TOML has no integer: a decimal or 0x-hexadecimal string.
        Some(v @ Val::Str(s)) => seed_from_str(s).ok_or_else(|| bad("run.seed", v, seed_domain().expected()))?,
        _ => t.int("seed", &seed_domain())?.map_or(1, |s| s as u64),
    };
    let backend = match t.get("backend") {
        None => BackendChoice::Auto,
        Some(Val::Str(s)) => BackendChoice::from_name(s, "run.backend")?,
        Some(v) => {
            let valid = names(BackendChoice::ALL.map(BackendChoice::name));
            return Err(bad("run.backend", v, format!("must be a string, one of: {valid}")));
        }
    };
    let chunk_domain = chunk_domain();
    let chunk = t.int("chunk", &chunk_domain)?.map(|c| c as u64);
    if let Some(c) = chunk.filter(|c| c % crate::experiment::BATCH != 0) {
        return Err(bad("run.chunk", &Val::Int(c.into()), chunk_domain.expected()));
    }
    let divergence_bound = match t.real("divergence_bound", &divergence_domain(objective, x0))? {
        Some(b) => b,
        None => default_divergence_bound(objective, x0)?,
    };
    RunSpec::new(paths, steps, refine, seed, backend, chunk, divergence_bound)
}

/// A seed written as a string: decimal digits, or hexadecimal after `0x`.
fn seed_from_str(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse::<u64>().ok(),
    }
    .filter(|_| !s.contains('+'))
}

/// `[record]`: by default about 200 records and no trajectories.
fn record(top: &Table<'_>, run: &RunSpec) -> Result<RecordSpec> {
    let (mut basis, mut time) = (RecordBasis::Coordinates, TimeAxis::Model);
    let (every, trajectories) = match top.sub("record", RECORD_KEYS)? {
        Some(t) => {
            basis = one_of(&t, "basis", &RecordBasis::NAMES, [RecordBasis::Coordinates, RecordBasis::Hessian])?
                .unwrap_or(basis);
            time = one_of(&t, "time", &TimeAxis::NAMES, [TimeAxis::Model, TimeAxis::PerDimension])?.unwrap_or(time);
            (
                t.int("every", &every_domain())?.map(|e| e as u64),
                t.int("trajectories", &trajectories_domain(Some(run.paths)))?.map(|n| n as u32),
            )
        }
        None => (None, None),
    };
    let spec = RecordSpec::new(every.unwrap_or_else(|| (run.steps / 200).max(1)), trajectories.unwrap_or(0))?;
    Ok(RecordSpec { basis, time, ..spec })
}

/// The value named by the string at `key`, one of `names` (in the order of `values`).
fn one_of<T: Copy, const N: usize>(t: &Table<'_>, key: &str, names: &[&str; N], values: [T; N]) -> Result<Option<T>> {
    let Some(v) = t.get(key) else { return Ok(None) };
    match v {
        Val::Str(s) if names.contains(&s.as_str()) => Ok(Some(values[names.iter().position(|n| n == s).expect("in")])),
        _ => Err(bad(&t.field(key), v, format!("must be one of: {}", names.join(", ")))),
    }
}

/// `[stationary]`: by default the second half of the run, every 10 steps, 128 bins, the range
/// from a pilot ensemble, the covariance matrix where the objective couples coordinates (not
/// the diagonal quadratic, whose models move every coordinate on its own) and d ≤ 64, no 2-D
/// histograms.
fn stationary(
    top: &Table<'_>,
    steps: u64,
    objective: &Objective,
    dim: usize,
    basis: RecordBasis,
) -> Result<StationarySpec> {
    let (mut start, mut every, mut bins, mut range) = (steps / 2, 10, 128, HistRange::Auto);
    let couples = !matches!(objective, Objective::Quadratic { .. }) || basis == RecordBasis::Hessian;
    let mut cov = couples && dim > 1 && dim <= MAX_COV_DIM;
    let mut pairs = Vec::new();
    if let Some(t) = top.sub("stationary", STATIONARY_KEYS)? {
        if let Some(v) = t.get("cov") {
            let Val::Bool(b) = v else {
                return Err(bad("stationary.cov", v, "must be true or false"));
            };
            cov = *b;
        }
        if let Some(v) = t.get("pairs") {
            pairs = coordinate_pairs(v)?;
        }
        if let Some(s) = t.int("start", &start_domain(steps))? {
            start = s as u64;
        }
        if let Some(e) = t.int("every", &every_domain())? {
            every = e as u64;
        }
        if let Some(b) = t.int("bins", &bins_domain())? {
            bins = b as u32;
        }
        if let Some(v) = t.get("range") {
            range = hist_range(v)?;
        }
    }
    Ok(StationarySpec { cov, pairs, ..StationarySpec::new(start, every, bins, range)? })
}

/// `stationary.pairs`: an array of [i, j] coordinate pairs (checked against d by the
/// experiment).
fn coordinate_pairs(v: &Val) -> Result<Vec<[usize; 2]>> {
    const EXPECTED: &str = "must be an array of coordinate pairs [i, j], e.g. [[0, 1], [2, 3]]";
    let Val::Array(items) = v else {
        return Err(bad("stationary.pairs", v, EXPECTED));
    };
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let field = format!("stationary.pairs[{n}]");
            let Val::Array(ij) = item else {
                return Err(bad(&field, item, EXPECTED));
            };
            let index = |x: &Val| x.as_int().filter(|&i| (0..=u32::MAX as i128).contains(&i)).map(|i| i as usize);
            match ij.as_slice() {
                [a, b] => match (index(a), index(b)) {
                    (Some(i), Some(j)) => Ok([i, j]),
                    _ => Err(bad(&field, item, "must be two coordinate indices [i, j] (integers >= 0)")),
                },
                _ => Err(bad(&field, item, "must be two coordinate indices [i, j]")),
            }
        })
        .collect()
}

fn hist_range(v: &Val) -> Result<HistRange> {
    match v {
        Val::Str(s) if s == "auto" => Ok(HistRange::Auto),
        Val::Array(items) if items.len() == 2 => match (items[0].as_f64(), items[1].as_f64()) {
            (Some(lo), Some(hi)) => HistRange::fixed(lo, hi).map_err(|_| bad("stationary.range", v, RANGE_EXPECTED)),
            _ => Err(bad("stationary.range", v, RANGE_EXPECTED)),
        },
        _ => Err(bad("stationary.range", v, RANGE_EXPECTED)),
    }
}
