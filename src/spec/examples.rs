//! The built-in examples (`optsde examples`, `optsde run --example NAME`).

use super::doc::{Entries, Overrides, Val, parse, set_key};
use super::validate::validate;
use crate::error::{Error, Result};
use crate::experiment::Experiment;

/// Built-in examples embedded in the binary: (name, one-line description, TOML text).
pub const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "sgd",
        "discrete SGD on the reference quadratic (docs/objective-and-noise.md); stationary E f = 3.575089e-3",
        include_str!("../../examples/sgd.toml"),
    ),
    (
        "signsgd",
        "SignSGD SDE on the reference quadratic (docs/objective-and-noise.md); stationary E f ≈ 2.036635e-3",
        include_str!("../../examples/signsgd.toml"),
    ),
    (
        "adamw",
        "the AdamW SDE (P1, theta = 5) on the reference quadratic; stationary E f = 4.841270e-4 (docs/oracles.md S6)",
        include_str!("../../examples/adamw.toml"),
    ),
    (
        "dcsgd",
        "distributed compressed SGD (rand-k, N = 4) on a d = 8 quadratic; stationary E f = 7.291682e-3 (docs/oracles.md T3)",
        include_str!("../../examples/dcsgd.toml"),
    ),
    (
        "heavy-tails",
        "distributed SignSGD under Student-t noise with nu = 1.5 (infinite variance); stationary E f = 5.961378e-4",
        include_str!("../../examples/heavy-tails.toml"),
    ),
    (
        "rotated-adam",
        "Adam on a rotated ill-conditioned quadratic (eigenvalues 1..128, random basis, d = 8); SGD there: E f = 2.033320e-3",
        include_str!("../../examples/rotated-adam.toml"),
    ),
    (
        "double-well",
        "the SGD SDE hopping between the wells of 0.25(x^2 - 1)^2 + 0.1x (a formula); Gibbs: E f = 0.052617, P(x > 0) = 0.30262",
        include_str!("../../examples/double-well.toml"),
    ),
    (
        "cosh",
        "the SGD SDE on f = cosh x, an (L0, L1)-smooth formula; Gibbs: E cosh X = K1(20)/K0(20) = 1.024702",
        include_str!("../../examples/cosh.toml"),
    ),
    (
        "rosenbrock",
        "discrete SGD in Rosenbrock's valley, d = 2 (a formula with a neighbour sum); near the minimum E f ~ 7.5085e-6",
        include_str!("../../examples/rosenbrock.toml"),
    ),
    (
        "rosenbrock-32",
        "Adam on the d = 32 Rosenbrock function (a formula), from x0 = 0 to the minimum at x = 1",
        include_str!("../../examples/rosenbrock-32.toml"),
    ),
    (
        "signsgd-risk",
        "one-pass signSGD on least squares, d = 500, power-law data spectrum, t = k/d (compare with `optsde risk`)",
        include_str!("../../examples/signsgd-risk.toml"),
    ),
    (
        "regression-adam",
        "Adam on one-pass least squares, d = 32, minibatches of 4: gradient noise that depends on the state",
        include_str!("../../examples/regression-adam.toml"),
    ),
];

/// Parses and validates the built-in example `name` (see [`EXAMPLES`]), as [`example_noted`]
/// does, without the notes.
pub fn example(name: &str, overrides: &Overrides) -> Result<Experiment> {
    example_noted(name, overrides).map(|(e, _)| e)
}

/// The TOML text of the built-in example `name`; an unknown name is an error that lists the
/// examples.
pub fn example_text(name: &str) -> Result<&'static str> {
    match EXAMPLES.iter().find(|(n, _, _)| *n == name) {
        Some((_, _, text)) => Ok(text),
        None => Err(Error::UnknownExample {
            name: name.to_string(),
            available: EXAMPLES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Parses and validates the built-in example `name` with `overrides`, and says what it changed
/// beyond them. An example's step-valued settings are fitted to its own `run.steps`: where a
/// `--steps` override is at or below the example's `stationary.start`, which would make the
/// example invalid, the settings the overrides leave alone are scaled by the same factor as
/// the steps (`stationary.start`, `record.every`, and `stationary.every` where it would exceed
/// the rescaled stationary window), and each change is one note (for stderr). A user's file is
/// never rescaled: it gets the error, with a hint ([`Overrides`]).
pub fn example_noted(name: &str, overrides: &Overrides) -> Result<(Experiment, Vec<String>)> {
    let text = example_text(name)?;
    let origin = format!("example {name}");
    let mut doc = parse(text, "toml", &origin)?;
    let before = doc.clone();
    overrides.apply(&mut doc);
    let notes = rescale(&before, &mut doc, overrides, name);
    let exp = validate(&doc, &origin, name).map_err(|e| overrides.explain(e))?;
    Ok((exp, notes))
}

/// The rescaling of [`example_noted`] on `doc` (`before`: the example as written).
fn rescale(before: &Entries, doc: &mut Entries, overrides: &Overrides, name: &str) -> Vec<String> {
    let get = |table: &str, key: &str| -> Option<u64> {
        let (_, t) = before.iter().find(|(k, _)| k == table)?;
        let Val::Table(fields) = t else { return None };
        let (_, v) = fields.iter().find(|(k, _)| k == key)?;
        v.as_int().and_then(|i| u64::try_from(i).ok())
    };
    let (Some(steps), Some(old_steps), Some(start)) =
        (overrides.steps, get("run", "steps"), get("stationary", "start"))
    else {
        return Vec::new();
    };
    if overrides.start.is_some() || start < steps || old_steps == 0 {
        return Vec::new();
    }
    let scaled = |n: u64| ((u128::from(n) * u128::from(steps) / u128::from(old_steps)) as u64).max(1);
    let new_start = (u128::from(start) * u128::from(steps) / u128::from(old_steps)) as u64;
    let mut changes = vec![("stationary", "start", start, new_start)];
    if let (None, Some(every)) = (overrides.record_every, get("record", "every")) {
        changes.push(("record", "every", every, scaled(every)));
    }
    if let Some(every) = get("stationary", "every").filter(|&e| e > steps - new_start) {
        changes.push(("stationary", "every", every, scaled(every)));
    }
    let mut said = Vec::new();
    for &(table, key, old, new) in &changes {
        set_key(doc, table, key, Val::Int(new.into()));
        said.push(format!("{table}.{key} {old} -> {new}"));
    }
    vec![format!(
        "--steps {steps} <= example {name}'s stationary.start = {start}: its step settings are scaled by \
         {steps}/{old_steps} like the steps: {} (give --start and --record-every to choose)",
        said.join(", ")
    )]
}
