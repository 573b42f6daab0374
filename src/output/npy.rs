//! The NumPy `.npy` copies of a run's statistics, so that `np.load` needs no parsing code:
//! `moments.npy`, `hist_counts.npy`, `hist_edges.npy` and `hist_outside.npy`, and with
//! `record.trajectories` the paths' states `trajectories.npy` and their steps
//! `trajectory_steps.npy` (README's "NumPy files, figures and Python" gives their dtypes and
//! shapes). `moments.npy`'s rows are the [`MomentRow`]s that `moments.csv` prints, so both hold
//! the same numbers.
//!
//! The files are written with [`npyz`], the maintained fork of `npy-rs`: it writes the header
//! (format 1.0, `<f8`/`<u8`, C order, padded to 64 bytes) and the data without pulling in an
//! array library, and its reader lets the tests check the files without Python.

use npyz::WriterBuilder as _;

use super::moments::{LEAD_COLUMNS, MomentRow, rows_from_run};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::plan::RunResult;

/// The file names written by [`write_npy`].
pub const MOMENTS_NPY: &str = "moments.npy";
pub const HIST_COUNTS_NPY: &str = "hist_counts.npy";
pub const HIST_EDGES_NPY: &str = "hist_edges.npy";
pub const HIST_OUTSIDE_NPY: &str = "hist_outside.npy";
/// The states of the first `record.trajectories` paths: float32 (records, paths, dim).
pub const TRAJECTORIES_NPY: &str = "trajectories.npy";
/// The record step of each row of [`TRAJECTORIES_NPY`]: uint64 (records,).
pub const TRAJECTORY_STEPS_NPY: &str = "trajectory_steps.npy";

/// The `.npy` files of a run: (name, contents); the trajectories' two when it records any.
pub fn npy_files(exp: &Experiment, r: &RunResult) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let rows: Vec<Vec<f64>> = rows_from_run(exp, r).iter().map(MomentRow::values).collect();
    let cols = LEAD_COLUMNS.len() + 2 * exp.dim;
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    let mut files = vec![(MOMENTS_NPY, npy_bytes(&[(flat.len() / cols) as u64, cols as u64], &flat)?)];

    let h = &r.histograms;
    let bins = h.first().map_or(0, |h| h.counts.len());
    if let Some(bad) = h.iter().find(|x| x.counts.len() != bins) {
        return Err(Error::invalid(
            format!("histogram {}", bad.name),
            format!("{} bins", bad.counts.len()),
            format!("all histograms must have the same number of bins ({bins}) to form one array"),
        ));
    }
    let n = h.len() as u64;
    let counts: Vec<u64> = h.iter().flat_map(|x| x.counts.iter().copied()).collect();
    files.push((HIST_COUNTS_NPY, npy_bytes(&[n, bins as u64], &counts)?));
    let edges: Vec<f64> = h.iter().flat_map(|x| bin_edges(x.lo, x.hi, bins)).collect();
    files.push((HIST_EDGES_NPY, npy_bytes(&[n, bins as u64 + 1], &edges)?));
    let outside: Vec<u64> = h.iter().flat_map(|x| [x.underflow, x.overflow]).collect();
    files.push((HIST_OUTSIDE_NPY, npy_bytes(&[n, 2], &outside)?));
    let t = &r.trajectories;
    if !t.is_empty() {
        let shape = [t.records() as u64, t.paths as u64, t.dim as u64];
        files.push((TRAJECTORIES_NPY, npy_bytes(&shape, &t.x)?));
        files.push((TRAJECTORY_STEPS_NPY, npy_bytes(&[t.records() as u64], &t.steps)?));
    }
    Ok(files)
}

/// The `bins + 1` edges of a regular histogram on [lo, hi] (the last one is exactly `hi`).
pub fn bin_edges(lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    (0..=bins).map(|j| if j == bins { hi } else { lo + (hi - lo) * j as f64 / bins as f64 }).collect()
}

/// An `.npy` file (C order) of `data` with `shape`, in memory.
pub fn npy_bytes<T: npyz::AutoSerialize + Copy>(shape: &[u64], data: &[T]) -> Result<Vec<u8>> {
    debug_assert_eq!(shape.iter().product::<u64>(), data.len() as u64);
    let mut out = Vec::new();
    let io = |source| Error::Io { action: "cannot encode .npy data for", path: shape_path(shape), source };
    let mut w = npyz::WriteOptions::<T>::new().default_dtype().shape(shape).writer(&mut out).begin_nd().map_err(io)?;
    w.extend(data.iter().copied()).map_err(io)?;
    w.finish().map_err(io)?;
    Ok(out)
}

/// A stand-in path for messages about an in-memory array.
fn shape_path(shape: &[u64]) -> std::path::PathBuf {
    format!("an array of shape {shape:?}").into()
}
