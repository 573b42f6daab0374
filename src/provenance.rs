//! Where a run's numbers come from, recorded in `summary.json` under `provenance`: the program
//! (version, and the git commit it was built from, with whether the tree had uncommitted
//! changes, when built from a clone), the random-stream version ([`crate::rng::STREAM_VERSION`]),
//! when the run started (UTC, RFC 3339), the host, and the backend that ran it.
//!
//! Captured once per process: [`start`] fixes the start time when a run begins (the command
//! calls it); [`json`] captures then if nothing called [`start`].

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::plan::BackendInfo;

/// The program's version (Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the program was built from (`build.rs`: `git rev-parse HEAD`), when built from a
/// clone with git available.
pub const GIT_COMMIT: Option<&str> = option_env!("OPTSDE_BUILD_GIT_COMMIT");
/// `"true"` when tracked files differed from [`GIT_COMMIT`] at build time (`git status
/// --porcelain --untracked-files=no`), `"false"` when not; absent with [`GIT_COMMIT`].
const GIT_DIRTY: Option<&str> = option_env!("OPTSDE_BUILD_GIT_DIRTY");

/// What is known of this process when the run started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The start time, UTC, RFC 3339 to the second (`2026-12-06T19:55:00Z`).
    pub started: String,
    /// The host name, where the system tells it.
    pub host: Option<String>,
}

static PROVENANCE: OnceLock<Provenance> = OnceLock::new();

/// Fix this process's provenance now (the start time is now); later calls keep the first.
pub fn start() -> &'static Provenance {
    PROVENANCE.get_or_init(|| Provenance { started: rfc3339(SystemTime::now()), host: host_name() })
}

/// The `provenance` block of `summary.json`, for a run on `backend`.
pub fn json(backend: &BackendInfo) -> Value {
    let p = start();
    json!({
        "program": "optsde",
        "version": VERSION,
        "git_commit": GIT_COMMIT,
        "git_dirty": GIT_DIRTY.map(|d| d == "true"),
        "random_stream": crate::rng::STREAM_VERSION,
        "started": p.started,
        "host": p.host,
        "backend": {
            "kind": backend.kind,
            "adapter": backend.adapter,
            "driver": backend.driver,
            "api": backend.api,
        },
    })
}

/// `t` as RFC 3339 in UTC to the second; times before 1970 (a clock set wrong) as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The proleptic Gregorian date of `z` days after 1970-01-01: Howard Hinnant's
/// `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms"), which counts in 400-year
/// eras of 146 097 days starting on March 1 so that the leap day ends the year. Twelve lines
/// instead of a date crate for the one date optsde writes.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The host name: Linux's `/proc/sys/kernel/hostname`, else `COMPUTERNAME` (Windows), else the
/// `hostname` command (macOS, the BSDs); `None` when none answers.
fn host_name() -> Option<String> {
    let clean = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(clean)
        .or_else(|| std::env::var("COMPUTERNAME").ok().and_then(clean))
        .or_else(|| {
            let out = std::process::Command::new("hostname").output().ok()?;
            if out.status.success() { clean(String::from_utf8_lossy(&out.stdout).into_owned()) } else { None }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_match_known_ones() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_955_199), "2000-03-01T23:59:59Z");
        assert_eq!(at(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
