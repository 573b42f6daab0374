//! How optsde writes a file: to a temporary name in the output directory, flushed, then renamed
//! into place, so an interrupted run (or `compare`, `scale`, `bench`) never leaves a half-written
//! file; output directories are created with their parents; JSON is pretty-printed with a
//! trailing newline and non-finite numbers as `null` (never the invalid `NaN`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Create `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "cannot create output directory",
        path: dir.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `dir/.name.tmp-PID`, flush it to disk, and rename it to `dir/name`.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { action, path, source }
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io("cannot create", &tmp))?;
        f.write_all(bytes).map_err(io("cannot write", &tmp))?;
        f.sync_all().map_err(io("cannot write", &tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io("cannot rename a temporary file to", &path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Pretty JSON with a trailing newline. The values written here (a `serde_json::Value`, plain
/// structs with string keys) always serialize, non-finite floats as `null`.
pub(crate) fn json_bytes<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"null".to_vec());
    out.push(b'\n');
    out
}
