//! `optsde risk`: the deterministic risk curves of a `linear-regression` experiment file, both
//! signSGD's and SGD's ([`super::risk_ode`]), as the table `risk.csv` and a short report.
//!
//! The file's `model.eta` is each step's size, which the risk ODEs write as η/d (one fresh
//! sample per step, time t = k/d, docs/regression.md): the ODEs run with η = `model.eta` × d
//! (`eta_ode`). The data covariance is the objective's diagonal K, the target and the start are
//! the file's, and the label noise is `[noise]`'s law with its one scale.

use std::fmt::Write as _;
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::path::{Path, PathBuf};

use super::label::LabelNoise;
use super::risk_ode::{RiskProblem, sgd_fixed_point, sgd_risk, sign_fixed_point, sign_risk};
use crate::error::{Error, Result};
use crate::experiment::{Domain, Experiment, Noise, Objective, round_to_15_digits};

/// The file [`RiskTable::write`] writes.
pub const RISK_CSV: &str = "risk.csv";
/// The columns of [`RISK_CSV`], after its one `#` comment line.
pub const RISK_COLUMNS: &str = "t,signsgd_risk,sgd_risk";
/// Default [`RiskOptions::points`].
pub const DEFAULT_POINTS: usize = 201;
/// Default [`RiskOptions::rk4_step`].
pub const DEFAULT_RK4_STEP: f64 = 1e-3;
/// Most output times: a million rows of `risk.csv` are about 60 MB.
pub const MAX_POINTS: usize = 1_000_000;
/// Most RK4 steps per curve, (end time) / (RK4 step): at d = 1024 both curves take about
/// 10 s per million steps on one core.
pub const MAX_RK4_STEPS: f64 = 1e7;

/// `--points`: the output times, evenly spaced from 0 to the end, both included.
const POINTS: Domain<i128> = Domain::new(
    Included(2),
    Included(MAX_POINTS as i128),
    "must be an integer >= 2 (t = 0 and the end) and <= 1000000",
);
/// The end time and the RK4 step.
const POSITIVE_TIME: Domain<f64> = Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0");

/// How far and how finely to integrate.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskOptions {
    /// The end of the curves in t = k/d; `None`: the file's run, `run.steps` / d.
    pub t_end: Option<f64>,
    /// Output times, evenly spaced from 0 to the end, both included.
    pub points: usize,
    /// The largest RK4 step in t.
    pub rk4_step: f64,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions { t_end: None, points: DEFAULT_POINTS, rk4_step: DEFAULT_RK4_STEP }
    }
}

/// Both risk curves of one experiment at the same times, with their fixed points.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskTable {
    /// The experiment's name.
    pub name: String,
    /// d.
    pub dim: usize,
    /// The ODEs' η: `model.eta` × d.
    pub eta_ode: f64,
    /// mean(K), which decides whether SGD's risk has a fixed point (η mean(K) < 2).
    pub k_mean: f64,
    pub label: LabelNoise,
    /// The output times t = k/d, from 0 to the end.
    pub t: Vec<f64>,
    /// signSGD's excess risk P at each time.
    pub signsgd: Vec<f64>,
    /// SGD's excess risk at each time; `None` where E ε² is infinite.
    pub sgd: Option<Vec<f64>>,
    /// signSGD's stationary P∞ (it always exists).
    pub signsgd_fixed_point: f64,
    /// SGD's stationary P∞; `None` where η mean(K) ≥ 2 (the risk grows) or E ε² is infinite.
    pub sgd_fixed_point: Option<f64>,
}

/// The risk ODEs' problem of `exp`: K = diag(`objective.k`) (rotated by `objective.basis`), θ* = `objective.target`,
/// θ₀ = `init.x0`, η = `model.eta` × d. Refused: another objective, and minibatches (the ODEs
/// take one sample per step).
pub fn risk_problem(exp: &Experiment) -> Result<RiskProblem> {
    let Objective::LinearRegression { k, target, batch, .. } = &exp.objective else {
        return Err(Error::invalid(
            "objective.name",
            format!("\"{}\"", exp.objective.name()),
            "must be \"linear-regression\" for `optsde risk`: the risk ODEs are those of one-pass least squares",
        ));
    };
    if *batch != 1 {
        return Err(Error::invalid(
            "objective.batch",
            batch,
            "must be 1 for `optsde risk`: the risk ODEs take one fresh sample per step",
        ));
    }
    let d = k.len();
    let label = match &exp.noise {
        Noise::Gaussian { sigma } => LabelNoise::Gaussian { sigma: sigma[0] },
        Noise::StudentT { nu, scale } => LabelNoise::StudentT { nu: nu[0], scale: scale[0] },
    };
    let covariance = exp.objective.data_covariance().expect("a regression");
    Ok(RiskProblem { k: covariance, target: target.clone(), x0: exp.x0.clone(), eta: exp.model.eta * d as f64, label })
}

