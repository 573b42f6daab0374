//! How the CPU backend rounds the special functions' multiply-adds: [`Arith`].

use crate::error::Result;

/// The environment variable that picks the CPU backend's [`Arith`]: `fused` or `split`.
pub const ARITH_VAR: &str = crate::env::ARITH_VAR;

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
        crate::env::parse_cpu_arith(value).map(Self::from_split)
    }

    /// [`ARITH_VAR`]'s value, or the default where it is not set (read once, with the other
    /// variables, by [`crate::env`]).
    pub fn from_env() -> Result<Self> {
        crate::env::cpu_arith_split().map(Self::from_split)
    }

    fn from_split(split: bool) -> Self {
        if split { Arith::Split } else { Arith::Fused }
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
