//! The built-in examples (`optsde examples`, `optsde run --example NAME`).

use super::doc::Overrides;
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
];

/// Parses and validates the built-in example `name` (see [`EXAMPLES`]).
pub fn example(name: &str, overrides: &Overrides) -> Result<Experiment> {
    match EXAMPLES.iter().find(|(n, _, _)| *n == name) {
        Some((n, _, text)) => Experiment::from_str(text, "toml", &format!("example {n}"), n, overrides),
        None => Err(Error::UnknownExample {
            name: name.to_string(),
            available: EXAMPLES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", "),
        }),
    }
}
