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
pub const VARIANT_VAR: &str = "OPTSDE_GPU_VARIANT";

/// Kernel variants forced by hand, for measuring them on an adapter (`optsde bench` with
/// `OPTSDE_GPU_VARIANT=pack=2,checks=off`, say). Each field is `None` where the setting leaves
/// the engine's own choice; `Some(None)` is an explicit `auto`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariantSettings {
    /// `pack=auto|1|2|4|8`: paths per invocation of the d = 1 loop ([`GpuEngine::set_pack_width`]).
    pub pack: Option<Option<usize>>,
    /// `speculate=auto|on|off` ([`GpuEngine::set_speculation`]).
    pub speculate: Option<Option<bool>>,
    /// `private-hist=auto|on|off` ([`GpuEngine::set_private_hist`]).
    pub private_hist: Option<Option<bool>>,
    /// `coef-regs=auto|on|off` ([`GpuEngine::set_coef_registers`]).
    pub coef_regs: Option<Option<bool>>,
    /// `checks=auto|on|off` ([`GpuEngine::set_runtime_checks`]).
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
                    field: VARIANT_VAR.into(),
                    value: format!("\"{item}\""),
                    expected: format!("comma-separated key=value pairs; keys: {KEYS}"),
                })?;
            let bad = |expected: &str| Error::Invalid {
                field: format!("{VARIANT_VAR} {key}"),
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
                            Ok(w) if shader::PACK_WIDTHS.contains(&w) => Some(w),
                            _ => {
                                return Err(bad(&format!(
                                    "auto or paths per invocation, one of {:?}",
                                    shader::PACK_WIDTHS
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
                        field: format!("{VARIANT_VAR} key"),
                        value: key.into(),
                        valid: KEYS.into(),
                    });
                }
            }
        }
        Ok(v)
    }
}

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
