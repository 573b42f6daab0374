//! The figures, as SVG and PNG next to the data files, drawn with `plotters` in pure Rust.
//! README's "NumPy files, figures and Python" says what each shows; here:
//!
//! | figures | module |
//! |---------|--------|
//! | a run's `loss`, `moments`, `hist` | [`run`] |
//! | a sweep's `sweep` | [`sweep`] |
//! | a run's `trajectories` (with `record.trajectories`) | [`trajectory`] |
//! | a run's `hist2d` (with `stationary.pairs`) | [`hist2d`] |
//! | `optsde compare`'s `compare`, `compare-order` | [`compare`] |
//! | reading a saved run or sweep back | [`load`] |
//! | the drawing kit the figures share: rendering, styles, axes, legends, markers | `kit` |
//!
//! [`replot`] (`optsde plot DIR`) redraws the figures of a finished (or interrupted) run from
//! its `summary.json`, `moments.csv` and `histograms.json` (and `trajectories.npy` where the run
//! recorded trajectories), and those of a sweep (each point's, and the sweep figure from
//! `sweep.csv`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output;

pub mod compare;
pub mod hist2d;
mod kit;
pub mod load;
pub mod run;
pub mod sweep;
pub mod trajectory;

use load::load_sweep;

pub use crate::output::moments::rows_from_run;
pub use compare::{COMPARE_ORDER_STEM, COMPARE_STEM, CompareFigure, ComparePlots, write_compare_figures};
pub use hist2d::{HIST2D_STEM, Hist2dPlot, write_hist2d_figure};
pub use load::{SavedRun, histograms_from_json, load_run, rows_from_csv, trajectories_from_npy};
pub use run::{Figure, MAX_COORDS, Plots, write_run_figures};
pub use sweep::{SWEEP_STEM, SweepPlot, SweepPoint, write_sweep_figures};
pub use trajectory::{TRAJECTORIES_STEM, TrajectoryPlot, write_trajectory_figure};

/// The names of the figure files a run or a sweep writes into its folder (for
/// [`output::folder::prepare`], which deletes stale ones).
pub fn figure_files() -> Vec<String> {
    let stems = Figure::ALL.map(Figure::stem).into_iter().chain([SWEEP_STEM, TRAJECTORIES_STEM, HIST2D_STEM]);
    stems.flat_map(|s| [format!("{s}.svg"), format!("{s}.png")]).collect()
}

/// Redraw the figures of the run saved in `dir` (`optsde plot DIR`), or of every point and of
/// the sweep when `dir` holds a sweep (a `sweep.csv`; see [`replot_sweep`]).
pub fn replot(dir: &Path) -> Result<Vec<PathBuf>> {
    let kind = output::manifest::read(dir)?.map(|m| m.kind);
    if kind.as_deref() == Some("sweep") || (kind.is_none() && dir.join(output::SWEEP_CSV).is_file()) {
        return replot_sweep(dir);
    }
    let run = load_run(dir)?;
    let mut written = Plots::new(&run.exp, &run.rows, &run.histograms).write(dir)?;
    written.extend(write_trajectory_figure(dir, &run.exp, &run.trajectories)?);
    written.extend(write_hist2d_figure(dir, &run.exp, &run.histograms2d, &run.stationary_mean)?);
    Ok(written)
}

/// Redraw the figures of the sweep saved in `dir` (`sweep.csv` and `point-NNN/`): every point's
/// run figures from its own files, then the sweep figure from `sweep.csv` with the theory of
/// each point's experiment.
pub fn replot_sweep(dir: &Path) -> Result<Vec<PathBuf>> {
    let (keys, mut points, complete) = load_sweep(dir)?;
    let mut written = Vec::new();
    let mut first = None;
    for (i, p) in points.iter_mut().enumerate() {
        let pd = dir.join(output::point_dir(i));
        let run = load_run(&pd)?;
        let plots = Plots::new(&run.exp, &run.rows, &run.histograms);
        written.extend(plots.write(&pd)?);
        written.extend(write_trajectory_figure(&pd, &run.exp, &run.trajectories)?);
        written.extend(write_hist2d_figure(&pd, &run.exp, &run.histograms2d, &run.stationary_mean)?);
        p.theory = plots.theory().loss.clone();
        first.get_or_insert(run.exp);
    }
    let Some(exp) = first else {
        let path = dir.join(output::SWEEP_CSV);
        return Err(Error::Syntax { path: path.display().to_string(), message: "lists no sweep points".into() });
    };
    written.extend(SweepPlot::new(keys, points, &exp, complete).write(dir)?);
    Ok(written)
}
