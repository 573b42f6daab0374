//! Side by side: an optimizer against its SDEs (`optsde compare`), and scaling rules checked
//! by simulation (`optsde scale`).
//!
//! **compare.** For a file of any model of a family, the discrete optimizer and every SDE of the
//! family run on the same problem, paths, seed and record steps (spec §2–§6): sgd ↔ sgd-sde,
//! signsgd ↔ signsgd-sde, rmsprop ↔ rmsprop-sde and rmsprop-malladi-sde, adam ↔ adam-sde and
//! adam-malladi-sde, dsgd ↔ dsgd-sde, dsignsgd ↔ dsignsgd-sde, dcsgd ↔ dcsgd-sde (compressors
//! with a closed-form covariance only, spec §6.3). The SDEs run `refine` Euler–Maruyama substeps
//! per optimizer step, so their own discretisation error (O(η/r), spec §14.0) stays small against
//! the O(η) weak error being measured; with r = 1 the additive-noise SDEs *are* their optimizers
//! in law on a quadratic (spec §1.4) and the comparison shows only Monte Carlo noise.
//!
//! Records are matched by optimizer step k. That is SDE time t = kη for P1's SDEs and the
//! SGD/SignSGD/distributed ones, and t = kη² for the SDEs of Malladi et al. (spec §1.3, §5): both
//! are "the optimizer after k steps" in their own time axis, so the comparison is at equal k.
//! The weak error of a quantity q is max over records |E q(X_k) − E q(x_k)|: for the loss, and for
//! each coordinate's mean and variance (reported per coordinate and as the largest). Its standard
//! error treats the two ensembles as independent: they share the seed but consume random words
//! at different rates (r per step for an SDE), so their coupling is weak. At
//! stationarity the report gives the SDE's stationary loss minus the optimizer's, with the
//! combined standard error √(SE₁² + SE₂²) of the two batch-spread estimates.
//!
//! With several η (`--etas`), every run keeps the file's SDE time: steps, `record.every`,
//! `stationary.start` and `stationary.every` scale as η₀/η (steps ∝ 1/η), and the adaptive models
//! keep ρ_i = (1 − β_i)/η fixed (the P1 convention β_i = 1 − ηρ_i, spec §1.1), so the P1-type SDE
//! is the same for every η and its weak error should fall as η^p with p = 1 (weak order one).
//! The P7 SDEs assume 1 − β_i ∝ η² and σ ∝ 1/η (spec §1.3); along this η sweep they are not a
//! fixed SDE, so their fitted p need not be 1. The order p is the least-squares slope of
//! ln(weak error) on ln η; its standard error propagates each point's relative standard error.
//!
//! **scale.** A [`Rule`] maps the file's hyperparameters by a factor κ; the base (the file) and the
//! scaled experiment both run, the scaled one for as many steps as the rule predicts it needs to
//! cover the same part of the base's dynamics (steps, record and stationary strides multiplied by
//! the predicted steps ratio). The report compares the stationary losses and the optimizer steps
//! each needs to reach `threshold` × its own stationary loss with what the rule predicts.
//!
//! Every experiment that runs is derived from the file's through the validated edits of
//! [`Experiment`] (`with_model`, `at_eta`, `with_eta`, ...), so derived runs get the same checks
//! (β < 1, ρΔt ≤ 1, ν > 2 for covariance-driven SDEs, ...) and the same messages as files;
//! nothing runs and nothing is written until all of them pass.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::{Compressor, Experiment, ModelKind, Noise};
use crate::plan::{BackendInfo, Engine, RunResult};

// ---------------------------------------------------------------------------------------------
// compare
// ---------------------------------------------------------------------------------------------

/// The optimizer of `kind`'s family and the SDEs of that family (spec §2–§6), or `None` for a
/// model compare does not know.
pub fn family(kind: ModelKind) -> Option<(ModelKind, &'static [ModelKind])> {
    use ModelKind as M;
    Some(match kind {
        M::Sgd | M::SgdSde => (M::Sgd, &[M::SgdSde]),
        M::Signsgd | M::SignsgdSde => (M::Signsgd, &[M::SignsgdSde]),
        M::Rmsprop | M::RmspropSde | M::RmspropMalladiSde => (M::Rmsprop, &[M::RmspropSde, M::RmspropMalladiSde]),
        M::Adam | M::AdamSde | M::AdamMalladiSde => (M::Adam, &[M::AdamSde, M::AdamMalladiSde]),
        M::Dsgd | M::DsgdSde => (M::Dsgd, &[M::DsgdSde]),
        M::Dsignsgd | M::DsignsgdSde => (M::Dsignsgd, &[M::DsignsgdSde]),
        M::Dcsgd | M::DcsgdSde => (M::Dcsgd, &[M::DcsgdSde]),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Default Euler–Maruyama substeps per optimizer step for the SDEs of a comparison.
pub const DEFAULT_COMPARE_REFINE: u32 = 8;

/// Options of [`plan_compare`].
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// Learning rates; empty: the file's η only.
    pub etas: Vec<f64>,
    /// EM substeps per optimizer step for the SDE runs.
    pub refine: u32,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { etas: Vec::new(), refine: DEFAULT_COMPARE_REFINE }
    }
}

/// A number as the reports and messages show it (shortest round-trip form).
fn num(x: f64) -> String {
    format!("{x:?}")
}

/// Parse `--etas a,b,c`.
pub fn parse_etas(s: &str) -> Result<Vec<f64>> {
    const EXPECTED: &str = "must be a comma-separated list of distinct finite numbers > 0, e.g. 4e-3,2e-3,1e-3";
    let etas = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|_| Error::invalid("--etas", s, EXPECTED)))
        .collect::<Result<Vec<f64>>>()?;
    check_etas(&etas)?;
    Ok(etas)
}

