//! Which variant of the advance kernel the engine runs (`crate::shader::policy` by default,
//! or forced by tests and by `OPTSDE_GPU_VARIANT`). Every variant computes the same values
//! (tests compare each with the CPU twin and with the others), so these settings change speed
//! alone.

use super::GpuEngine;
use crate::error::{Error, Result};
use crate::kernel::KernelConsts;
use crate::layout::Params;
use crate::shader::{self, Variant};

/// The environment variable through which the command line sets [`VariantSettings`].
pub const VARIANT_VAR: &str = crate::env::GPU_VARIANT_VAR;

pub use crate::env::VariantSettings;

impl GpuEngine {
    /// Force the advance kernel to keep the per-coordinate coefficients in registers (`Some(true)`)
    /// or read them from their buffer (`Some(false)`); `None` restores the choice by adapter and
    /// d ([`shader::coef_regs`]).
    pub fn set_coef_registers(&mut self, regs: Option<bool>) {
        self.coef_regs = regs;
    }

    /// Pack `width` paths per invocation (one of [`shader::PACK_WIDTHS`]) wherever the kernel
    /// allows it, or as the adapter suggests (`None`, [`shader::default_pack`]).
    pub fn set_pack_width(&mut self, width: Option<usize>) -> Result<()> {
        if let Some(w) = width.filter(|w| !shader::PACK_WIDTHS.contains(w)) {
            return Err(Error::Invalid {
                field: "pack".into(),
                value: w.to_string(),
                expected: format!("paths per invocation, one of {:?}", shader::PACK_WIDTHS),
            });
        }
        self.pack = width;
        Ok(())
    }

    /// Compile the advance kernels with wgpu's runtime checks (`Some(true)`), without them
    /// (`Some(false)`: no clamps on array and buffer indices and no counters that bound every
    /// loop, `wgpu::ShaderRuntimeChecks`), or as [`shader::runtime_checks`] chooses by kernel and
    /// adapter (`None`).
    pub fn set_runtime_checks(&mut self, on: Option<bool>) {
        self.checks = on;
    }

    /// Try speculative runs where they apply ([`shader::speculable`]) on software adapters
    /// (`None`), on any adapter (`Some(true)`), or never (`Some(false)`).
    pub fn set_speculation(&mut self, on: Option<bool>) {
        self.speculate = on;
        self.spec_failed.clear();
    }

    /// Count the stationary histogram per invocation wherever it fits (`Some(true)`), never
    /// (`Some(false)`), or where [`shader::private_hist_for`] says (`None`).
    pub fn set_private_hist(&mut self, on: Option<bool>) {
        self.private_hist = on;
    }

    /// Apply a variant setting such as `pack=2,checks=off` (the `OPTSDE_GPU_VARIANT` variable of
    /// the command line, [`VariantSettings::parse`]) and name it in the driver of
    /// [`crate::plan::Engine::info`].
    pub fn apply_variant(&mut self, spec: &str) -> Result<()> {
        self.apply_settings(&VariantSettings::parse(spec)?, spec)
    }

    /// Apply settings already parsed from `spec` (named in the driver of [`crate::plan::Engine::info`]).
    pub fn apply_settings(&mut self, v: &VariantSettings, spec: &str) -> Result<()> {
        if let Some(w) = v.pack {
            self.set_pack_width(w)?;
        }
        if let Some(on) = v.speculate {
            self.set_speculation(on);
        }
        if let Some(on) = v.private_hist {
            self.set_private_hist(on);
        }
        if let Some(on) = v.coef_regs {
            self.set_coef_registers(on);
        }
        if let Some(on) = v.checks {
            self.set_runtime_checks(on);
        }
        if !spec.trim().is_empty() {
            self.info.driver = format!("{} [{VARIANT_VAR}={}]", self.info.driver, spec.trim());
        }
        Ok(())
    }

    /// Chunks tried with the speculative kernel so far, and those of them that ran again in full
    /// because the try met a path it could not advance exactly.
    pub fn speculation_counts(&self) -> (u64, u64) {
        (self.spec_tried, self.spec_reruns)
    }

    /// Whether this chunk is tried speculatively first: the kernel allows it, it starts from x0
    /// (its first segment initialises the state, so a failed try is simply run again) and no
    /// speculative run of this kernel has failed on this engine.
    pub(super) fn speculates(&self, k: &KernelConsts, segs: &[Params]) -> bool {
        self.speculate.unwrap_or(self.software)
            && shader::speculable(k)
            && segs.first().is_some_and(|p| p.init == 1)
            && !self.spec_failed.contains(k)
    }

    /// The variant of kernel `k` for a chunk whose first segment is `p` (speculative: see
    /// [`Self::speculates`]).
    pub(super) fn variant(&self, k: &KernelConsts, p: &Params, spec: bool) -> Variant {
        let pack = shader::pack_for(k, self.pack.unwrap_or_else(|| shader::default_pack(self.software)), p);
        Variant {
            coef_regs: self.coef_regs.unwrap_or_else(|| shader::coef_regs(k, self.software)),
            pack,
            spec,
            private_hist: self
                .private_hist
                .map_or_else(|| shader::private_hist_for(k, pack), |on| on && shader::private_hist_fits(k)),
            checks: self.checks.unwrap_or_else(|| shader::runtime_checks(k, self.software)),
        }
    }
}
