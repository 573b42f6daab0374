//! `[schedule]`: the learning-rate schedule (`crate::experiment::Schedule`); the values that
//! depend on the run's length (milestones, warm-up) are checked by the experiment.

use std::ops::Bound::{Included, Unbounded};

use super::doc::Val;
use super::table::{Table, bad};
use crate::error::Result;
use crate::experiment::{Domain, MAX_MILESTONES, MIN_FACTOR, NORM_PARAMETER, NormOf, POWER, STEP_FACTOR, Schedule};

/// Every key of `[schedule]`; each schedule then checks its own.
pub(super) const SCHEDULE_KEYS: &[&str] =
    &["name", "p", "milestones", "factor", "warmup", "min_factor", "beta", "clip", "norm_of", "coordinate"];

/// An optimizer step count of `milestones` and `warmup`.
const STEPS: Domain<i128> = Domain::new(Included(0), Unbounded, "must be an integer >= 0 (optimizer steps)");

/// `[schedule]`, constant when absent.
pub(super) fn schedule(top: &Table<'_>) -> Result<Schedule> {
    let Some(t) = top.sub("schedule", SCHEDULE_KEYS)? else {
        return Ok(Schedule::Constant);
    };
    let name = t.name_of(&Schedule::NAMES)?;
    let keys: &[&str] = match name {
        "poly" => &["name", "p"],
        "step" => &["name", "milestones", "factor"],
        "cosine" => &["name", "warmup", "min_factor"],
        "normalized" => &["name", "beta", "norm_of", "coordinate"],
        "clipped" => &["name", "clip", "norm_of", "coordinate"],
        _ => &["name"],
    };
    t.check_keys(keys)?;
    Ok(match name {
        "poly" => {
            t.require("p", "the power p >= 0 of (1 + eta k)^-p")?;
            Schedule::Poly { p: t.real("p", &POWER)?.expect("required") }
        }
        "inverse-sqrt" => Schedule::InverseSqrt,
        "step" => {
            let list =
                t.require("milestones", &format!("a list of 1 to {MAX_MILESTONES} increasing optimizer steps"))?;
            t.require("factor", "the multiplier at each milestone, a finite number > 0")?;
            Schedule::Step {
                milestones: milestones(&t.field("milestones"), list)?,
                factor: t.real("factor", &STEP_FACTOR)?.expect("required"),
            }
        }
        "cosine" => Schedule::Cosine {
            warmup: t.int("warmup", &STEPS)?.map_or(0, |w| w as u64),
            min_factor: t.real("min_factor", &MIN_FACTOR)?.unwrap_or(0.0),
        },
        "normalized" => {
            t.require("beta", "the offset beta > 0 of eta / (beta + |g|)")?;
            let (norm_of, coordinate) = norm(&t)?;
            Schedule::Normalized { beta: t.real("beta", &NORM_PARAMETER)?.expect("required"), norm_of, coordinate }
        }
        "clipped" => {
            t.require("clip", "the norm c > 0 above which eta min(1, c / |g|) clips")?;
            let (norm_of, coordinate) = norm(&t)?;
            Schedule::Clipped { clip: t.real("clip", &NORM_PARAMETER)?.expect("required"), norm_of, coordinate }
        }
        _ => Schedule::Constant,
    })
}

/// `norm_of` (required: whose norm is meant changes the method) and `coordinate` (default false).
fn norm(t: &Table<'_>) -> Result<(NormOf, bool)> {
    let v = t.require("norm_of", "\"stochastic\" (the sampled gradient) or \"true\" (∇f without noise)")?;
    let norm_of = match v {
        Val::Str(s) if s == "stochastic" => NormOf::Stochastic,
        Val::Str(s) if s == "true" => NormOf::True,
        v => return Err(bad(&t.field("norm_of"), v, format!("must be one of {:?}", NormOf::NAMES))),
    };
    let coordinate = match t.get("coordinate") {
        None => false,
        Some(Val::Bool(b)) => *b,
        Some(v) => {
            return Err(bad(&t.field("coordinate"), v, "must be true (per coordinate) or false (the whole vector)"));
        }
    };
    Ok((norm_of, coordinate))
}

/// `milestones`: an array of step counts (their order and range: [`Schedule::check`]).
fn milestones(field: &str, v: &Val) -> Result<Vec<u64>> {
    let expected = "must be an array of integers >= 1 (optimizer steps), e.g. [1000, 2000]";
    let Val::Array(items) = v else { return Err(bad(field, v, expected)) };
    items
        .iter()
        .map(|m| match m.as_int() {
            Some(i) if i >= 1 && i <= i128::from(u32::MAX) => Ok(i as u64),
            _ => Err(bad(field, v, expected)),
        })
        .collect()
}