fn check_etas(etas: &[f64]) -> Result<()> {
    let show = || etas.iter().map(|x| num(*x)).collect::<Vec<_>>().join(",");
    for &x in etas {
        if !(x.is_finite() && x > 0.0) {
            return Err(Error::invalid(
                "--etas",
                show(),
                format!("contains {x}; every eta must be a finite number > 0"),
            ));
        }
    }
    for (i, x) in etas.iter().enumerate() {
        if etas[..i].contains(x) {
            return Err(Error::invalid("--etas", show(), format!("repeats {x}; the etas must be distinct")));
        }
    }
    Ok(())
}

/// One learning rate of a comparison: the optimizer and its SDEs, all validated.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareCase {
    pub eta: f64,
    pub optimizer: Experiment,
    pub sdes: Vec<Experiment>,
}

/// Everything a comparison will run.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparePlan {
    /// The file's experiment.
    pub base: Experiment,
    pub optimizer: ModelKind,
    pub sdes: Vec<ModelKind>,
    pub refine: u32,
    pub cases: Vec<CompareCase>,
    /// What was left out and why.
    pub notes: Vec<String>,
}

/// Validate the options and derive (and validate) every experiment of the comparison.
pub fn plan_compare(exp: &Experiment, opts: &CompareOptions) -> Result<ComparePlan> {
    check_etas(&opts.etas)?;
    if opts.refine == 0 {
        return Err(Error::invalid("--refine", 0, "must be an integer >= 1 (EM substeps per optimizer step)"));
    }
    let kind = exp.model.name;
    let Some((optimizer, all_sdes)) = family(kind) else {
        return Err(Error::invalid(
            "model.name",
            format!("\"{}\"", kind.name()),
            "has no optimizer/SDE pair that compare knows (sgd, signsgd, rmsprop, adam, dsgd, dsignsgd, dcsgd and their SDEs)",
        ));
    };
    let mut notes = Vec::new();
    let mut sdes = Vec::new();
    let theta = exp.model.adaptive.map_or(0.0, |a| a.weight_decay);
    for &s in all_sdes {
        if s.is_malladi() && theta != 0.0 {
            notes.push(format!(
                "{} left out: the SDE of Malladi et al. (spec §5) has no weight decay, and this file has \
                 model.weight_decay = {theta}",
                s.name()
            ));
        } else if s.is_compressed() && !exp.model.compressor.has_sde() {
            return Err(Error::invalid(
                "compressor.name",
                format!("\"{}\"", exp.model.compressor.name()),
                "has no SDE (spec §6.3: the closed-form covariance exists for identity, bernoulli and rand-k), \
                 so compare has no SDE to put next to dcsgd; use one of those compressors",
            ));
        } else {
            sdes.push(s);
        }
    }
    let etas = if opts.etas.is_empty() { vec![exp.model.eta] } else { opts.etas.clone() };
    let mut cases = Vec::new();
    for &eta in &etas {
        let make = |k: ModelKind| {
            exp.at_eta(eta).and_then(|at| at.with_model(k, opts.refine)).map_err(|e| {
                if eta == exp.model.eta {
                    Error::invalid(
                        "model.name",
                        format!("\"{}\" (derived from the file's {} for compare)", k.name(), kind.name()),
                        format!("cannot run this file's problem: {e}"),
                    )
                } else {
                    let beta = if exp.model.adaptive.is_some() {
                        format!(" and 1 - beta_i × {:.4e} to keep rho_i", eta / exp.model.eta)
                    } else {
                        String::new()
                    };
                    Error::invalid(
                        "--etas",
                        num(eta),
                        format!(
                            "gives an invalid {} experiment (steps × {:.4e} to keep the SDE time{beta}): {e}",
                            k.name(),
                            exp.model.eta / eta,
                        ),
                    )
                }
            })
        };
        let optimizer = make(optimizer)?;
        let sdes = sdes.iter().map(|&k| make(k)).collect::<Result<Vec<_>>>()?;
        cases.push(CompareCase { eta, optimizer, sdes });
    }
    Ok(ComparePlan { base: exp.clone(), optimizer, sdes, refine: opts.refine, cases, notes })
}

/// Gap between the SDE and the optimizer at one record (SDE − optimizer).
#[derive(Clone, Debug, Serialize)]
pub struct RecordGap {
    pub step: u64,
    /// Optimizer time kη.
    pub t: f64,
    /// The SDE's own time (kη, or kη² for the P7 SDEs).
    pub t_sde: f64,
    pub loss_optimizer: f64,
    /// Standard error of `loss_optimizer` (√(Var f / finite paths)).
    pub loss_optimizer_se: f64,
    pub loss_sde: f64,
    pub loss_sde_se: f64,
    pub loss_gap: f64,
    pub loss_gap_se: f64,
    pub mean_gap: Vec<f64>,
    pub mean_gap_se: Vec<f64>,
    pub var_gap: Vec<f64>,
}

/// One run's headline numbers.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub model: &'static str,
    pub eta: f64,
    pub steps: u64,
    pub refine: u32,
    /// Model time per optimizer step (η, or η² for the P7 SDEs).
    pub time_per_step: f64,
    pub stationary_loss: f64,
    pub stationary_loss_se: f64,
    pub diverged: u64,
    pub wall_seconds: f64,
}

impl RunSummary {
    fn new(e: &Experiment, r: &RunResult) -> Self {
        RunSummary {
            model: e.model.name.name(),
            eta: e.model.eta,
            steps: e.run.steps,
            refine: e.run.refine,
            time_per_step: e.model.name.time_per_step(e.model.eta),
            stationary_loss: r.stationary.loss_mean,
            stationary_loss_se: r.stationary.loss_se,
            diverged: r.diverged,
            wall_seconds: r.wall_seconds,
        }
    }
}

