//! The environment variables optsde reads, parsed once per process and validated like the
//! experiment file's values: a bad value is an error that names the variable, the value as set
//! and the valid range, before anything runs (`optsde run`, `compare`, `scale` and `bench` call
//! [`load`] first), never a panic and never silently ignored. README's "Environment variables"
//! lists the same table as [`VARS`].
//!
//! Everything else reads the variables through this module: [`checkpoint_every`],
//! [`cpu_arith_split`] (through `crate::cpu::Arith::from_env`), [`gpu_variant`] (parsed into
//! [`VariantSettings`], which `crate::gpu` applies), [`gpu_validation`]. This module imports no
//! backend, so that every backend can read it. The test-only variables
//! (`OPTSDE_REQUIRE_GPU`, `OPTSDE_BLESS`, ...) are read by the tests themselves and only
//! checked here, so that a value a test would misread also stops the program.

use std::ffi::OsString;
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{Error, Result};

/// How the CPU backend rounds its multiply-adds (`crate::cpu::Arith`).
pub const ARITH_VAR: &str = "OPTSDE_CPU_ARITH";
/// How often a running study rewrites its outputs, in seconds.
pub const CHECKPOINT_VAR: &str = "OPTSDE_CHECKPOINT_SECONDS";
/// Default of [`CHECKPOINT_VAR`].
pub const DEFAULT_CHECKPOINT_SECONDS: f64 = 30.0;
/// Largest [`CHECKPOINT_VAR`]: about 11.6 days, longer than any snapshot interval is useful.
pub const MAX_CHECKPOINT_SECONDS: f64 = 1e6;
/// `1`: create wgpu devices with validation on.
pub const GPU_VALIDATION_VAR: &str = "OPTSDE_GPU_VALIDATION";
/// The GPU kernel variant (`crate::gpu::VariantSettings`).
pub const GPU_VARIANT_VAR: &str = "OPTSDE_GPU_VARIANT";
/// `1`: a missing adapter fails the GPU tests instead of skipping them (tests only).
pub const REQUIRE_GPU_VAR: &str = "OPTSDE_REQUIRE_GPU";
/// `1`: the golden tests rewrite their files (tests only).
pub const BLESS_VAR: &str = "OPTSDE_BLESS";
/// Where a test writes the composed shaders (tests only).
pub const SHADER_DIR_VAR: &str = "OPTSDE_SHADER_DIR";
/// Paths of `cargo bench --bench throughput` (benches only).
pub const BENCH_PATHS_VAR: &str = "OPTSDE_BENCH_PATHS";

/// Every variable: (name, valid values, what it does). README's table says the same.
pub const VARS: &[(&str, &str, &str)] = &[
    (
        CHECKPOINT_VAR,
        "a finite number of seconds >= 0 and <= 1e6 (default 30)",
        "how often a running `optsde run` rewrites its outputs (0: after every chunk segment)",
    ),
    (ARITH_VAR, "fused or split (default fused)", "how the CPU backend rounds the special functions' multiply-adds"),
    (
        GPU_VARIANT_VAR,
        "comma-separated key=value pairs (pack, speculate, private-hist, coef-regs, checks)",
        "force a variant of the GPU kernel, to measure it (checked whatever the backend)",
    ),
    (GPU_VALIDATION_VAR, "0 or 1 (default 0)", "create wgpu devices with validation on (CI sets 1)"),
    (REQUIRE_GPU_VAR, "0 or 1 (default 0)", "tests: a missing adapter fails the GPU tests instead of skipping them"),
    (BLESS_VAR, "0 or 1 (default 0)", "tests: the golden tests rewrite their files"),
    (SHADER_DIR_VAR, "a non-empty directory path", "tests: where the composed shaders are written for reading"),
    (BENCH_PATHS_VAR, "an integer >= 1 (default 1048576)", "`cargo bench`: paths of the throughput bench"),
];

/// The parsed variables.
#[derive(Clone, Debug)]
pub struct Env {
    /// [`CHECKPOINT_VAR`].
    pub checkpoint_every: Duration,
    /// [`ARITH_VAR`]: true for `split` (`crate::cpu::Arith::Split`), false for `fused`.
    pub cpu_arith_split: bool,
    /// [`GPU_VARIANT_VAR`]'s settings and the text they came from (named after the driver).
    pub gpu_variant: Option<(VariantSettings, String)>,
    /// [`GPU_VALIDATION_VAR`].
    pub gpu_validation: bool,
    /// `OPTSDE_*` variables that are none of [`VARS`] (a misspelt name, say): warned about.
    pub unknown: Vec<String>,
}

/// The variables of this process, parsed on the first call; a bad value is the same error on
/// every call. The first call also warns on stderr about `OPTSDE_*` variables optsde does not
/// read, which are most likely misspelt.
pub fn load() -> Result<&'static Env> {
    static ENV: OnceLock<std::result::Result<Env, Stored>> = OnceLock::new();
    let parsed = ENV.get_or_init(|| {
        let vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let env = parse(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()), &names(&vars));
        match env {
            Ok(env) => {
                for name in &env.unknown {
                    eprintln!(
                        "warning: {name} is set but optsde reads no such variable (known: {}); ignored",
                        VARS.iter().map(|v| v.0).collect::<Vec<_>>().join(", ")
                    );
                }
                Ok(env)
            }
            Err(e) => Err(Stored::from(e)),
        }
    });
    parsed.as_ref().map_err(Stored::error)
}