/// Both risk curves of `exp` at `opts.points` times from 0 to the end, by RK4, and their fixed
/// points. Everything is checked before the integration starts.
pub fn risk_table(exp: &Experiment, opts: &RiskOptions) -> Result<RiskTable> {
    let pr = risk_problem(exp)?;
    let d = exp.dim;
    let t_end = match opts.t_end {
        Some(t) => POSITIVE_TIME.check("--t-end", t)?,
        None => exp.run.steps as f64 / d as f64,
    };
    POINTS.check("--points", opts.points as u64)?;
    let rk4_step = POSITIVE_TIME.check("rk4_step", opts.rk4_step)?;
    let rk4_steps = (t_end / rk4_step).ceil();
    if rk4_steps > MAX_RK4_STEPS {
        let what = if opts.t_end.is_some() { "" } else { " (the default run.steps / d)" };
        return Err(Error::invalid(
            "--t-end",
            t_end,
            format!(
                "needs {rk4_steps:e} RK4 steps of {rk4_step:e}{what}; at most {MAX_RK4_STEPS:e} are taken: give a \
                 smaller --t-end (the curves settle at their fixed points within t ~ 10 to 100 for O(1) spectra)"
            ),
        ));
    }
    let last = (opts.points - 1) as f64;
    let t: Vec<f64> = (0..opts.points).map(|i| round_to_15_digits(t_end * i as f64 / last)).collect();
    Ok(RiskTable {
        name: exp.name.clone(),
        dim: d,
        eta_ode: pr.eta,
        k_mean: (0..d).map(|i| pr.k[i][i]).sum::<f64>() / d as f64,
        label: pr.label,
        signsgd: sign_risk(&pr, &t, rk4_step).risk,
        sgd: sgd_risk(&pr, &t, rk4_step).map(|c| c.risk),
        signsgd_fixed_point: sign_fixed_point(&pr),
        sgd_fixed_point: sgd_fixed_point(&pr),
        t,
    })
}

impl RiskTable {
    /// The contents of [`RISK_CSV`]: a `#` line with the problem and the η convention, the
    /// header [`RISK_COLUMNS`], one row per time (SGD's cell empty where its curve is `None`).
    pub fn csv(&self) -> String {
        let mut s = format!(
            "# optsde risk {}: excess risk P = 1/2 r^T K r of one-pass least squares, d = {}, {}; time t = k/d; \
             eta_ode = model.eta * d = {} (each step moves by eta_ode/d)\n{RISK_COLUMNS}\n",
            self.name,
            self.dim,
            self.label_words(),
            self.eta_ode
        );
        for (i, (t, p)) in self.t.iter().zip(&self.signsgd).enumerate() {
            let sgd = self.sgd.as_ref().map_or(String::new(), |c| format!("{:e}", c[i]));
            let _ = writeln!(s, "{t},{p:e},{sgd}");
        }
        s
    }

    /// Write [`RISK_CSV`] into `dir`, created with its parents; returns the file's path. (A plain
    /// write: `crate::output`'s atomic writer would close an import cycle, output → spec →
    /// regression, and the file is written in one call.)
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "cannot create output directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(RISK_CSV);
        std::fs::write(&path, self.csv()).map_err(|source| Error::Io {
            action: "cannot write",
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// A short report for stdout: the problem, η, P at the start and the end, the fixed points,
    /// and `csv`, where the table went.
    pub fn summary(&self, csv: &Path) -> String {
        let mut s = String::new();
        let n = self.t.len();
        let t_end = self.t[n - 1];
        let _ = writeln!(
            s,
            "risk ODEs   {}: one-pass least squares, d = {}, {}, time t = k/d",
            self.name,
            self.dim,
            self.label_words()
        );
        let _ = writeln!(
            s,
            "eta         eta_ode = model.eta × d = {} (each step moves by eta_ode/d, the paper's algorithm)",
            self.eta_ode
        );
        let _ = writeln!(s, "start       P0 = {:.6}", self.signsgd[0]);
        let _ = writeln!(
            s,
            "signSGD     P({t_end}) = {:.6}, fixed point P_inf = {:.6} (root of P phi(P) = eta_ode/(4d) sum sqrt k_i)",
            self.signsgd[n - 1],
            self.signsgd_fixed_point
        );
        let _ = match (&self.sgd, self.sgd_fixed_point) {
            (None, _) => writeln!(s, "SGD         no curve: the label noise has infinite variance"),
            (Some(c), Some(p)) => {
                writeln!(s, "SGD         P({t_end}) = {:.6}, fixed point P_inf = {p:.6}", c[n - 1])
            }
            (Some(c), None) => writeln!(
                s,
                "SGD         P({t_end}) = {:.6e}, no fixed point: eta_ode × mean(k) = {} >= 2, the risk grows",
                c[n - 1],
                self.eta_ode * self.k_mean
            ),
        };
        let _ = writeln!(s, "output      {} ({n} times, t = 0 to {t_end})", csv.display());
        s
    }

    fn label_words(&self) -> String {
        match self.label {
            LabelNoise::Gaussian { sigma } => format!("gaussian labels sigma = {sigma}"),
            LabelNoise::StudentT { nu, scale } => format!("student-t labels nu = {nu}, scale = {scale}"),
        }
    }
}
