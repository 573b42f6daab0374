//! Records the git commit optsde is built from, for the provenance in `summary.json`
//! (`src/provenance.rs`): `OPTSDE_BUILD_GIT_COMMIT` (`git rev-parse HEAD`) and
//! `OPTSDE_BUILD_GIT_DIRTY` (`true` when `git status --porcelain --untracked-files=no` lists
//! anything). Outside a clone, or without git, neither is set and the provenance says null:
//! this script never fails the build.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Rerun when the commit or the index moves, and when the sources change (for the dirty
    // flag); only existing paths, since cargo reruns on every build for a missing one.
    for p in ["build.rs", "Cargo.toml", "Cargo.lock", "src", "shaders", "examples"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| c.len() >= 40) else { return };
    let mut watched = vec!["HEAD".to_string(), "index".to_string(), "packed-refs".to_string()];
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(head_ref);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rustc-env=OPTSDE_BUILD_GIT_COMMIT={commit}");
    if let Some(status) = git(&["--no-optional-locks", "status", "--porcelain", "--untracked-files=no"]) {
        println!("cargo:rustc-env=OPTSDE_BUILD_GIT_DIRTY={}", !status.is_empty());
    }
}