/// How often a running study rewrites its outputs ([`CHECKPOINT_VAR`], default 30 s). Where
/// the variable is invalid (which [`load`] has already reported), the default.
pub fn checkpoint_every() -> Duration {
    load().map_or(Duration::from_secs_f64(DEFAULT_CHECKPOINT_SECONDS), |e| e.checkpoint_every)
}

/// Whether the CPU backend splits its multiply-adds ([`ARITH_VAR`] = `split`).
pub fn cpu_arith_split() -> Result<bool> {
    load().map(|e| e.cpu_arith_split)
}

/// A value of [`ARITH_VAR`]: true for `split`, false for `fused` (`crate::cpu::Arith::parse`).
pub fn parse_cpu_arith(value: &str) -> Result<bool> {
    match value.trim() {
        "fused" => Ok(false),
        "split" => Ok(true),
        _ => Err(Error::invalid(ARITH_VAR, format!("\"{value}\""), format!("must be {}", valid(ARITH_VAR)))),
    }
}

/// The forced GPU kernel variant ([`GPU_VARIANT_VAR`]) and its text, if set.
pub fn gpu_variant() -> Result<Option<(VariantSettings, String)>> {
    load().map(|e| e.gpu_variant.clone())
}

/// Whether wgpu devices are created with validation on ([`GPU_VALIDATION_VAR`]).
pub fn gpu_validation() -> bool {
    load().is_ok_and(|e| e.gpu_validation)
}

/// The `OPTSDE_*` names among `vars`.
fn names(vars: &[(OsString, OsString)]) -> Vec<String> {
    vars.iter()
        .filter_map(|(k, _)| k.to_str())
        .filter(|k| k.starts_with("OPTSDE_") && !k.starts_with(BUILD_PREFIX))
        .map(str::to_string)
        .collect()
}

/// build.rs's variables (`OPTSDE_BUILD_GIT_COMMIT`, ...), compiled into the binary; `cargo run`
/// and `cargo test` also set them in the environment, so they are not misspelt run-time ones.
const BUILD_PREFIX: &str = "OPTSDE_BUILD_";

/// Parse the variables that `get` returns (by name; `None` when unset); `set` names every
/// `OPTSDE_*` variable present, for the unknown ones. Public for the tests: the process's own
/// variables go through [`load`].
pub fn parse(get: impl Fn(&str) -> Option<OsString>, set: &[String]) -> Result<Env> {
    let text = |name: &str| -> Result<Option<String>> {
        match get(name) {
            None => Ok(None),
            Some(v) => match v.into_string() {
                Ok(s) => Ok(Some(s)),
                Err(v) => {
                    Err(Error::invalid(name, format!("{v:?}"), format!("is not valid UTF-8; must be {}", valid(name))))
                }
            },
        }
    };
    let checkpoint_every = match text(CHECKPOINT_VAR)? {
        None => Duration::from_secs_f64(DEFAULT_CHECKPOINT_SECONDS),
        Some(s) => match s.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() && (0.0..=MAX_CHECKPOINT_SECONDS).contains(&secs) => {
                Duration::from_secs_f64(secs)
            }
            _ => {
                return Err(Error::invalid(
                    CHECKPOINT_VAR,
                    format!("\"{s}\""),
                    format!("must be {}", valid(CHECKPOINT_VAR)),
                ));
            }
        },
    };
    let cpu_arith_split = match text(ARITH_VAR)? {
        None => false,
        Some(s) => parse_cpu_arith(&s)?,
    };
    let gpu_variant = match text(GPU_VARIANT_VAR)? {
        None => None,
        // The whole value in the message, beside the part that is wrong.
        Some(s) => match VariantSettings::parse(&s) {
            Ok(v) => Some((v, s)),
            Err(e) => return Err(Error::invalid(GPU_VARIANT_VAR, format!("\"{s}\""), e.to_string())),
        },
    };
    let gpu_validation = switch(GPU_VALIDATION_VAR, text(GPU_VALIDATION_VAR)?)?;
    switch(REQUIRE_GPU_VAR, text(REQUIRE_GPU_VAR)?)?;
    switch(BLESS_VAR, text(BLESS_VAR)?)?;
    if let Some(s) = text(SHADER_DIR_VAR)?.filter(|s| s.trim().is_empty()) {
        return Err(Error::invalid(SHADER_DIR_VAR, format!("\"{s}\""), format!("must be {}", valid(SHADER_DIR_VAR))));
    }
    if let Some(s) = text(BENCH_PATHS_VAR)?
        && !s.trim().parse::<u64>().is_ok_and(|n| n >= 1)
    {
        return Err(Error::invalid(BENCH_PATHS_VAR, format!("\"{s}\""), format!("must be {}", valid(BENCH_PATHS_VAR))));
    }
    let unknown = set.iter().filter(|n| !VARS.iter().any(|v| v.0 == n.as_str())).cloned().collect();
    Ok(Env { checkpoint_every, cpu_arith_split, gpu_variant, gpu_validation, unknown })
}