/// An SDE against the optimizer at one η.
#[derive(Clone, Debug, Serialize)]
pub struct SdeComparison {
    pub run: RunSummary,
    /// max over records of |E f(X_k) − E f(x_k)|, its SE and the step where it is reached.
    pub weak_loss: f64,
    pub weak_loss_se: f64,
    pub weak_loss_step: u64,
    /// Per coordinate: max over records of |E X_i − E x_i| and of |Var X_i − Var x_i|.
    pub weak_mean: Vec<f64>,
    pub weak_var: Vec<f64>,
    /// Stationary E f of the SDE minus the optimizer's, with the combined SE.
    pub stationary_diff: f64,
    pub stationary_diff_se: f64,
    pub records: Vec<RecordGap>,
}

impl SdeComparison {
    /// Largest per-coordinate mean gap.
    pub fn weak_mean_max(&self) -> f64 {
        self.weak_mean.iter().fold(0.0, |a: f64, &b| a.max(b))
    }
    /// The largest coordinate's mean gap and its SE at the record where it peaks.
    pub fn weak_mean_peak(&self) -> (f64, f64) {
        let i = (0..self.weak_mean.len()).fold(0, |a, b| if self.weak_mean[b] > self.weak_mean[a] { b } else { a });
        let peak = self.records.iter().find(|r| r.mean_gap[i].abs() == self.weak_mean[i]);
        (self.weak_mean.get(i).copied().unwrap_or(f64::NAN), peak.map_or(f64::NAN, |r| r.mean_gap_se[i]))
    }
    /// Largest per-coordinate variance gap.
    pub fn weak_var_max(&self) -> f64 {
        self.weak_var.iter().fold(0.0, |a: f64, &b| a.max(b))
    }
}

/// All runs at one η.
#[derive(Clone, Debug, Serialize)]
pub struct ComparePoint {
    pub eta: f64,
    pub record_every: u64,
    pub stationary_start: u64,
    pub optimizer: RunSummary,
    pub sdes: Vec<SdeComparison>,
}

/// Least-squares order of a weak error in η: slope of ln(error) on ln(η).
#[derive(Clone, Debug, Serialize)]
pub struct OrderFit {
    pub model: &'static str,
    /// "loss", "mean" (largest coordinate) or "var" (largest coordinate).
    pub quantity: &'static str,
    pub etas: Vec<f64>,
    pub errors: Vec<f64>,
    pub order: f64,
    /// From the points' Monte Carlo standard errors (NaN where they have none: "var").
    pub order_se: f64,
}

/// The result of [`compare`].
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    pub name: String,
    pub optimizer: &'static str,
    pub sdes: Vec<&'static str>,
    pub refine: u32,
    pub paths: u64,
    pub seed: u64,
    pub backend: BackendInfo,
    pub points: Vec<ComparePoint>,
    /// Per SDE and quantity, with two or more η.
    pub orders: Vec<OrderFit>,
    pub notes: Vec<String>,
    /// The file's validated experiment.
    pub experiment: Experiment,
    pub wall_seconds: f64,
}

/// Run a comparison. `log` receives one line per run before it starts.
pub fn compare(plan: &ComparePlan, engine: &mut dyn Engine, log: &mut dyn FnMut(&str)) -> Result<CompareReport> {
    let t0 = std::time::Instant::now();
    let total = plan.cases.len() * (1 + plan.sdes.len());
    let mut i = 0;
    let mut run = |e: &Experiment, log: &mut dyn FnMut(&str)| {
        i += 1;
        log(&format!(
            "[{i}/{total}] {} eta = {}: {} paths × {} steps{}",
            e.model.name.name(),
            num(e.model.eta),
            e.run.paths,
            e.run.steps,
            if e.model.name.is_sde() { format!(" × refine {}", e.run.refine) } else { String::new() }
        ));
        crate::plan::run(e, engine, &mut |_| {})
    };
    let mut points = Vec::new();
    let mut backend = None;
    for case in &plan.cases {
        let opt = run(&case.optimizer, log)?;
        backend.get_or_insert_with(|| opt.backend.clone());
        let mut sdes = Vec::new();
        for s in &case.sdes {
            let r = run(s, log)?;
            sdes.push(gaps(&case.optimizer, &opt, s, &r));
        }
        points.push(ComparePoint {
            eta: case.eta,
            record_every: case.optimizer.record.every,
            stationary_start: case.optimizer.stationary.start,
            optimizer: RunSummary::new(&case.optimizer, &opt),
            sdes,
        });
    }
    let mut orders = Vec::new();
    if points.len() >= 2 {
        for (j, kind) in plan.sdes.iter().enumerate() {
            let etas: Vec<f64> = points.iter().map(|p| p.eta).collect();
            for quantity in ["loss", "mean", "var"] {
                let (errors, ses): (Vec<f64>, Vec<f64>) = points
                    .iter()
                    .map(|p| {
                        let c = &p.sdes[j];
                        match quantity {
                            "loss" => (c.weak_loss, c.weak_loss_se),
                            "mean" => c.weak_mean_peak(),
                            _ => (c.weak_var_max(), f64::NAN),
                        }
                    })
                    .unzip();
                let (order, order_se) = fit_order(&etas, &errors, &ses);
                orders.push(OrderFit { model: kind.name(), quantity, etas: etas.clone(), errors, order, order_se });
            }
        }
    }
    let backend = backend.unwrap_or_else(|| engine.info());
    Ok(CompareReport {
        name: plan.base.name.clone(),
        optimizer: plan.optimizer.name(),
        sdes: plan.sdes.iter().map(|k| k.name()).collect(),
        refine: plan.refine,
        paths: plan.base.run.paths,
        seed: plan.base.run.seed,
        backend,
        points,
        orders,
        notes: plan.notes.clone(),
        experiment: plan.base.clone(),
        wall_seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Least-squares slope of ln y on ln x, and its standard error from the relative errors
/// se_i/y_i of the points (NaN when fewer than two points or any y is not positive).
pub fn fit_order(x: &[f64], y: &[f64], se: &[f64]) -> (f64, f64) {
    if x.len() < 2 || y.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
        return (f64::NAN, f64::NAN);
    }
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    let slope = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / sxx;
    let var: f64 = lx.iter().zip(y).zip(se).map(|((a, v), s)| ((a - mx) / sxx).powi(2) * (s / v).powi(2)).sum();
    (slope, var.sqrt())
}

/// The SDE's record moments minus the optimizer's, record by record (same record steps).
fn gaps(oe: &Experiment, opt: &RunResult, se: &Experiment, sde: &RunResult) -> SdeComparison {
    let dim = oe.dim;
    let tps = se.model.name.time_per_step(se.model.eta);
    let mut records = Vec::new();
    for (a, b) in opt.records.iter().zip(&sde.records) {
        debug_assert_eq!(a.step, b.step, "same record steps");
        if a.q[0].n == 0.0 || b.q[0].n == 0.0 {
            continue;
        }
        let diff = |q: usize| {
            let (x, y) = (&a.q[q], &b.q[q]);
            (y.mean - x.mean, (x.var() / x.n + y.var() / y.n).sqrt())
        };
        let (loss_gap, loss_gap_se) = diff(dim);
        let se_of = |m: &crate::stats::Moments| (m.var().max(0.0) / m.n).sqrt();
        let (mean_gap, mean_gap_se): (Vec<f64>, Vec<f64>) = (0..dim).map(diff).unzip();
        records.push(RecordGap {
            step: a.step,
            t: a.step as f64 * oe.model.eta,
            t_sde: a.step as f64 * tps,
            loss_optimizer: a.q[dim].mean,
            loss_optimizer_se: se_of(&a.q[dim]),
            loss_sde: b.q[dim].mean,
            loss_sde_se: se_of(&b.q[dim]),
            loss_gap,
            loss_gap_se,
            mean_gap,
            mean_gap_se,
            var_gap: (0..dim).map(|i| b.q[i].var() - a.q[i].var()).collect(),
        });
    }
    let mut peak: Option<&RecordGap> = None;
    for r in &records {
        if r.loss_gap.is_finite() && peak.is_none_or(|p| r.loss_gap.abs() > p.loss_gap.abs()) {
            peak = Some(r);
        }
    }
    let per_coord = |f: &dyn Fn(&RecordGap, usize) -> f64| -> Vec<f64> {
        (0..dim).map(|i| records.iter().map(|r| f(r, i).abs()).filter(|v| v.is_finite()).fold(0.0, f64::max)).collect()
    };
    let weak_mean = per_coord(&|r, i| r.mean_gap[i]);
    let weak_var = per_coord(&|r, i| r.var_gap[i]);
    let (sa, sb) = (&opt.stationary, &sde.stationary);
    SdeComparison {
        run: RunSummary::new(se, sde),
        weak_loss: peak.map_or(f64::NAN, |p| p.loss_gap.abs()),
        weak_loss_se: peak.map_or(f64::NAN, |p| p.loss_gap_se),
        weak_loss_step: peak.map_or(0, |p| p.step),
        weak_mean,
        weak_var,
        stationary_diff: sb.loss_mean - sa.loss_mean,
        stationary_diff_se: (sa.loss_se.powi(2) + sb.loss_se.powi(2)).sqrt(),
        records,
    }
}

/// An optional number for CSV: empty when absent or not finite.
fn cell(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:e}"),
        _ => String::new(),
    }
}

