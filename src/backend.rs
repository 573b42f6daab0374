//! Choosing an engine for `backend = auto | gpu | cpu`.

use crate::cpu::{Arith, CpuEngine};
use crate::error::{Error, Result};
use crate::experiment::BackendChoice;
use crate::plan::Engine;

/// Open the engine for a backend choice. `Auto` takes the GPU when a hardware adapter exists,
/// else the CPU, and the returned note says why (no adapter, or only a software rasteriser such
/// as llvmpipe, which runs the same kernels slower than the CPU backend on the same cores);
/// `Gpu` without any adapter is an error, and with a software adapter uses it.
///
/// A bad `OPTSDE_CPU_ARITH` ([`crate::cpu::Arith`]) is an error for every choice, before any
/// adapter is looked for.
pub fn open(choice: BackendChoice) -> Result<(Box<dyn Engine>, Option<String>)> {
    let arith = Arith::from_env()?;
    match choice {
        BackendChoice::Cpu => Ok((Box::new(CpuEngine::with_arith(arith)), None)),
        BackendChoice::Gpu => open_gpu().map(|e| (e.0, None)),
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
