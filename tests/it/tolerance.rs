//! Tolerance tiers (STYLE habit 7): how far a computed value may lie from the value it is
//! checked against, and why. Tests name a tier; its numbers and their reasoning live here, once.
//!
//! 1. [`Tolerance::Exact`], the same bits: integer results (random words, counts), and f32 values
//!    that two computations reach by the same IEEE operations in the same order (a run against
//!    the same run chunked or swept: each path's random numbers are a pure function of (seed,
//!    path, step), habit 6; a software adapter against its CPU twin, [`Tolerance::twin`]).
//! 2. [`Tolerance::Relative`], |actual − expected| ≤ rel (|expected| + scale) + abs: one value
//!    that two computations reach by operations that round differently (fused multiply-adds,
//!    hardware division and square roots, f64 sums merged in another order). The named bounds:
//!    [`Tolerance::path_state`] (per-path states of two backends after k steps),
//!    [`Tolerance::state_sum`] (sums of such states), [`Tolerance::merge_order`] (f64 sums
//!    merged in another order), [`Tolerance::twin`] (a GPU value against its CPU twin).
//! 3. [`Tolerance::StandardErrors`], |actual − expected| ≤ z se + bias: a Monte Carlo estimate
//!    against its oracle or against another estimate, z from [`Z`] (why each value, there), and
//!    a bias allowance that the test states where its oracle is an approximation (the oracle's
//!    reasoning belongs to the test).
//!
//! A failing assertion prints what was checked (with its index where there is one), actual,
//! expected, difference and tolerance, and which tier it was.

use std::fmt;

/// How many standard errors an ensemble estimate may lie from its oracle.
///
/// The seeds are fixed, so a test passes or fails deterministically; z says how unlucky a
/// correct kernel would have to be to fail when its seed, arithmetic (fused or split) or adapter
/// changes, and, where a test asserts its run size (z SE at most 1–3% of the oracle), how large
/// a real error must be to be caught. The SEs are batch spreads over independent groups of
/// [`optsde::spec::BATCH`] paths (32 batches for 8192 paths: t with 31 degrees of freedom) or
/// exact (binomial counts, the fourth moment of a linear scheme).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Z(pub f64);

impl Z {
    /// One estimate, or a handful from one run, against its oracle: two-sided 6.3e-5 under a
    /// normal law, more with a batch SE's t law (1.7e-4 for 64 batches, 3.7e-4 for 32).
    pub const ONE: Z = Z(4.0);
    /// Five to fifteen estimates from one run (four coordinates and the loss; the records of a
    /// run): two-sided 9e-5 per check with an SE from 32 batches (t with 31 degrees of freedom),
    /// 6.8e-6 with an exact one.
    pub const MANY: Z = Z(4.5);
    /// A family of about two dozen estimates tested at once (four coordinates × six records):
    /// 5.7e-7 per check under a normal law, 1.4e-5 for the family.
    pub const FAMILY: Z = Z(5.0);
    /// Two runs whose per-path states agree within the hardware [`Tolerance::path_state`]
    /// bound (compiled twice on a hardware adapter): a mean of n states moved by at most 1e-4
    /// of their sd moves by at most 1e-4 √n of its SE, 0.003 SE for a record's 1000 paths and
    /// 0.023 SE for a stationary estimate of at most 50 000 samples; 0.05 SE covers both.
    pub const RECOMPILED: Z = Z(0.05);
}

/// Relative bound of [`Tolerance::path_state`] and [`Tolerance::state_sum`].
const STATE_REL: f64 = 1e-5;
/// Where a path's state is near 0 its relative bound stops shrinking: [`Tolerance::path_state`].
const STATE_SCALE: f64 = 1e-3;
/// Hardware part of [`Tolerance::path_state`], in units of the row's sd over paths.
const HARDWARE_SPREAD: f64 = 1e-4;

/// Share of states that may exceed [`Tolerance::path_state`] on a hardware adapter (none on a
/// software one): on hardware the discontinuous updates (signs; the compressors' rounding and
/// selection, which compare a random word with a value computed in floats) can branch
/// differently when that value differs by an ulp, and the path then takes a different discrete
/// step once, contracted since (an H100 did so for one of 4000 states of DCSGD with natural
/// compression: 3.2e-6 at sd 2.8e-2).
pub const HARDWARE_OUTLIERS: f64 = 0.005;

/// Share of a histogram's samples that may change bins between two runs whose states agree
/// within [`Tolerance::path_state`] on a software adapter: a state within an ulp of a bin edge
/// may cross it.
pub const HIST_MOVED_SOFTWARE: f64 = 1e-3;
/// The same on hardware for histograms merged into at most 32 bins, compared in L1 distance: a
/// state moved by 1e-4 sd ([`HARDWARE_SPREAD`]) crosses a bin edge only within 1e-4 sd of it,
/// about 0.1% of the samples for bins 0.2 sd wide; 1% leaves room.
pub const HIST_MOVED_HARDWARE: f64 = 1e-2;