/// A 0/1 switch; unset is 0.
fn switch(name: &str, value: Option<String>) -> Result<bool> {
    match value.as_deref().map(str::trim) {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(_) => {
            Err(Error::invalid(name, format!("\"{}\"", value.unwrap_or_default()), format!("must be {}", valid(name))))
        }
    }
}

/// The valid values of variable `name`, as [`VARS`] states them.
fn valid(name: &str) -> &'static str {
    VARS.iter().find(|v| v.0 == name).map_or("see README's Environment variables", |v| v.1)
}

/// A parse error kept to give the same error on every call of [`load`] ([`Error`] is not
/// `Clone`): the two kinds [`parse`] makes.
#[derive(Debug)]
enum Stored {
    Invalid { field: String, value: String, expected: String },
    UnknownName { field: String, value: String, valid: String },
}

impl Stored {
    fn from(e: Error) -> Stored {
        match e {
            Error::Invalid { field, value, expected } => Stored::Invalid { field, value, expected },
            Error::UnknownName { field, value, valid } => Stored::UnknownName { field, value, valid },
            other => Stored::Invalid { field: "environment".into(), value: String::new(), expected: other.to_string() },
        }
    }

    fn error(&self) -> Error {
        match self {
            Stored::Invalid { field, value, expected } => {
                Error::Invalid { field: field.clone(), value: value.clone(), expected: expected.clone() }
            }
            Stored::UnknownName { field, value, valid } => {
                Error::UnknownName { field: field.clone(), value: value.clone(), valid: valid.clone() }
            }
        }
    }
}

/// Kernel variants forced by hand, for measuring them on an adapter (`optsde bench` with
/// `OPTSDE_GPU_VARIANT=pack=2,checks=off`, say). Each field is `None` where the setting leaves
/// the engine's own choice; `Some(None)` is an explicit `auto`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariantSettings {
    /// `pack=auto|1|2|4|8`: paths per invocation of the d = 1 loop ([`crate::gpu::GpuEngine::set_pack_width`]).
    pub pack: Option<Option<usize>>,
    /// `speculate=auto|on|off` ([`crate::gpu::GpuEngine::set_speculation`]).
    pub speculate: Option<Option<bool>>,
    /// `private-hist=auto|on|off` ([`crate::gpu::GpuEngine::set_private_hist`]).
    pub private_hist: Option<Option<bool>>,
    /// `coef-regs=auto|on|off` ([`crate::gpu::GpuEngine::set_coef_registers`]).
    pub coef_regs: Option<Option<bool>>,
    /// `checks=auto|on|off` ([`crate::gpu::GpuEngine::set_runtime_checks`]).
    pub checks: Option<Option<bool>>,
}

impl VariantSettings {
    /// Parse comma-separated `key=value` pairs (an empty string sets nothing). An unknown key or
    /// value is an error that names it and the valid ones.
    pub fn parse(spec: &str) -> Result<Self> {
        const KEYS: &str = "pack, speculate, private-hist, coef-regs, checks";
        let mut v = VariantSettings::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) =
                item.split_once('=').map(|(k, v)| (k.trim(), v.trim())).ok_or_else(|| Error::Invalid {
                    field: GPU_VARIANT_VAR.into(),
                    value: format!("\"{item}\""),
                    expected: format!("comma-separated key=value pairs; keys: {KEYS}"),
                })?;
            let bad = |expected: &str| Error::Invalid {
                field: format!("{GPU_VARIANT_VAR} {key}"),
                value: format!("\"{value}\""),
                expected: expected.into(),
            };
            let switch = || -> Result<Option<bool>> {
                match value {
                    "on" => Ok(Some(true)),
                    "off" => Ok(Some(false)),
                    "auto" => Ok(None),
                    _ => Err(bad("auto, on or off")),
                }
            };
            match key {
                "pack" => {
                    v.pack = Some(match value {
                        "auto" => None,
                        _ => match value.parse::<usize>() {
                            Ok(w) if crate::shader::PACK_WIDTHS.contains(&w) => Some(w),
                            _ => {
                                return Err(bad(&format!(
                                    "auto or paths per invocation, one of {:?}",
                                    crate::shader::PACK_WIDTHS
                                )));
                            }
                        },
                    })
                }
                "speculate" => v.speculate = Some(switch()?),
                "private-hist" => v.private_hist = Some(switch()?),
                "coef-regs" => v.coef_regs = Some(switch()?),
                "checks" => v.checks = Some(switch()?),
                _ => {
                    return Err(Error::UnknownName {
                        field: format!("{GPU_VARIANT_VAR} key"),
                        value: key.into(),
                        valid: KEYS.into(),
                    });
                }
            }
        }
        Ok(v)
    }
}
