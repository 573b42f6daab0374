//! `manifest.json`: what makes a folder's files one snapshot. Each file of a run is written
//! atomically, but a run killed between two files would leave a mixed set (a summary of one
//! snapshot beside the moments of the one before). So every write of a run's files ends with
//! the manifest, which names each file with its length and SHA-256; a reader checks the files
//! against it ([`verify`]) and refuses a folder whose files disagree with it — or that has none:
//! then the run was killed before its first snapshot was whole. The manifest also says whose
//! files these are (`kind`, `name`), which [`super::folder`] uses to tell a rerun of the same
//! experiment from another experiment's folder. So that a folder is claimed before its first
//! data file lands, the first write begins with a manifest that lists no files ([`Manifest::claim`]);
//! readers refuse it (no snapshot was whole yet), a rerun of the same experiment replaces it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::files::{json_bytes, write_atomic};
use crate::error::{Error, Result};

/// The file name of a folder's manifest.
pub const MANIFEST: &str = "manifest.json";

/// The format tag of [`Manifest`]; readers refuse others.
const FORMAT: &str = "optsde-output/1";

/// One written file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the folder (`point-000/manifest.json` for a sweep's points).
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A folder's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// `run` or `sweep`.
    pub kind: String,
    /// The experiment's name.
    pub name: String,
    /// False for a snapshot taken while running.
    pub complete: bool,
    pub files: Vec<Entry>,
}

impl Manifest {
    pub fn new(kind: &str, name: &str, complete: bool) -> Self {
        Manifest { format: FORMAT.into(), kind: kind.into(), name: name.into(), complete, files: Vec::new() }
    }

    /// Before the first data file of a write into `dir`: where `dir` has no manifest yet, write
    /// one that lists no files, so a run killed before the snapshot is whole leaves a folder
    /// that says whose it is (a rerun of the same experiment replaces it) and that readers
    /// refuse. Call it on a manifest that lists nothing yet.
    pub fn claim(&self, dir: &Path) -> Result<()> {
        debug_assert!(self.files.is_empty());
        if dir.join(MANIFEST).exists() { Ok(()) } else { self.finish(dir).map(drop) }
    }

    /// Write `bytes` as `dir/name` (atomically) and list it.
    pub fn write_file(&mut self, dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(dir, name, bytes)?;
        self.list(name, bytes);
        Ok(())
    }

    /// List a file already written with these contents.
    pub fn list(&mut self, name: &str, bytes: &[u8]) {
        self.files.push(Entry { name: name.into(), bytes: bytes.len() as u64, sha256: sha256_hex(bytes) });
    }

    /// Write the manifest itself (last); returns its bytes, for a parent manifest to list.
    pub fn finish(&self, dir: &Path) -> Result<Vec<u8>> {
        let bytes = json_bytes(self);
        write_atomic(dir, MANIFEST, &bytes)?;
        Ok(bytes)
    }
}

/// The hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A folder that is not one whole snapshot.
fn mixed(dir: &Path, reason: String) -> Error {
    Error::MixedOutputs { dir: dir.to_path_buf(), reason }
}

/// Read `dir`'s manifest, if any (`Ok(None)` when there is none; an error when it is unreadable).
pub fn read(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { action: "cannot read", path, source }),
    };
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Syntax { path: path.display().to_string(), message: e.to_string() })?;
    if m.format != FORMAT {
        return Err(mixed(dir, format!("{MANIFEST} has format `{}`, this optsde reads `{FORMAT}`", m.format)));
    }
    Ok(Some(m))
}

/// Check that `dir` holds one whole snapshot: a manifest, and every file it lists with the
/// listed length and hash (a sweep's point manifests are checked in turn by loading the point).
pub fn verify(dir: &Path) -> Result<Manifest> {
    let Some(m) = read(dir)? else {
        return Err(mixed(
            dir,
            format!(
                "there is no {MANIFEST}: the files were written by an optsde older than the manifest, or are \
                 not optsde's; rerun the experiment"
            ),
        ));
    };
    if m.files.is_empty() {
        return Err(mixed(
            dir,
            format!(
                "{MANIFEST} lists no files: the run was stopped before its first snapshot was whole; rerun the \
                 experiment"
            ),
        ));
    }
    for e in &m.files {
        let path: PathBuf = dir.join(&e.name);
        let bytes = std::fs::read(&path)
            .map_err(|_| mixed(dir, format!("{} is listed in {MANIFEST} but cannot be read (deleted?)", e.name)))?;
        if bytes.len() as u64 != e.bytes || sha256_hex(&bytes) != e.sha256 {
            return Err(mixed(
                dir,
                format!(
                    "{} is not the file {MANIFEST} lists ({} bytes now, {} listed): the run was stopped \
                     while writing a snapshot, so the files come from different snapshots; rerun it",
                    e.name,
                    bytes.len(),
                    e.bytes
                ),
            ));
        }
    }
    Ok(m)
}
