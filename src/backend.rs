//! Choosing an engine for `backend = auto | gpu | cpu`.

use crate::cpu::{Arith, CpuEngine};
use crate::error::{Error, Result};
use crate::experiment::BackendChoice;
use crate::plan::Engine;

/// Open the engine for a backend choice. `Auto` takes the GPU when a hardware adapter exists,
/// else the CPU, and the returned note says why (no adapter, or only a software rasteriser such
/// as llvmpipe, which runs the same kernels slower than the CPU backend on the same cores);
/// `Gpu` without any adapter is an error, and with a software adapter uses it, with a note when
/// `dim` exceeds [`SOFTWARE_COMPILE_DIM`].
///
/// A bad `OPTSDE_CPU_ARITH` ([`crate::cpu::Arith`]) is an error for every choice, before any
/// adapter is looked for.
pub fn open(choice: BackendChoice, dim: usize) -> Result<(Box<dyn Engine>, Option<String>)> {
    let arith = Arith::from_env()?;
    match choice {
        BackendChoice::Cpu => Ok((Box::new(CpuEngine::with_arith(arith)), None)),
        BackendChoice::Gpu => open_gpu().map(|(engine, soft)| (engine, software_compile_note(soft, dim))),
        BackendChoice::Auto => match open_gpu() {
            Ok(e) if e.1 => Ok((
                Box::new(CpuEngine::with_arith(arith)),
                Some(format!(
                    "only a software GPU adapter was found ({}); using the CPU backend, which is faster on the same cores (backend = \"gpu\" forces the adapter)",
                    e.0.info().adapter
                )),
            )),
            Ok(e) => Ok((e.0, None)),
            Err(Error::NoAdapter { detail }) => Ok((
                Box::new(CpuEngine::with_arith(arith)),
                Some(format!("no GPU adapter found ({detail}); using the CPU backend")),
            )),
            Err(e) => Err(e),
        },
    }
}

/// Largest dimension whose kernels a software adapter compiles in well under a minute. Mesa's
/// lavapipe (22.3) turns every indexed access to a function-local array (a path's state is kept in
/// `array<f32, DIM>`) into a ladder of DIM branches, so its compile time grows with d: measured on
/// the 2-core Xeon, 64 paths × 2 steps of `sgd` took 33 s at d = 64, 130 s (diagonal) and 156 s
/// (dense) at d = 256, and well over 17 minutes at d = 1024. Hardware drivers put such arrays in
/// local memory and compile them quickly.
pub const SOFTWARE_COMPILE_DIM: usize = 64;

/// The note for a software adapter (`soft`) that must compile kernels of dimension `dim`.
pub(crate) fn software_compile_note(soft: bool, dim: usize) -> Option<String> {
    (soft && dim > SOFTWARE_COMPILE_DIM).then(|| {
        format!(
            "d = {dim} on a software GPU adapter: its kernels take minutes to compile (lavapipe \
             branches on every indexed array access; 2 to 3 minutes at d = 256 on 2 cores, longer above); \
             backend = \"cpu\" runs the same model at once"
        )
    })
}

/// The GPU engine and whether its adapter is a software rasteriser.
#[cfg(feature = "gpu")]
pub(crate) fn open_gpu() -> Result<(Box<dyn Engine>, bool)> {
    // A bad OPTSDE_GPU_VARIANT is an error even where no adapter exists (and `auto` would fall
    // back to the CPU): it is checked before the adapter is looked for.
    let variant = crate::env::gpu_variant()?;
    let mut g = crate::gpu::GpuEngine::new()?;
    if let Some((settings, spec)) = &variant {
        g.apply_settings(settings, spec)?;
    }
    let soft = g.is_software();
    Ok((Box::new(g), soft))
}

#[cfg(not(feature = "gpu"))]
pub(crate) fn open_gpu() -> Result<(Box<dyn Engine>, bool)> {
    Err(Error::NoAdapter { detail: "optsde was built without the `gpu` feature".into() })
}

/// Give the process a usable `XDG_RUNTIME_DIR` when it has none (unset, or not a directory):
/// a private `optsde-runtime-<uid>` folder (mode 0700) in the temporary directory. Mesa's Vulkan
/// drivers (lavapipe included) look for one when wgpu creates the instance and print `error:
/// XDG_RUNTIME_DIR is invalid or not set in the environment` otherwise, which reads as an optsde
/// error although nothing is wrong. If the folder cannot be made, the variable is left as it was
/// (Mesa's message is the only effect).
///
/// # Safety
///
/// Call it before the process starts any thread (`main` calls it first): it sets an environment
/// variable, which races with any other thread reading or writing the environment.
pub unsafe fn ensure_runtime_dir() {
    let usable = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if usable {
        return;
    }
    if let Some(dir) = private_runtime_dir() {
        // SAFETY: the caller guarantees that no other thread exists yet.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
    }
}

/// `optsde-runtime-<uid>` in the temporary directory, created with mode 0700 if missing; an
/// existing one only if it is a directory of this user that nobody else can enter. `None` where
/// the user id is unknown (no `/proc/self`: Mesa's Linux drivers are not there either).
#[cfg(unix)]
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("optsde-runtime-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => Some(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let m = std::fs::symlink_metadata(&dir).ok()?;
            (m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0).then_some(dir)
        }
        Err(_) => None,
    }
}

#[cfg(not(unix))]
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    None
}

/// One line per adapter wgpu can see (empty without the `gpu` feature).
pub fn adapters() -> Vec<String> {
    #[cfg(feature = "gpu")]
    {
        crate::gpu::adapters()
    }
    #[cfg(not(feature = "gpu"))]
    {
        Vec::new()
    }
}