impl CompareReport {
    /// `compare.csv`: one row per (η, model).
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "eta,model,role,steps,refine,time_per_step,weak_loss,weak_loss_se,weak_loss_step,weak_mean,weak_var,\
             stationary_loss,stationary_loss_se,stationary_diff,stationary_diff_se,diverged\n",
        );
        for p in &self.points {
            let o = &p.optimizer;
            let _ = writeln!(
                s,
                "{:e},{},optimizer,{},{},{:e},,,,,,{},{},,,{}",
                p.eta,
                o.model,
                o.steps,
                o.refine,
                o.time_per_step,
                cell(Some(o.stationary_loss)),
                cell(Some(o.stationary_loss_se)),
                o.diverged
            );
            for c in &p.sdes {
                let r = &c.run;
                let _ = writeln!(
                    s,
                    "{:e},{},sde,{},{},{:e},{},{},{},{},{},{},{},{},{},{}",
                    p.eta,
                    r.model,
                    r.steps,
                    r.refine,
                    r.time_per_step,
                    cell(Some(c.weak_loss)),
                    cell(Some(c.weak_loss_se)),
                    c.weak_loss_step,
                    cell(Some(c.weak_mean_max())),
                    cell(Some(c.weak_var_max())),
                    cell(Some(r.stationary_loss)),
                    cell(Some(r.stationary_loss_se)),
                    cell(Some(c.stationary_diff)),
                    cell(Some(c.stationary_diff_se)),
                    r.diverged
                );
            }
        }
        s
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let b = &self.backend;
        let _ = writeln!(
            s,
            "compare     {}: {} vs {} (SDEs with refine {}), {} paths, seed {}, backend {} ({})",
            self.name,
            self.optimizer,
            self.sdes.join(", "),
            self.refine,
            self.paths,
            self.seed,
            b.kind,
            b.adapter
        );
        s.push_str(
            "weak error: max over records of |E(SDE) - E(optimizer)| at equal step k (± its SE there); \
             mean, var: largest coordinate\n\n",
        );
        let _ = writeln!(
            s,
            "{:>10}  {:<20} {:>8}  {:>21}  {:>9}  {:>9}  {:>22}  {:>21}",
            "eta", "model", "steps", "weak loss ± SE", "weak mean", "weak var", "stationary E f ± SE", "SDE - opt ± SE"
        );
        for p in &self.points {
            let o = &p.optimizer;
            let _ = writeln!(
                s,
                "{:>10.3e}  {:<20} {:>8}  {:>21}  {:>9}  {:>9}  {:>22}",
                p.eta,
                o.model,
                o.steps,
                "",
                "",
                "",
                pm(o.stationary_loss, o.stationary_loss_se)
            );
            for c in &p.sdes {
                let r = &c.run;
                let _ = writeln!(
                    s,
                    "{:>10.3e}  {:<20} {:>8}  {:>21}  {:>9.2e}  {:>9.2e}  {:>22}  {:>21}{}",
                    p.eta,
                    r.model,
                    r.steps,
                    pm(c.weak_loss, c.weak_loss_se),
                    c.weak_mean_max(),
                    c.weak_var_max(),
                    pm(r.stationary_loss, r.stationary_loss_se),
                    pm(c.stationary_diff, c.stationary_diff_se),
                    if c.weak_loss < 3.0 * c.weak_loss_se { "  (weak loss error within 3 SE of 0)" } else { "" }
                );
            }
        }
        if !self.orders.is_empty() {
            s.push_str("\norder p of the weak error in eta (least-squares slope of ln error on ln eta):\n");
            for f in &self.orders {
                let se = if f.order_se.is_finite() { format!(" ± {:.3}", f.order_se) } else { String::new() };
                let pts: Vec<String> =
                    f.etas.iter().zip(&f.errors).map(|(e, v)| format!("({e:.3e}, {v:.3e})")).collect();
                let _ = writeln!(
                    s,
                    "  {:<20} {:<4}  p = {:.3}{se}   points (eta, weak error): {}",
                    f.model,
                    f.quantity,
                    f.order,
                    pts.join(" ")
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let diverged: u64 =
            self.points.iter().map(|p| p.optimizer.diverged + p.sdes.iter().map(|c| c.run.diverged).sum::<u64>()).sum();
        if diverged > 0 {
            let _ = writeln!(
                s,
                "note: {diverged} paths diverged in total and are excluded from the moments (see compare.json)"
            );
        }
        let _ = writeln!(s, "wall time   {:.2} s", self.wall_seconds);
        s
    }

    /// Write `compare.csv` and `compare.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        crate::output::files::write_atomic(dir, "compare.csv", self.csv().as_bytes())?;
        crate::output::files::write_atomic(dir, "compare.json", &json_bytes(self))
    }
}

