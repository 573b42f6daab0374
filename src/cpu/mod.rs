//! The CPU backend: one twin per WGSL kernel (same name, same bindings order), no wgpu.

pub mod advance;
pub mod rng_words;

use crate::error::{Error, Result};
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Params, Upload, partial_words};
use crate::plan::{BackendInfo, Engine, Sink};

/// The environment variable that picks the CPU backend's [`Arith`]: `fused` or `split`.
pub const ARITH_VAR: &str = "OPTSDE_CPU_ARITH";

/// How the CPU backend rounds the multiply-adds a·b + c of the special functions
/// (`src/math.rs`: the generator's logarithm and sine/cosine, erf, exp, ...; `math::madd`).
/// The models' own updates are the same in both.
///
/// - `Fused` (the default): rounded once, a fused multiply-add. One instruction instead of
///   two per Horner step, and more accurate. A GPU that contracts `a * b + c` (hardware
///   drivers do) computes the same kind of arithmetic.
/// - `Split`: the product and the sum rounded separately, as written in the WGSL: the exact
///   twin of an adapter that does not contract. Lavapipe lowers even WGSL's `fma` to a
///   multiply and an add (Mesa's gallivm sets `lower_ffma32`), so this mode is what it
///   computes, bit for bit, and what the tests compare it with.
///
/// Both are exact streams: a seed gives the same results on every CPU in each mode. They differ
/// by a few ulp per special function, measured in `tests/it/math_kernels.rs` and
/// `tests/it/backends.rs`. An x86-64 CPU without FMA (older than Haswell or Piledriver) computes
/// the fused mode through libm's `fmaf`, correctly but slowly: `split` is the fast mode there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arith {
    #[default]
    Fused,
    Split,
}

impl Arith {
    /// Parses a value of [`ARITH_VAR`].
    pub fn parse(value: &str) -> Result<Self> {
        match value.trim() {
            "fused" => Ok(Arith::Fused),
            "split" => Ok(Arith::Split),
            _ => Err(Error::invalid(ARITH_VAR, format!("\"{value}\""), "valid: fused or split (fused is the default)")),
        }
    }

    /// [`ARITH_VAR`]'s value, or the default where it is not set.
    pub fn from_env() -> Result<Self> {
        match std::env::var(ARITH_VAR) {
            Ok(v) => Self::parse(&v),
            Err(std::env::VarError::NotPresent) => Ok(Arith::default()),
            Err(std::env::VarError::NotUnicode(v)) => {
                Err(Error::invalid(ARITH_VAR, format!("{v:?}"), "valid: fused or split (fused is the default)"))
            }
        }
    }

    /// The arithmetic closest to a GPU adapter's: `Split` (bit for bit) for a software adapter,
    /// which does not contract; `Fused` for hardware, which contracts (not necessarily every
    /// multiply-add; `tests/it/backends.rs` bounds the rest).
    pub fn of_adapter(software: bool) -> Self {
        if software { Arith::Split } else { Arith::Fused }
    }

    /// The mode's name, as [`ARITH_VAR`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            Arith::Fused => "fused",
            Arith::Split => "split",
        }
    }
}

/// Runs plans on all cores with rayon.
#[derive(Default)]
pub struct CpuEngine {
    arith: Arith,
    state: Vec<f32>,
    partials: Vec<f32>,
    hist: Vec<u32>,
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
                advance::VectorUnit::detect().name(),
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

    fn run_chunk(&mut self, k: &KernelConsts, up: &Upload, segs: &[Params], sink: &mut Sink<'_>) -> Result<()> {
        let Some(first) = segs.first() else { return Ok(()) };
        let n_wg = (first.n_paths as usize).div_ceil(WG);
        self.state.resize(n_wg * k.slots() * k.dim * WG, 0.0);
        self.partials.resize(n_wg * partial_words(k.dim), 0.0);
        self.hist.resize(k.hist_words() * up.groups.len(), 0);
        for (s, p) in segs.iter().enumerate() {
            self.hist.fill(0);
            advance::advance(k, p, up, &mut self.state, &mut self.partials, &mut self.hist, self.arith == Arith::Fused);
            sink(s, &self.partials, &self.hist)?;
        }
        Ok(())
    }

    fn read_state(&mut self) -> Result<Vec<f32>> {
        Ok(self.state.clone())
    }
}