/// How far an actual value may lie from its expected value: one of the tiers of the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// Tier 1: the same bits (two NaNs count as the same: neither IEEE 754 nor WGSL fixes their
    /// payloads).
    Exact,
    /// Tier 2: |actual − expected| ≤ rel (|expected| + scale) + abs.
    Relative { rel: f64, scale: f64, abs: f64 },
    /// Tier 3: |actual − expected| ≤ z se + bias.
    StandardErrors { z: Z, se: f64, bias: f64 },
}

impl Tolerance {
    /// Tier 3: within z standard errors `se` of the expected value.
    pub fn se(z: Z, se: f64) -> Tolerance {
        Tolerance::StandardErrors { z, se, bias: 0.0 }
    }

    /// Tier 3 between two estimates of the same quantity, each with standard error `se`: the
    /// SE of their difference is at most √2 se (equal when they are independent; runs on the same
    /// random numbers are positively correlated, and identical values pass).
    pub fn se_of_difference(z: Z, se: f64) -> Tolerance {
        Tolerance::se(z, se * std::f64::consts::SQRT_2)
    }

    /// This tier-3 tolerance plus a bias allowance, which the caller states.
    pub fn bias(self, bias: f64) -> Tolerance {
        match self {
            Tolerance::StandardErrors { z, se, bias: b } => Tolerance::StandardErrors { z, se, bias: b + bias },
            t => panic!("a bias allowance belongs to the standard-error tier, not {t:?}"),
        }
    }

    /// Tier 2 for a path's state after k steps on the GPU against its CPU twin (or two CPU
    /// arithmetics), `row_sd` the sd of that coordinate over the paths.
    ///
    /// 1e-5 (|expected| + 1e-3) on a software adapter: lavapipe runs the twin's operations in
    /// the twin's order; they differ at most by fused multiply-adds, a few ulp per step that
    /// contracting steps do not amplify. A hardware driver may also divide to 2.5 ulp and take
    /// square roots through inverseSqrt (WGSL's precision rules), and contract freely, so every
    /// substep's increment may carry a few ulp of error (≈ 1e-6 of it) and ≤ 300 substeps sum
    /// them: the bound adds 1e-4 × the row's sd, which is above the increments' sum of errors
    /// and moves no ensemble moment by more than 1e-4 sd, far under the [`Z::ONE`] SE (SE =
    /// sd/√1000 ≈ 0.03 sd) that the moment tests allow. A wrong sign or coefficient changes a
    /// state by a sizeable fraction of an sd and still fails. (First seen on an H100, driver
    /// 580.159.04: worst differences 1.2e-7 at sd ≈ 1e-2.) Up to [`HARDWARE_OUTLIERS`] of the
    /// states may exceed it there.
    pub fn path_state(row_sd: f64, software: bool) -> Tolerance {
        let abs = if software { 0.0 } else { HARDWARE_SPREAD * row_sd };
        Tolerance::Relative { rel: STATE_REL, scale: STATE_SCALE, abs }
    }

    /// Tier 2 for a sum (mean, variance) over states that agree within [`Tolerance::path_state`]
    /// on a software adapter: the same relative bound, with the sum's SE `se` as its scale near 0.
    pub fn state_sum(se: f64) -> Tolerance {
        Tolerance::Relative { rel: STATE_REL, scale: se, abs: 0.0 }
    }

    /// Tier 2 for f64 sums of the same values merged in another order (chunks, batches): a few
    /// ulp per merge, relative to `scale` where the sum cancels (a mean near 0: its sd).
    pub fn merge_order(scale: f64) -> Tolerance {
        Tolerance::Relative { rel: 1e-12, scale, abs: 0.0 }
    }

    /// Tier 2 for an f32 recursion that contracts, x ← x − a (x − c) (a gradient step on a
    /// quadratic without noise, |1 − a| ≤ ρ < 1 per coordinate), against its exact value
    /// c + (1 − a)^k (x0 − c) in f64, `scale` the largest |x| and |x − c| it visits. Each step
    /// rounds its four operations to half an ulp of values at most 2 scale (≤ 2⁻²² scale in
    /// all), and the recursion shrinks an earlier step's error by ρ per step, so the rounding
    /// errors sum to at most 2⁻²² scale / (1 − ρ); η rounded to f32 (2⁻²⁴ relative) moves the
    /// k-th state by k ρ^(k−1) a 2⁻²⁴ |x0 − c| ≤ 2⁻²² scale / (1 − ρ) for ρ ≥ ½. Twice their
    /// sum: 2⁻²⁰ scale / (1 − ρ). A state one step off moves by a |x − c|, far more.
    pub fn f32_contraction(scale: f64, rho: f64) -> Tolerance {
        Tolerance::absolute(scale / (1.0 - rho) / f64::from(1u32 << 20))
    }

