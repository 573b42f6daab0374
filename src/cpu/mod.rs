//! The CPU backend: one twin per WGSL kernel (same name, same bindings order), no wgpu.
//!
//! | concern | file |
//! |---|---|
//! | the `advance` entry point: workgroups on rayon (compiled per vector unit), a block's step loop | `advance.rs` |
//! | the step loop's stages, named like the WGSL functions they mirror | `step.rs` |
//! | the objective stage: gradient and loss | `objective.rs` |
//! | what a block reads, and its rows | `inputs.rs` |
//! | random streams of a block of lanes | `cursor.rs` |
//! | histogram bins and counts | `hist.rs` |
//! | the workgroup reductions into the partials | `reduce.rs` |
//! | the vector unit, detected at run time | `simd.rs` |
//! | fused or split multiply-adds | `arith.rs` |
//! | the `rng_words` test kernel | `rng_words.rs` |

pub mod advance;
mod arith;
mod cursor;
mod data;
mod hist;
mod inputs;
mod objective;
mod reduce;
pub mod rng_words;
mod simd;
mod step;

pub use arith::{ARITH_VAR, Arith};
pub use simd::VectorUnit;

/// Paths advanced together on one core: a block of lanes.
pub const LANES: usize = 64;

use crate::error::Result;
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Params, PartialLayout, Upload};
use crate::plan::{BackendInfo, Engine, Sink};
use crate::trajectory::Watch;

/// Runs plans on all cores with rayon.
#[derive(Default)]
pub struct CpuEngine {
    arith: Arith,
    state: Vec<f32>,
    partials: Vec<f32>,
    hist: Vec<u32>,
    /// The watched state words of a record segment.
    watched: Vec<f32>,
}

impl CpuEngine {
    /// An engine with the default arithmetic ([`Arith::Fused`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// An engine with the given arithmetic.
    pub fn with_arith(arith: Arith) -> Self {
        CpuEngine { arith, ..Self::default() }
    }

    pub fn arith(&self) -> Arith {
        self.arith
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
            driver: format!(
                "{} threads, {} kernels, {} multiply-add",
                rayon::current_num_threads(),
                VectorUnit::detect().name(),
                self.arith.name()
            ),
            api: "rayon".into(),
        }
    }

    fn max_chunk(&self, dim: usize) -> u64 {
        // Keep the chunk state near 64 MiB.
        let paths = (64u64 << 20) / (4 * 3 * dim as u64);
        (paths / WG as u64).max(1) * WG as u64
    }

    fn run_chunk(
        &mut self,
        k: &KernelConsts,
        up: &Upload,
        segs: &[Params],
        watch: &Watch,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        let Some(first) = segs.first() else { return Ok(()) };
        let n_wg = (first.n_paths as usize).div_ceil(WG);
        self.state.resize(n_wg * k.slots() * k.dim * WG, 0.0);
        self.partials.resize(n_wg * PartialLayout::of(k).words(), 0.0);
        self.hist.resize(k.hist_words() * up.groups.len(), 0);
        self.watched.resize(watch.words(k.dim), 0.0);
        let copies = watch.copies(k);
        for (s, p) in segs.iter().enumerate() {
            self.hist.fill(0);
            advance::advance(k, p, up, &mut self.state, &mut self.partials, &mut self.hist, self.arith == Arith::Fused);
            let watched: &[f32] = if p.record == 1 {
                for &(from, to, len) in &copies {
                    self.watched[to..to + len].copy_from_slice(&self.state[from..from + len]);
                }
                &self.watched
            } else {
                &[]
            };
            sink(s, &self.partials, &self.hist, watched)?;
        }
        Ok(())
    }

    fn read_state(&mut self) -> Result<Vec<f32>> {
        Ok(self.state.clone())
    }
}
