//! The Python baselines: the same loops in float32 with NumPy, JAX and PyTorch
//! (`benches/baselines/`). The scripts are embedded in the binary and written next to
//! `bench.json` before they run, so the bench runs from any directory; each prints its time and
//! the statistics optsde reports as one JSON line. An entry's landscape reaches them as JSON
//! ([`ScriptLandscape`], read from the entry's experiment), and they write its gradient out by
//! hand. A missing Python or package is a note in the report, never a failure.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::suite::{DOUBLE_WELL, Entry, Landscape, Options, QUADRATIC_FORMULA_H, ROSENBROCK, SEED, Sizes};
use crate::error::{Error, Result};
use crate::experiment::{Experiment, Noise, Objective};

/// The baselines run at most this many numbers per array (paths × d) by default: their
/// throughput stops growing at about that size (`benches/NOTES.md`, "Method");
/// `--baseline-numbers` changes it (a GPU baseline needs more to fill the device).
pub const BASELINE_NUMBERS: u64 = 1 << 20;
/// The baseline tools, in the order they run.
pub const BASELINE_TOOLS: [&str; 3] = ["numpy", "jax", "torch"];

/// A tool's `unavailable` when `--baselines` (or `--no-baselines`) left it out.
pub const NOT_ASKED: &str = "not asked for (--baselines)";

/// The baseline scripts, embedded so the bench runs from any directory.
pub const BASELINE_SCRIPTS: [(&str, &str, &str); 3] = [
    ("numpy", "numpy_loop.py", include_str!("../../benches/baselines/numpy_loop.py")),
    ("jax", "jax_loop.py", include_str!("../../benches/baselines/jax_loop.py")),
    ("torch", "torch_loop.py", include_str!("../../benches/baselines/torch_loop.py")),
];

/// The baselines' default paths for an entry: min(paths, numbers / d), at least 1.
pub fn baseline_paths(paths: u64, dim: usize, numbers: u64) -> u64 {
    paths.min((numbers / dim as u64).max(1))
}

/// The baseline tools named by a comma-separated list ("none": no baseline).
pub fn select_baselines(list: &str) -> Result<Vec<String>> {
    if list.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for t in list.split(',').map(str::trim) {
        if !BASELINE_TOOLS.contains(&t) {
            return Err(Error::UnknownName {
                field: "--baselines".into(),
                value: t.into(),
                valid: format!("{}, none", BASELINE_TOOLS.join(", ")),
            });
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.into());
        }
    }
    Ok(out)
}

/// An entry's landscape as the baseline scripts read it (`--landscape`, JSON with a `kind`;
/// numpy_loop.py's docstring writes out each kind's f and gradient). `formula` is the text
/// optsde compiles, for the record: the scripts compute from the parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ScriptLandscape {
    /// ½ h Σ x²: the built-in quadratic, or the formula that spells it.
    Quadratic {
        h: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        formula: Option<String>,
    },
    /// ½ (x − c)ᵀ H (x − c): H row-major, as optsde uploads it (in f64; the kernels round to f32).
    Dense { h: Vec<f64>, c: Vec<f64> },
    /// a(x² − 1)² + b x, d = 1.
    DoubleWell { a: f64, b: f64, formula: String },
    /// Σ_{i<d−1} b(x_{i+1} − x_i²)² + (a − x_i)².
    Rosenbrock { a: f64, b: f64, formula: String },
    /// One-pass least squares: data a ~ N(0, diag k), labels aᵀ target + ε with ε ~ N(0, σ²),
    /// `batch` points per step; f = ½ Σ k_i (x_i − target_i)², the excess risk. The scripts
    /// sample the data as optsde's data stage does (numpy_loop.py's docstring).
    Regression { k: Vec<f64>, target: Vec<f64>, sigma: f64, batch: u32 },
}

/// The landscape of entry `e` for the scripts, read from its experiment `exp`; `Err` says why the
/// scripts cannot run it (a note in the bench's log, not a failure).
pub fn script_landscape(e: &Entry, exp: &Experiment) -> std::result::Result<ScriptLandscape, String> {
    let name = match e.landscape.suffix() {
        "" => "quadratic",
        l => l,
    };
    let no = |why: &str| Err(format!("no Python baseline for the {name} landscape: {why}"));
    match (e.landscape, &exp.objective) {
        (Landscape::Quadratic, Objective::Quadratic { h, center }) => {
            if h.iter().any(|&v| v != h[0]) || center.iter().any(|&c| c != 0.0) {
                return no("the scripts' quadratic has one curvature and its minimum at 0");
            }
            Ok(ScriptLandscape::Quadratic { h: h[0], formula: None })
        }
        (Landscape::Dense, Objective::DenseQuadratic { hessian, center, .. }) => {
            Ok(ScriptLandscape::Dense { h: hessian.iter().flatten().copied().collect(), c: center.clone() })
        }
        (Landscape::Regression, Objective::LinearRegression { k, target, batch, rotation: None }) => match &exp.noise {
            Noise::Gaussian { sigma } if sigma.iter().all(|&s| s == sigma[0]) => {
                Ok(ScriptLandscape::Regression { k: k.clone(), target: target.clone(), sigma: sigma[0], batch: *batch })
            }
            _ => no("the scripts' labels are Gaussian with one sigma"),
        },
        (l, Objective::Expression { loss, params, .. }) if params.is_empty() && Some(loss) == l.formula().as_ref() => {
            let formula = loss.clone();
            match l {
                Landscape::QuadraticFormula => {
                    Ok(ScriptLandscape::Quadratic { h: QUADRATIC_FORMULA_H, formula: Some(formula) })
                }
                Landscape::DoubleWell => {
                    Ok(ScriptLandscape::DoubleWell { a: DOUBLE_WELL.0, b: DOUBLE_WELL.1, formula })
                }
                Landscape::Rosenbrock => Ok(ScriptLandscape::Rosenbrock { a: ROSENBROCK.0, b: ROSENBROCK.1, formula }),
                _ => no("the scripts know no formula for it"),
            }
        }
        (_, o) => no(&format!("its experiment has a {} objective the scripts do not implement", o.name())),
    }
}