fn pm(x: f64, se: f64) -> String {
    format!("{x:.4e} ± {se:.1e}")
}

fn json_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    // Non-finite floats serialize as null; the reports hold nothing else that can fail.
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"null".to_vec());
    out.push(b'\n');
    out
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "cannot create output directory",
        path: dir.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// scale
// ---------------------------------------------------------------------------------------------

/// A scaling rule: how hyperparameters change with a factor κ, and what it predicts.
///
/// Each prediction follows from the spec's time scalings. With τ the model time per optimizer
/// step (η for P1-type SDEs, η² for P7's, spec §1.3) and a the relaxation rate per unit of
/// model time near the minimum, progress per *step* is aτ, so the steps needed to reach a loss
/// level scale as 1/(aτ); the steps ratio scaled/base is (a τ)_base/(a τ)_scaled.
///
/// * `signsgd` (spec §3.5): η → κη, B → κ²B (σ → σ/κ). Phase 3 (spec §3.4): a = √(2/π) h/σ
///   → κa, τ = η → κη: steps ratio **1/κ²**; stationary E f = (η/4)√(π/2) Σσ_i: ratio **1**.
///   In phase 1 (|∇f/σ| > 3/2) the drift is sign(∇f), a speed of 1 per unit time, so a start far
///   from the minimum adds steps that shrink only as 1/κ; the measured ratio lies between.
///   Applies to signsgd, signsgd-sde, dsignsgd, dsignsgd-sde.
/// * `adamw` (spec §4.4): η → κη, σ → σ/κ, 1 − β_i → κ²(1 − β_i), ε → ε/κ, θ → κθ. The P1 SDE
///   is mapped onto itself in law by the time change s = κt (spec §4.4 derivation check): every
///   rate per unit time grows by κ and τ by κ, steps ratio **1/κ²**; stationary E f (spec §4.3)
///   (κη/4) Σ h(σ/κ)/(h + κθσ/κ): ratio **1** (spec S9). Applies to rmsprop, rmsprop-sde, adam,
///   adam-sde (the P7 SDEs: use `sqrt`).
/// * `sqrt` (Malladi et al., spec §5): B → κB: σ → σ/√κ, η → √κη, 1 − β_i → κ(1 − β_i),
///   ε → ε/√κ. P7's SDE has σ₀ = ση, c_i = (1 − β_i)/η², ε₀ = εη, all unchanged, so the SDE is
///   the same and τ = η² grows by κ: steps ratio **1/κ**. (In P1 terms: P → P/√κ, ρ → √κρ, so
///   rates per unit time grow by √κ and τ = η by √κ: again 1/κ.) Stationary E f (spec §4.3,
///   θ = 0, ε → 0) (η/4) Σσ_i: ratio **1**. Applies to all six adaptive models without weight
///   decay (the rule has no θ part).
/// * `dcsgd` (spec §6.5): compression with variance parameter ω costs a factor 1 + ω in samples.
///   The base is the file's problem with the identity compressor (DSGD); the scaled experiment is
///   the file's compressed model with B → (1 + ω)B, chosen over N → (1 + ω)N because it needs no
///   integer agent count: σ → σ/√(1 + ω) (Student-t: the scale). κ is fixed by the compressor,
///   κ = 1 + ω. Drift −∇f and τ = η are unchanged: steps ratio **1**; stationary E f (spec §6.4
///   item 1) η(1 + ω)Tr Σ/(4N) → η Tr Σ/(4N), DSGD's: ratio **1**, up to a relative
///   O(ηωh/N) from the multiplicative compression noise.
/// * `dsignsgd` (spec §6.5): η → κη, N → κN (κN must be an integer). The drift −erf(·) does not
///   depend on N and τ = η grows by κ: steps ratio **1/κ**; stationary E f (spec §6.4 item 5)
///   (η/4N)√(π/2) Tr Σ^{1/2}: ratio **1**. Applies to dsignsgd, dsignsgd-sde.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Signsgd,
    Adamw,
    Sqrt,
    Dcsgd,
    Dsignsgd,
}

