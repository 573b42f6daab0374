//! The CPU backend: one twin per WGSL kernel (same name, same bindings order), no wgpu.

pub mod advance;
pub mod rng_words;

use crate::error::Result;
use crate::layout::{Params, Upload, partial_words};
use crate::plan::{BackendInfo, Engine, Sink};
use advance::{KernelConsts, WG};

/// Runs plans on all cores with rayon.
#[derive(Default)]
pub struct CpuEngine {
    state: Vec<f32>,
    partials: Vec<f32>,
    hist: Vec<u32>,
}

impl CpuEngine {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The CPU model name from /proc/cpuinfo where available.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

impl Engine for CpuEngine {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "cpu".into(),
            adapter: cpu_name(),
            driver: format!("{} threads", rayon::current_num_threads()),
            api: "rayon".into(),
        }
    }

    fn max_chunk(&self, dim: usize) -> u64 {
        // Keep the chunk state near 64 MiB.
        let paths = (64u64 << 20) / (4 * 3 * dim as u64);
        (paths / WG as u64).max(1) * WG as u64
    }

    fn run_chunk(&mut self, k: &KernelConsts, up: &Upload, segs: &[Params], sink: &mut Sink<'_>) -> Result<()> {
        let Some(first) = segs.first() else { return Ok(()) };
        let n_wg = (first.n_paths as usize).div_ceil(WG);
        self.state.resize(n_wg * k.slots() * k.dim * WG, 0.0);
        self.partials.resize(n_wg * partial_words(k.dim), 0.0);
        self.hist.resize(k.hist_words() * up.groups.len(), 0);
        for (s, p) in segs.iter().enumerate() {
            self.hist.fill(0);
            advance::advance(k, p, up, &mut self.state, &mut self.partials, &mut self.hist);
            sink(s, &self.partials, &self.hist)?;
        }
        Ok(())
    }

    fn read_state(&mut self) -> Result<Vec<f32>> {
        Ok(self.state.clone())
    }
}