/// What a baseline script prints (one JSON line); other keys are kept in `extra`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineResult {
    pub tool: String,
    pub version: String,
    pub paths: u64,
    pub steps: u64,
    pub seconds: f64,
    /// paths × steps / seconds.
    pub path_steps_per_second: f64,
    /// paths × d × steps / seconds.
    pub path_coordinate_steps_per_second: f64,
    pub final_loss_mean: f64,
    pub stationary_loss: f64,
    pub stationary_loss_se: f64,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One baseline on one entry: its result, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineOutcome {
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<BaselineResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A baseline tool's availability, probed once.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    pub name: String,
    pub script: String,
    /// The package's version when `import` succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why it is not available (or [`NOT_ASKED`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// Probe every baseline tool that `opts` asks for, and write the script of each that is there
/// into `opts.out_dir/baselines/`. `log` hears of the missing ones.
pub(super) fn prepare_tools(opts: &Options, log: &mut dyn FnMut(&str)) -> Result<Vec<Tool>> {
    let mut tools = Vec::new();
    for (name, file, text) in BASELINE_SCRIPTS {
        let script = opts.out_dir.join("baselines").join(file);
        let (version, unavailable) = if !opts.baselines.iter().any(|b| b == name) {
            (None, Some(NOT_ASKED.to_string()))
        } else {
            match probe(&opts.python, name) {
                Ok(v) => {
                    write_file(&script, text)?;
                    (Some(v), None)
                }
                Err(why) => {
                    log(&format!("baseline {name}: not available ({}): {why}", install_hint(name)));
                    (None, Some(why))
                }
            }
        };
        tools.push(Tool { name: name.into(), script: script.display().to_string(), version, unavailable });
    }
    Ok(tools)
}

/// Run every available tool of `tools` on entry `e` at `sizes`; `log` hears each figure or failure.
pub(super) fn run_baselines(
    opts: &Options,
    tools: &[Tool],
    e: &Entry,
    exp: &Experiment,
    sizes: Sizes,
    log: &mut dyn FnMut(&str),
) -> Vec<BaselineOutcome> {
    let mut outcomes = Vec::new();
    let landscape = match script_landscape(e, exp) {
        Ok(l) => serde_json::to_string(&l).expect("a landscape serialises"),
        Err(note) => {
            log(&format!("{:<24} {note}", e.label()));
            return outcomes;
        }
    };
    for tool in tools.iter().filter(|t| t.version.is_some()) {
        let r = run_baseline(&opts.python, Path::new(&tool.script), e, &landscape, sizes);
        match &r {
            Ok(b) => log(&format!(
                "{:<24} {:<9} {:.3e} path-steps/s ({:.2} s)",
                e.label(),
                tool.name,
                b.path_steps_per_second,
                b.seconds
            )),
            Err(why) => log(&format!("baseline {} failed on {}: {why}", tool.name, e.label())),
        }
        let (result, error) = match r {
            Ok(b) => (Some(b), None),
            Err(why) => (None, Some(why)),
        };
        outcomes.push(BaselineOutcome { tool: tool.name.clone(), result, error });
    }
    outcomes
}

/// How to get a missing baseline package.
pub(super) fn install_hint(tool: &str) -> &'static str {
    match tool {
        "jax" => "pip install jax[cpu]",
        "torch" => "pip install torch",
        _ => "pip install numpy",
    }
}

/// Whether `python -c "import <tool>"` succeeds, and the package version.
fn probe(python: &Path, tool: &str) -> std::result::Result<String, String> {
    let out = Command::new(python)
        .args(["-c", &format!("import {tool}; print({tool}.__version__)")])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("import failed").trim().to_string())
    }
}

/// Run one baseline script on an entry whose landscape is `landscape` ([`ScriptLandscape`]'s JSON).
fn run_baseline(
    python: &Path,
    script: &Path,
    e: &Entry,
    landscape: &str,
    sizes: Sizes,
) -> std::result::Result<BaselineResult, String> {
    let out = Command::new(python)
        .arg(script)
        .args(["--model", e.model, "--dim", &e.dim.to_string(), "--landscape", landscape])
        .args(["--paths", &sizes.paths.to_string(), "--steps", &sizes.steps.to_string()])
        .args(["--seed", &SEED.to_string()])
        .output()
        .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
        return Err(format!("{} exited with {}: {tail}", script.display(), out.status));
    }
    let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
    serde_json::from_str(line)
        .map_err(|err| format!("{}: cannot read its output line {line:?}: {err}", script.display()))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "cannot create output directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Io { action: "cannot write", path: path.to_path_buf(), source })
}