    /// Tier 2 with an absolute bound, which the caller derives.
    pub fn absolute(abs: f64) -> Tolerance {
        Tolerance::Relative { rel: 0.0, scale: 0.0, abs }
    }

    /// Tier 2 for the SE of a moment of two runs [`Z::RECOMPILED`] describes: each SE is an
    /// sd of batch means that moves by at most 1e-4 of itself, so 0.1%.
    pub fn recompiled_se() -> Tolerance {
        Tolerance::Relative { rel: 1e-3, scale: 0.0, abs: 0.0 }
    }

    /// A GPU value against its CPU twin: [`Tolerance::Exact`] on a software adapter (lavapipe
    /// evaluates the twin's IEEE operations in the twin's order, with the twin of its
    /// arithmetic: `optsde::cpu::Arith::of_adapter`), `hardware` (which the caller derives from
    /// WGSL's precision rules) on a hardware one.
    pub fn twin(software: bool, hardware: Tolerance) -> Tolerance {
        if software { Tolerance::Exact } else { hardware }
    }

    /// The largest |actual − expected| allowed (0 for [`Tolerance::Exact`]).
    pub fn bound(&self, expected: f64) -> f64 {
        match *self {
            Tolerance::Exact => 0.0,
            Tolerance::Relative { rel, scale, abs } => rel * (expected.abs() + scale) + abs,
            Tolerance::StandardErrors { z, se, bias } => z.0 * se + bias,
        }
    }

    /// Whether `actual` is within this tolerance of `expected`. Under a bound a NaN or an
    /// infinity is never within it, even of itself: a check that must let identical non-finite
    /// values pass asks [`Tolerance::Exact`] first.
    pub fn holds(&self, actual: f64, expected: f64) -> bool {
        match self {
            Tolerance::Exact => actual.to_bits() == expected.to_bits() || (actual.is_nan() && expected.is_nan()),
            _ => (actual - expected).abs() <= self.bound(expected),
        }
    }

    /// Why `actual` is not within this tolerance of `expected`, or None.
    pub fn check(&self, what: &str, actual: f64, expected: f64) -> Option<String> {
        if self.holds(actual, expected) {
            return None;
        }
        let diff = actual - expected;
        Some(match *self {
            Tolerance::Exact => format!(
                "{what}: actual {actual:e} ({}), expected {expected:e} ({}), difference {diff:e}, tolerance: the same bits",
                bits(actual),
                bits(expected)
            ),
            _ => format!(
                "{what}: actual {actual:.7e}, expected {expected:.7e}, difference {diff:.3e}, tolerance {:.3e} ({self})",
                self.bound(expected)
            ),
        })
    }

    /// Asserts that `actual` is within this tolerance of `expected`; a standard-error check also
    /// prints how many SEs it landed from the oracle when it passes.
    #[track_caller]
    pub fn assert(&self, what: &str, actual: f64, expected: f64) {
        if let Some(msg) = self.check(what, actual, expected) {
            panic!("{msg}");
        }
        if let Tolerance::StandardErrors { se, .. } = *self {
            eprintln!(
                "ok {what}: actual {actual:.7e}, expected {expected:.7e}, |diff| = {:.2} SE",
                (actual - expected).abs() / se
            );
        }
    }

    /// Asserts every `actual[i]` is within this tolerance of `expected[i]` (equal lengths);
    /// returns how many were bit-identical.
    #[track_caller]
    pub fn assert_each(&self, what: &str, actual: &[f32], expected: &[f32]) -> usize {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths");
        let mut identical = 0;
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            if let Some(msg) = self.check(&format!("{what} [{i}]"), f64::from(a), f64::from(e)) {
                panic!("{msg}");
            }
            identical += usize::from(a.to_bits() == e.to_bits());
        }
        identical
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Tolerance::Exact => write!(f, "the same bits"),
            Tolerance::Relative { rel, scale, abs } => {
                write!(f, "{rel:e} × (|expected| + {scale:.3e}) + {abs:.3e}")
            }
            Tolerance::StandardErrors { z, se, bias } => {
                write!(f, "{} SE with SE = {se:.3e}, plus bias allowance {bias:.3e}", z.0)
            }
        }
    }
}

/// The bits of `v`, as an f32's where `v` is one (the values the kernels compute), else as an f64's.
fn bits(v: f64) -> String {
    if f64::from(v as f32).to_bits() == v.to_bits() {
        format!("{:#010x}", (v as f32).to_bits())
    } else {
        format!("{:#018x}", v.to_bits())
    }
}
