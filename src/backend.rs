//! Choosing an engine for `backend = auto | gpu | cpu`.

use crate::cpu::CpuEngine;
use crate::error::{Error, Result};
use crate::plan::Engine;
use crate::spec::BackendChoice;

/// Open the engine for a backend choice. `Auto` takes the GPU when an adapter exists, else the
/// CPU, and the returned note says so; `Gpu` without an adapter is an error.
pub fn open(choice: BackendChoice) -> Result<(Box<dyn Engine>, Option<String>)> {
    match choice {
        BackendChoice::Cpu => Ok((Box::new(CpuEngine::new()), None)),
        BackendChoice::Gpu => open_gpu().map(|e| (e, None)),
        BackendChoice::Auto => match open_gpu() {
            Ok(e) => Ok((e, None)),
            Err(Error::NoAdapter { detail }) => Ok((
                Box::new(CpuEngine::new()),
                Some(format!("no GPU adapter found ({detail}); using the CPU backend")),
            )),
            Err(e) => Err(e),
        },
    }
}

#[cfg(feature = "gpu")]
fn open_gpu() -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::gpu::GpuEngine::new()?))
}

#[cfg(not(feature = "gpu"))]
fn open_gpu() -> Result<Box<dyn Engine>> {
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