impl Rule {
    /// All rules, in the order listed in messages.
    pub const ALL: [Rule; 5] = [Rule::Signsgd, Rule::Adamw, Rule::Sqrt, Rule::Dcsgd, Rule::Dsignsgd];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Signsgd => "signsgd",
            Rule::Adamw => "adamw",
            Rule::Sqrt => "sqrt",
            Rule::Dcsgd => "dcsgd",
            Rule::Dsignsgd => "dsignsgd",
        }
    }

    /// The spec section it comes from.
    pub fn section(self) -> &'static str {
        match self {
            Rule::Signsgd => "spec §3.5",
            Rule::Adamw => "spec §4.4",
            Rule::Sqrt => "spec §5",
            Rule::Dcsgd | Rule::Dsignsgd => "spec §6.5",
        }
    }

    /// The models it applies to.
    pub fn models(self) -> Vec<ModelKind> {
        use ModelKind as M;
        match self {
            Rule::Signsgd => vec![M::Signsgd, M::SignsgdSde, M::Dsignsgd, M::DsignsgdSde],
            Rule::Adamw => vec![M::Rmsprop, M::RmspropSde, M::Adam, M::AdamSde],
            Rule::Sqrt => ModelKind::ALL.into_iter().filter(|m| m.is_adam() || m.is_rmsprop()).collect(),
            Rule::Dcsgd => vec![M::Dcsgd, M::DcsgdSde],
            Rule::Dsignsgd => vec![M::Dsignsgd, M::DsignsgdSde],
        }
    }

    /// What the rule changes, for reports.
    pub fn changes(self) -> &'static str {
        match self {
            Rule::Signsgd => "eta -> kappa eta, B -> kappa^2 B (sigma -> sigma/kappa)",
            Rule::Adamw => {
                "eta -> kappa eta, B -> kappa^2 B (sigma -> sigma/kappa), 1 - beta_i -> kappa^2 (1 - beta_i), \
                 eps -> eps/kappa, weight_decay -> kappa weight_decay"
            }
            Rule::Sqrt => {
                "B -> kappa B (sigma -> sigma/sqrt(kappa)), eta -> sqrt(kappa) eta, 1 - beta_i -> kappa (1 - beta_i), \
                 eps -> eps/sqrt(kappa)"
            }
            Rule::Dcsgd => {
                "base: the identity compressor (DSGD); scaled: the file's compressor with eta kept and \
                 B -> (1 + omega) B (sigma -> sigma/sqrt(1 + omega)); kappa = 1 + omega"
            }
            Rule::Dsignsgd => "eta -> kappa eta, N -> kappa N (agents)",
        }
    }

    /// Predicted (stationary-loss ratio, steps ratio), scaled over base.
    pub fn predicted(self, kappa: f64) -> (f64, f64) {
        match self {
            Rule::Signsgd | Rule::Adamw => (1.0, 1.0 / (kappa * kappa)),
            Rule::Sqrt | Rule::Dsignsgd => (1.0, 1.0 / kappa),
            Rule::Dcsgd => (1.0, 1.0),
        }
    }
}

impl std::str::FromStr for Rule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Rule::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| Error::UnknownName {
            field: "--rule".into(),
            value: s.into(),
            valid: Rule::ALL.map(Rule::name).join(", "),
        })
    }
}

/// Default `--threshold`: steps to reach 1.1 × the stationary loss (spec S9).
pub const DEFAULT_THRESHOLD: f64 = 1.1;

/// Options of [`plan_scale`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleOptions {
    pub rule: Rule,
    /// The factor κ; may be left out for `dcsgd` (κ = 1 + ω).
    pub kappa: Option<f64>,
    pub threshold: f64,
}

/// The two experiments of a scaling check, validated, and the rule's predictions.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePlan {
    pub rule: Rule,
    pub kappa: f64,
    pub threshold: f64,
    pub base: Experiment,
    pub scaled: Experiment,
    pub predicted_loss_ratio: f64,
    pub predicted_steps_ratio: f64,
    pub notes: Vec<String>,
}

