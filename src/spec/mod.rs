//! The experiment file: TOML (or the same structure in JSON) -> validated [`Experiment`], and
//! back.
//!
//! | concern | file |
//! |---|---|
//! | the untyped document both formats parse into; overrides | `doc.rs` |
//! | reading one table's keys, names, numbers and vectors | `table.rs` |
//! | validation, one function per section | `validate.rs` |
//! | `[objective]` of a `linear-regression` | `regression.rs` |
//! | `[schedule]`, the learning-rate schedule | `schedule.rs` |
//! | `objective.basis` with `basis_seed` (quadratics and regressions) | `basis.rs` |
//! | `[sweep]` -> a [`Study`] of grid points | `sweep.rs` |
//! | the built-in examples | `examples.rs` |
//! | the writer back to the file form; summary.json's experiment | `write.rs` |
//!
//! The problem types and their valid ranges live in [`crate::experiment`] (re-exported here);
//! this module knows the file format.

mod basis;
mod doc;
mod examples;
mod regression;
mod schedule;
mod sweep;
mod table;
mod validate;
mod write;

use std::path::Path;

pub use crate::experiment::{
    Adaptive, BATCH, BackendChoice, Compressor, Correction, DEFAULT_DIVERGENCE_BOUND, Experiment, HistRange,
    MAX_AGENTS, MAX_BINS, MAX_DIM, MAX_LOSS_AT_BOUND, MIN_NU, MIN_NU_SIGN_SDE, ModelKind, ModelSpec, Noise, Objective,
    RecordSpec, RunSpec, Schedule, StationarySpec,
};
pub use doc::Overrides;
pub use examples::{EXAMPLES, example, example_noted, example_text};
pub use sweep::{Axis, MAX_SWEEP_POINTS, Point, SWEEP_KEYS, Study};
pub use write::{EXPERIMENT_TOML, experiment_from_summary, revalidate, study_toml, to_json, to_toml};

use crate::error::Result;

impl Experiment {
    /// Read a file (TOML, or JSON when the extension is .json), apply overrides, validate.
    /// `name` defaults to the file stem.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Experiment> {
        let f = doc::SpecFile::read(path)?;
        Self::from_str(&f.text, f.format, &f.origin, &f.name, overrides)
    }

    /// Parse from text. `format_hint` is "toml" or "json"; `origin` is used in messages (file
    /// path or "example sgd"); `name` is the run name unless the text sets one.
    ///
    /// Conventions beyond the documented format:
    /// * integer fields also accept floats that are exact integers (`paths = 1e6`); other
    ///   floats (`1.5`, `nan`) are rejected with the field's valid range;
    /// * number fields accept integers (`h = [1, 2, 5, 10]`);
    /// * an array is a per-coordinate vector whatever its length (`[0.5]` has length 1 and
    ///   does not broadcast); only a bare number broadcasts;
    /// * in JSON, `null` is the same as leaving the key out, and duplicate keys are an error.
    pub fn from_str(
        text: &str,
        format_hint: &str,
        origin: &str,
        name: &str,
        overrides: &Overrides,
    ) -> Result<Experiment> {
        let mut document = doc::parse(text, format_hint, origin)?;
        overrides.apply(&mut document);
        validate::validate(&document, origin, name).map_err(|e| overrides.explain(e))
    }
}
