//! The files a run and a sweep write, and the short reports printed after them. What each file
//! holds is README's "Outputs" (and "NumPy files, figures and Python"); here is where each is
//! written:
//!
//! | file | module |
//! |------|--------|
//! | `summary.json` | [`summary`] |
//! | `moments.csv`, and [`MomentRow`], the row it shares with `moments.npy` and the figures | [`moments`] |
//! | `histograms.json`, `histograms2d.json`, and the run's whole set of files ([`write_outputs`]) | [`run`] |
//! | the `.npy` copies | [`npy`] |
//! | `sweep.csv` and the `point-NNN/` directories | [`sweep`] |
//! | the text printed after a run or a sweep | [`human`] |
//! | `manifest.json`: the files of one snapshot, checked by readers | [`manifest`] |
//! | an output folder made ready: stale files, other experiments' folders | [`folder`] |
//! | the warnings of a result (divergence, unreliable SE, not converged) | [`checks`] |
//! | atomic writes, output directories, pretty JSON (for `compare`, `scale` and `bench` too) | [`files`] |
//!
//! Reading the files back (`optsde plot`) is [`crate::plot`]'s `load`.

pub mod checks;
pub mod files;
pub mod folder;
pub mod human;
pub mod manifest;
pub mod moments;
pub mod npy;
pub mod run;
pub mod summary;
pub mod sweep;

pub use checks::{all_diverged, warnings};
pub use folder::Owner;
pub use human::{human_summary, sweep_summary};
pub use manifest::MANIFEST;
pub use moments::{MOMENTS, MomentRow, moments_csv};
pub use run::{HISTOGRAMS, HISTOGRAMS2D, write_outputs};
pub use summary::{SUMMARY, summary_json};
pub use sweep::{SWEEP_CSV, point_dir, sweep_csv, write_sweep};