/// Validate the options and build the base and scaled experiments.
pub fn plan_scale(exp: &Experiment, opts: &ScaleOptions) -> Result<ScalePlan> {
    let rule = opts.rule;
    if let Some(k) = opts.kappa
        && !(k.is_finite() && k > 0.0)
    {
        return Err(Error::invalid("--kappa", k, "must be a finite number > 0 (the scaling factor)"));
    }
    let t = opts.threshold;
    if !(t.is_finite() && t > 1.0) {
        return Err(Error::invalid(
            "--threshold",
            t,
            "must be a finite number > 1 (the multiple of the stationary loss whose first crossing is timed)",
        ));
    }
    let kind = exp.model.name;
    if !rule.models().contains(&kind) {
        let fits: Vec<&str> = Rule::ALL.into_iter().filter(|r| r.models().contains(&kind)).map(Rule::name).collect();
        let hint = if fits.is_empty() {
            format!("no rule applies to {}", kind.name())
        } else {
            format!("for {} use --rule {}", kind.name(), fits.join(" or --rule "))
        };
        let models: Vec<&str> = rule.models().into_iter().map(ModelKind::name).collect();
        return Err(Error::invalid(
            "--rule",
            rule.name(),
            format!(
                "does not apply to the file's model {}: the {} rule ({}) is for {}; {hint}",
                kind.name(),
                rule.name(),
                rule.section(),
                models.join(", ")
            ),
        ));
    }
    let theta = exp.model.adaptive.map_or(0.0, |a| a.weight_decay);
    if rule == Rule::Sqrt && theta != 0.0 {
        return Err(Error::invalid(
            "--rule",
            "sqrt",
            format!(
                "does not apply with model.weight_decay = {theta}: the square-root rule (spec §5) has no weight-decay \
                 part; use --rule adamw (spec §4.4, theta -> kappa theta)"
            ),
        ));
    }
    let omega = exp.model.compressor.omega(exp.dim);
    let kappa = match (rule, opts.kappa) {
        (Rule::Dcsgd, None) => 1.0 + omega,
        (Rule::Dcsgd, Some(k)) if ((k - (1.0 + omega)) / (1.0 + omega)).abs() > 1e-9 => {
            return Err(Error::invalid(
                "--kappa",
                k,
                format!(
                    "does not match the dcsgd rule, whose factor is fixed by the compressor: kappa = 1 + omega = {} \
                     ({} in d = {}); leave --kappa out or set it to that",
                    num(1.0 + omega),
                    exp.model.compressor.name(),
                    exp.dim
                ),
            ));
        }
        (_, Some(k)) => k,
        (_, None) => {
            return Err(Error::invalid(
                "--kappa",
                "(missing)",
                format!("is required for --rule {}: a finite number > 0", rule.name()),
            ));
        }
    };
    let (predicted_loss_ratio, predicted_steps_ratio) = rule.predicted(kappa);
    let mut notes = Vec::new();
    let mut base = Ok(exp.clone());
    let scaled = match rule {
        Rule::Signsgd => {
            notes.push(
                "the 1/kappa^2 steps ratio is phase 3's (near the minimum, spec §3.3); a start in phase 1 \
                 (|grad f / sigma| > 3/2) adds steps that shrink only as 1/kappa"
                    .into(),
            );
            exp.with_eta(exp.model.eta * kappa).and_then(|e| e.with_noise_divided_by(kappa))
        }
        Rule::Adamw | Rule::Sqrt => {
            let (eta_f, noise_f, beta_f) =
                if rule == Rule::Adamw { (kappa, kappa, kappa * kappa) } else { (kappa.sqrt(), kappa.sqrt(), kappa) };
            exp.with_eta(exp.model.eta * eta_f)
                .and_then(|e| e.with_noise_divided_by(noise_f))
                .and_then(|e| e.with_one_minus_beta_scaled(beta_f))
                .and_then(|e| e.with_eps_divided_by(eta_f))
                .and_then(|e| if rule == Rule::Adamw { e.with_weight_decay_scaled(kappa) } else { Ok(e) })
        }
        Rule::Dcsgd => {
            base = exp.with_compressor(Compressor::Identity);
            if omega == 0.0 {
                notes
                    .push("the compressor is the identity (omega = 0): base and scaled are the same experiment".into());
            }
            exp.with_noise_divided_by(kappa.sqrt())
        }
        Rule::Dsignsgd => {
            let n = f64::from(exp.model.agents) * kappa;
            if (n - n.round()).abs() > 1e-9 * n.max(1.0) || n.round() < 1.0 {
                return Err(Error::invalid(
                    "--kappa",
                    kappa,
                    format!(
                        "does not give an integer number of agents: the dsignsgd rule maps model.agents = {} to \
                         kappa N = {}; choose kappa with kappa N a positive integer",
                        exp.model.agents,
                        num(n)
                    ),
                ));
            }
            let agents = n.round().min(f64::from(u32::MAX)) as u32;
            exp.with_eta(exp.model.eta * kappa).and_then(|e| e.with_agents(agents))
        }
    };
    if matches!(exp.noise, Noise::StudentT { .. }) && rule != Rule::Dsignsgd {
        notes.push(
            "Student-t noise: the batch change is applied to the scale (a mean of t samples is not t-distributed)"
                .into(),
        );
    }
    let wrap = |e: Error| {
        Error::invalid(
            "--kappa",
            num(kappa),
            format!("gives an invalid scaled experiment (--rule {}): {e}", rule.name()),
        )
    };
    let scaled = scaled.and_then(|e| e.with_steps_scaled(predicted_steps_ratio)).map_err(wrap)?;
    let base = base?;
    Ok(ScalePlan { rule, kappa, threshold: t, base, scaled, predicted_loss_ratio, predicted_steps_ratio, notes })
}

/// One side of a scaling check.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleSide {
    pub run: RunSummary,
    pub record_every: u64,
    pub stationary_start: u64,
    /// threshold × the stationary loss.
    pub target_loss: f64,
    /// Optimizer steps to the first crossing of `target_loss` (linear interpolation between the
    /// two records around it), `None` when the loss starts at or below it or never reaches it.
    pub steps_to_target: Option<f64>,
    pub steps_to_target_se: f64,
    pub experiment: Experiment,
}

/// The result of [`scale`].
#[derive(Clone, Debug, Serialize)]
pub struct ScaleReport {
    pub name: String,
    pub rule: Rule,
    pub section: &'static str,
    pub changes: &'static str,
    pub kappa: f64,
    pub threshold: f64,
    pub backend: BackendInfo,
    pub base: ScaleSide,
    pub scaled: ScaleSide,
    /// Scaled over base stationary loss, with its SE (relative errors added in quadrature).
    pub loss_ratio: f64,
    pub loss_ratio_se: f64,
    pub predicted_loss_ratio: f64,
    pub steps_ratio: Option<f64>,
    pub steps_ratio_se: f64,
    pub predicted_steps_ratio: f64,
    pub interpolation: &'static str,
    pub notes: Vec<String>,
    pub wall_seconds: f64,
}

const INTERPOLATION: &str = "steps to the target: the first record whose ensemble-mean loss is at or below \
    threshold x stationary loss, interpolated linearly in the step between it and the record before; SE from the \
    record's loss SE and the stationary SE, divided by the local slope";

