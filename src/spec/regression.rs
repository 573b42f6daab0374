//! `[objective]` with `name = "linear-regression"` (docs/regression.md): the data covariance's
//! eigenvalues from `k` or a named `spectrum`, its eigenbasis (`basis`, by default the
//! coordinates), the target as numbers or drawn from a seed, the
//! batch. A section reader of `super::validate`.

use std::ops::Bound::{Included, Unbounded};

use super::doc::Val;
use super::table::{Table, bad};
use crate::error::{Error, Result};
use crate::experiment::{ANY_REAL, BASIS_SEED, BATCH_SAMPLES, CURVATURE, Domain, Objective, dim_domain};
use crate::regression::data::{draw_target, linear_spectrum, power_spectrum};

/// `[objective]` with `name = "linear-regression"`: the data covariance's diagonal `k` (a number
/// with `dim`, or one per coordinate) or `spectrum` with `dim`, the target `target` (numbers or
/// `{ seed = s }`, by default seed 0), `batch`, and `basis` (with `basis_seed`), which rotates K
/// to Q diag(k) Qᵀ.
pub(super) fn regression(t: &Table<'_>) -> Result<Objective> {
    t.check_keys(&["name", "k", "spectrum", "dim", "target", "batch", "basis", "basis_seed"])?;
    let basis = super::basis::basis(t)?;
    let dim = t.int("dim", &dim_domain())?.map(|d| d as usize);
    let k = match (t.get("k"), t.get("spectrum")) {
        (Some(_), Some(v)) => {
            return Err(bad("objective.spectrum", v, "cannot be given with objective.k: K's diagonal is one of them"));
        }
        (Some(_), None) => {
            let k = t.coords("k", &CURVATURE)?.expect("given");
            match (k.vector, dim) {
                (true, Some(d)) if d != k.xs.len() => {
                    return Err(bad(
                        "objective.dim",
                        t.get("dim").expect("given"),
                        format!("disagrees with objective.k, which has {} entries", k.xs.len()),
                    ));
                }
                (true, _) => k.xs,
                (false, Some(d)) => vec![k.xs[0]; d],
                (false, None) => {
                    return Err(Error::Missing {
                        path: t.origin.to_string(),
                        key: "objective.dim".into(),
                        expected: "the dimension d, for k given as one number".into(),
                    });
                }
            }
        }
        (None, Some(v)) => {
            let Some(d) = dim else {
                return Err(Error::Missing {
                    path: t.origin.to_string(),
                    key: "objective.dim".into(),
                    expected: "the dimension d of the spectrum".into(),
                });
            };
            spectrum(v, d)?
        }
        (None, None) => {
            t.require("k", "K's diagonal: k (a number > 0 with dim, or one per coordinate) or spectrum with dim")?;
            unreachable!("required")
        }
    };
    let d = k.len();
    let target = match t.get("target") {
        None => draw_target(d, 0),
        Some(Val::Table(entries)) => {
            let sub = Table { origin: t.origin, prefix: "objective.target", entries };
            sub.check_keys(&["seed"])?;
            let seed = sub.int("seed", &BASIS_SEED)?.map_or(0, |s| s as u64);
            draw_target(d, seed)
        }
        Some(_) => t.coords("target", &ANY_REAL)?.expect("given").expand(d),
    };
    let batch = t.int("batch", &BATCH_SAMPLES)?.map_or(1, |b| b as u32);
    Objective::linear_regression(k, target, batch, basis)
}

/// `objective.spectrum`: `{ linear = [lo, hi] }` or `{ power = alpha, scale = s }` in dimension `d`.
fn spectrum(v: &Val, d: usize) -> Result<Vec<f64>> {
    const FORMS: &str =
        "must be { linear = [lo, hi] } (0 < lo <= hi) or { power = alpha, scale = s } (alpha >= 0, s > 0)";
    let Val::Table(entries) = v else { return Err(bad("objective.spectrum", v, FORMS)) };
    let sub = Table { origin: "", prefix: "objective.spectrum", entries };
    sub.check_keys(&["linear", "power", "scale"])?;
    if let Some(lin) = sub.get("linear") {
        let Some(lh) = sub.coords("linear", &CURVATURE)?.filter(|c| c.vector && c.xs.len() == 2) else {
            return Err(bad("objective.spectrum.linear", lin, "must be [lo, hi]: two numbers > 0 with lo <= hi"));
        };
        if lh.xs[0] > lh.xs[1] || sub.get("power").is_some() || sub.get("scale").is_some() {
            return Err(bad("objective.spectrum", v, FORMS));
        }
        return Ok(linear_spectrum(lh.xs[0], lh.xs[1], d));
    }
    let alpha = sub.real("power", &NON_NEGATIVE)?;
    let scale = sub.real("scale", &CURVATURE)?;
    match (alpha, scale) {
        (Some(a), s) => Ok(power_spectrum(a, s.unwrap_or(1.0), d)),
        _ => Err(bad("objective.spectrum", v, FORMS)),
    }
}

/// `objective.spectrum.power`.
const NON_NEGATIVE: Domain<f64> = Domain::new(Included(0.0), Unbounded, "must be a finite number >= 0");
