//! `optsde bench`: a fixed suite timed on every available backend, side by side with NumPy,
//! JAX and PyTorch loops of the same SDEs (issue 5). README's "Benchmarks" describes the command,
//! the suite and its tables; `benches/NOTES.md`'s "Method" says what is timed and how the
//! baselines are sized, and holds every figure measured.
//!
//! | concern | module |
//! |---------|--------|
//! | the suite's entries and sizes, their experiments, the options | [`suite`] |
//! | the Python baselines: the embedded scripts, probing and running them | [`baselines`] |
//! | the measurement: engines, warm-up, timed runs, medians, z-scores | [`measure`] |
//! | running the whole suite and writing `bench.json` | [`mod@run`] |
//! | `bench.json`'s types and the printed tables | [`report`] |

pub mod baselines;
pub mod measure;
pub mod report;
pub mod run;
pub mod suite;

pub use baselines::{
    BASELINE_NUMBERS, BASELINE_SCRIPTS, BASELINE_TOOLS, BaselineOutcome, BaselineResult, NOT_ASKED, ScriptLandscape,
    Tool, baseline_paths, script_landscape, select_baselines,
};
pub use measure::{Measurement, Versus, WARMUP_MAX_RUNS, WARMUP_MIN_SECONDS, median, warmup_sizes, z_score};
pub use report::{EntryReport, Machine, NotTimed, Report, load_average, table};
pub use run::run;
pub use suite::{
    BackendSet, CI_SIZES, DEFAULT_SIZES, DOUBLE_WELL, EXTRA, Entry, Landscape, Options, QUADRATIC_FORMULA_H,
    REGRESSION_SPECTRUM, REGRESSION_TARGET_SEED, ROSENBROCK, SEED, SUITE, Sizes, default_sizes, experiment,
    select_entries,
};