/// Run a scaling check. `log` receives one line per run before it starts.
pub fn scale(plan: &ScalePlan, engine: &mut dyn Engine, log: &mut dyn FnMut(&str)) -> Result<ScaleReport> {
    let t0 = std::time::Instant::now();
    let mut sides = Vec::new();
    for (i, (what, e)) in [("base", &plan.base), ("scaled", &plan.scaled)].into_iter().enumerate() {
        log(&format!(
            "[{}/2] {what}: {} eta = {}: {} paths × {} steps",
            i + 1,
            e.model.name.name(),
            num(e.model.eta),
            e.run.paths,
            e.run.steps
        ));
        let r = crate::plan::run(e, engine, &mut |_| {})?;
        sides.push((side(e, &r, plan.threshold), r.backend));
    }
    let (scaled, _) = sides.pop().expect("two runs");
    let (base, backend) = sides.pop().expect("two runs");
    let (a, b) = (&base.run, &scaled.run);
    let loss_ratio = b.stationary_loss / a.stationary_loss;
    let loss_ratio_se = loss_ratio
        * ((a.stationary_loss_se / a.stationary_loss).powi(2) + (b.stationary_loss_se / b.stationary_loss).powi(2))
            .sqrt();
    let (steps_ratio, steps_ratio_se) = match (base.steps_to_target, scaled.steps_to_target) {
        (Some(x), Some(y)) if x > 0.0 => {
            let r = y / x;
            (Some(r), r * ((base.steps_to_target_se / x).powi(2) + (scaled.steps_to_target_se / y).powi(2)).sqrt())
        }
        _ => (None, f64::NAN),
    };
    let mut notes = plan.notes.clone();
    for (what, s) in [("base", &base), ("scaled", &scaled)] {
        if s.steps_to_target.is_none() {
            notes.push(format!(
                "{what}: the loss never crosses {:.4e} from above (it starts at or below it, or stays above it); \
                 start away from the minimum (init.x0) or run longer",
                s.target_loss
            ));
        }
    }
    Ok(ScaleReport {
        name: plan.base.name.clone(),
        rule: plan.rule,
        section: plan.rule.section(),
        changes: plan.rule.changes(),
        kappa: plan.kappa,
        threshold: plan.threshold,
        backend,
        base,
        scaled,
        loss_ratio,
        loss_ratio_se,
        predicted_loss_ratio: plan.predicted_loss_ratio,
        steps_ratio,
        steps_ratio_se,
        predicted_steps_ratio: plan.predicted_steps_ratio,
        interpolation: INTERPOLATION,
        notes,
        wall_seconds: t0.elapsed().as_secs_f64(),
    })
}

fn side(e: &Experiment, r: &RunResult, threshold: f64) -> ScaleSide {
    let dim = e.dim;
    let target = threshold * r.stationary.loss_mean;
    let target_se = threshold * r.stationary.loss_se;
    let recs: Vec<(f64, f64, f64)> = r
        .records
        .iter()
        .filter(|rec| rec.q[dim].n > 0.0)
        .map(|rec| {
            let l = rec.q[dim];
            (rec.step as f64, l.mean, (l.var() / l.n).sqrt())
        })
        .collect();
    let mut steps = None;
    let mut se = f64::NAN;
    if let Some(j) = recs.iter().position(|x| x.1 <= target)
        && j > 0
    {
        let ((k0, f0, s0), (k1, f1, s1)) = (recs[j - 1], recs[j]);
        let w = (f0 - target) / (f0 - f1);
        steps = Some(k0 + w * (k1 - k0));
        let slope = (f1 - f0) / (k1 - k0);
        let loss_se = s0 + w * (s1 - s0);
        se = (loss_se.powi(2) + target_se.powi(2)).sqrt() / slope.abs();
    }
    ScaleSide {
        run: RunSummary::new(e, r),
        record_every: e.record.every,
        stationary_start: e.stationary.start,
        target_loss: target,
        steps_to_target: steps,
        steps_to_target_se: se,
        experiment: e.clone(),
    }
}

impl ScaleReport {
    /// A readable summary.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let b = &self.backend;
        let _ = writeln!(
            s,
            "scale       {}: --rule {} ({}), kappa = {}, threshold {} x stationary loss; backend {} ({})",
            self.name,
            self.rule.name(),
            self.section,
            num(self.kappa),
            num(self.threshold),
            b.kind,
            b.adapter
        );
        let _ = writeln!(s, "rule        {}", self.changes);
        let _ = writeln!(
            s,
            "\n{:<7} {:<20} {:>10} {:>9} {:>10} {:>22} {:>24}",
            "", "model", "eta", "steps", "t/step", "stationary E f ± SE", "steps to target ± SE"
        );
        for (what, side) in [("base", &self.base), ("scaled", &self.scaled)] {
            let r = &side.run;
            let reach = side
                .steps_to_target
                .map_or("not reached".to_string(), |k| format!("{k:.1} ± {:.1}", side.steps_to_target_se));
            let _ = writeln!(
                s,
                "{:<7} {:<20} {:>10.4e} {:>9} {:>10.3e} {:>22} {:>24}",
                what,
                r.model,
                r.eta,
                r.steps,
                r.time_per_step,
                pm(r.stationary_loss, r.stationary_loss_se),
                reach
            );
        }
        let _ = writeln!(
            s,
            "\nstationary loss ratio (scaled/base)  {:.4} ± {:.4}   predicted {}",
            self.loss_ratio,
            self.loss_ratio_se,
            num(self.predicted_loss_ratio)
        );
        match self.steps_ratio {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "steps ratio to {}x the stationary loss  {:.4} ± {:.4}   predicted {:.4}",
                    num(self.threshold),
                    r,
                    self.steps_ratio_se,
                    self.predicted_steps_ratio
                );
            }
            None => {
                let _ =
                    writeln!(s, "steps ratio: not measured (see notes); predicted {:.4}", self.predicted_steps_ratio);
            }
        }
        let _ = writeln!(s, "({})", self.interpolation);
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let _ = writeln!(s, "wall time   {:.2} s", self.wall_seconds);
        s
    }

    /// Write `scale.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        crate::output::files::write_atomic(dir, "scale.json", &json_bytes(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_order_recovers_a_power_law() {
        let x = [4e-3, 2e-3, 1e-3];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(1.5)).collect();
        let (p, se) = fit_order(&x, &y, &[0.0; 3]);
        assert!((p - 1.5).abs() < 1e-12 && se == 0.0, "{p} {se}");
        assert!(fit_order(&x, &[1.0, 0.0, 1.0], &[0.0; 3]).0.is_nan());
    }
}
