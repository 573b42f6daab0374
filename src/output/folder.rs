//! An output folder before a run writes into it: temporaries that a killed run left are removed;
//! a folder that holds another experiment's outputs is refused (unless forced, which deletes
//! what optsde wrote there and nothing else); a rerun of the same experiment — the same kind
//! (run or sweep) and name in its [`MANIFEST`] — deletes its own old files first, so nothing
//! stale (a figure that `--no-plots` would not redraw, a point a smaller sweep no longer has)
//! survives beside the new ones.

use std::path::{Path, PathBuf};

use super::manifest::{self, MANIFEST};
use super::moments::MOMENTS;
use super::npy::{
    HIST_COUNTS_NPY, HIST_EDGES_NPY, HIST_OUTSIDE_NPY, MOMENTS_NPY, TRAJECTORIES_NPY, TRAJECTORY_STEPS_NPY,
};
use super::run::{HISTOGRAMS, HISTOGRAMS2D};
use super::summary::SUMMARY;
use super::sweep::SWEEP_CSV;
use crate::error::{Error, Result};
use crate::spec::EXPERIMENT_TOML;

/// What is about to be written into a folder.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    /// `run` or `sweep`.
    pub kind: &'a str,
    pub name: &'a str,
}

/// The data files optsde writes into a run's folder.
pub const DATA_FILES: [&str; 12] = [
    SUMMARY,
    EXPERIMENT_TOML,
    MOMENTS,
    HISTOGRAMS,
    HISTOGRAMS2D,
    MOMENTS_NPY,
    HIST_COUNTS_NPY,
    HIST_EDGES_NPY,
    HIST_OUTSIDE_NPY,
    TRAJECTORIES_NPY,
    TRAJECTORY_STEPS_NPY,
    MANIFEST,
];

/// Make `dir` ready for `owner`'s outputs. `other_files` are further names optsde writes there
/// (figures, the experiment file), deleted with the data files.
pub fn prepare(dir: &Path, owner: Owner<'_>, force: bool, other_files: &[String]) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let ours = ours_in(dir, other_files);
    remove_temporaries(dir);
    if ours.is_empty() {
        return Ok(());
    }
    let previous = manifest::read(dir).ok().flatten();
    let same = previous.as_ref().is_some_and(|m| m.kind == owner.kind && m.name == owner.name);
    if !same && !force {
        let whose = match &previous {
            Some(m) => format!("the outputs of another experiment ({} \"{}\")", m.kind, m.name),
            None => format!(
                "optsde outputs without a {MANIFEST} (written by an optsde older than the manifest: a run claims \
                 its folder with one before its first data file)"
            ),
        };
        let listed: Vec<String> = ours.iter().map(|p| display_name(dir, p)).collect();
        return Err(Error::OutputInUse {
            dir: dir.to_path_buf(),
            reason: format!(
                "this output folder holds {whose}; choose another --out, or give --force to delete what optsde \
                 wrote there ({}) and write {} \"{}\" instead",
                listed.join(", "),
                owner.kind,
                owner.name
            ),
        });
    }
    for p in &ours {
        let removed = if p.is_dir() { clear_point(p, other_files) } else { std::fs::remove_file(p) };
        removed.map_err(|source| Error::Io { action: "cannot delete the old output", path: p.clone(), source })?;
    }
    Ok(())
}

/// The files and sweep point folders in `dir` that optsde writes.
fn ours_in(dir: &Path, other_files: &[String]) -> Vec<PathBuf> {
    let mut names: Vec<String> = DATA_FILES.iter().map(|s| s.to_string()).collect();
    names.push(SWEEP_CSV.into());
    names.extend(other_files.iter().cloned());
    let mut found: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).filter(|p| p.is_file()).collect();
    found.extend(point_dirs(dir));
    found
}

/// `point-NNN` folders.
fn point_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.strip_prefix("point-").is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                })
        })
        .collect();
    dirs.sort();
    dirs
}

/// Delete a sweep point's files, then the folder if nothing else is left in it.
fn clear_point(dir: &Path, other_files: &[String]) -> std::io::Result<()> {
    remove_temporaries(dir);
    for p in ours_in(dir, other_files) {
        if p.is_file() {
            std::fs::remove_file(&p)?;
        }
    }
    if std::fs::read_dir(dir)?.next().is_none() {
        std::fs::remove_dir(dir)?;
    }
    Ok(())
}

/// Delete the `.NAME.tmp-PID` files that a killed writer left (see [`super::files`]), here and in
/// the sweep point folders.
fn remove_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if p.is_file() && name.starts_with('.') && name.contains(".tmp-") {
            let _ = std::fs::remove_file(&p);
        }
    }
    for d in point_dirs(dir) {
        remove_temporaries(&d);
    }
}

fn display_name(dir: &Path, p: &Path) -> String {
    let n = p.strip_prefix(dir).unwrap_or(p).display().to_string();
    if p.is_dir() { format!("{n}/") } else { n }
}
