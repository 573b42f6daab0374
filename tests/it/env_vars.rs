//! Environment variables (issue 23): parsed once, validated like the file's values. Every bad
//! value stops `run`, `compare`, `scale` and `bench` before any work, with exit status 1 and a
//! message naming the variable, the value and the valid range; never a panic.

use crate::common::TempDir;

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use optsde::env;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// The reference quadratic, tiny.
const TINY: &str = "[model]\nname = 'sgd'\neta = 1e-3\n[objective]\nname = 'quadratic'\nh = [1, 2]\n\
                    [noise]\nname = 'gaussian'\nsigma = [1, 2]\n[run]\npaths = 512\nsteps = 40\n";

/// (variable, bad value, parts of the message besides the two).
const BAD: &[(&str, &str, &[&str])] = &[
    ("OPTSDE_CHECKPOINT_SECONDS", "inf", &["finite", "<= 1e6"]),
    ("OPTSDE_CHECKPOINT_SECONDS", "nan", &["finite"]),
    ("OPTSDE_CHECKPOINT_SECONDS", "abc", &[">= 0"]),
    ("OPTSDE_CHECKPOINT_SECONDS", "-1", &[">= 0"]),
    ("OPTSDE_CHECKPOINT_SECONDS", "1e7", &["<= 1e6"]),
    ("OPTSDE_CHECKPOINT_SECONDS", "", &["finite"]),
    ("OPTSDE_CPU_ARITH", "fma", &["fused or split"]),
    ("OPTSDE_GPU_VARIANT", "foo=1", &["pack, speculate, private-hist, coef-regs, checks"]),
    ("OPTSDE_GPU_VARIANT", "pack=3", &["[1, 2, 4, 8]"]),
    ("OPTSDE_GPU_VALIDATION", "yes", &["0 or 1"]),
    ("OPTSDE_REQUIRE_GPU", "true", &["0 or 1"]),
    ("OPTSDE_BLESS", "2", &["0 or 1"]),
    ("OPTSDE_BENCH_PATHS", "0", &["integer >= 1"]),
];

/// Each bad value, for each command that runs anything (on the CPU, so no adapter is needed;
/// the GPU variable is an error there too).
#[test]
fn bad_values_stop_every_command_before_any_work() {
    let tmp = TempDir::new("env");
    let f = tmp.file("tiny.toml", TINY);
    let file = f.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["run", file, "--backend", "cpu", "--out", o, "--quiet", "--no-plots"],
        &["compare", file, "--backend", "cpu", "--out", o, "--quiet", "--no-plots"],
        &["scale", file, "--rule", "signsgd", "--backend", "cpu", "--out", o, "--quiet"],
        &["bench", "--backend", "cpu", "--paths", "512", "--steps", "10", "--baselines", "none", "--out", o],
    ];
    for (var, value, parts) in BAD {
        for args in commands {
            let r = Command::new(BIN).args(args).env(var, value).output().expect("the optsde binary runs");
            let err = String::from_utf8_lossy(&r.stderr);
            let what = format!("{var}={value:?} optsde {}", args[0]);
            assert_eq!(r.status.code(), Some(1), "{what}: {err}");
            assert!(!err.contains("panicked"), "{what}: {err}");
            assert!(err.contains(var) && err.contains(&format!("\"{value}\"")), "{what}: {err}");
            for p in *parts {
                assert!(err.contains(p), "{what}: no {p:?} in {err}");
            }
            assert!(!out.exists(), "{what}: wrote {}", out.display());
        }
    }
}

/// Good values parse to what the program uses; unknown OPTSDE_ names are reported, not errors.
#[test]
fn good_values_parse() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    };
    let e = env::parse(vars(&[]), &[]).unwrap();
    assert_eq!(e.checkpoint_every, Duration::from_secs(30));
    assert!(!e.gpu_validation && e.unknown.is_empty());
    let set = ["OPTSDE_CHECKPOINT_SECONDS".to_string(), "OPTSDE_CHECKPOINT_SECOND".to_string()];
    let pairs =
        &[("OPTSDE_CHECKPOINT_SECONDS", " 0.5 "), ("OPTSDE_GPU_VALIDATION", "1"), ("OPTSDE_CPU_ARITH", "split")];
    let e = env::parse(vars(pairs), &set).unwrap();
    assert_eq!(e.checkpoint_every, Duration::from_millis(500));
    assert!(e.gpu_validation);
    assert!(e.cpu_arith_split);
    assert_eq!(e.unknown, ["OPTSDE_CHECKPOINT_SECOND"]);
    let e = env::parse(vars(&[("OPTSDE_CHECKPOINT_SECONDS", "0")]), &[]).unwrap();
    assert_eq!(e.checkpoint_every, Duration::ZERO);
    let e = env::parse(vars(&[("OPTSDE_CHECKPOINT_SECONDS", "1e6")]), &[]).unwrap();
    assert_eq!(e.checkpoint_every, Duration::from_secs(1_000_000));
    // Every variable in the table is documented in README's table.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (name, _, _) in env::VARS {
        assert!(readme.contains(&format!("| `{name}` |")), "README's Environment variables lacks {name}");
    }
}
