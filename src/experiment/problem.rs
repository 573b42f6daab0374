//! The problem a model runs on besides its landscape (`super::objective`): the gradient noise
//! ([`Noise`]) and the compressor of the compressed models ([`Compressor`]).

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};

use super::domain::{Domain, show_reals};
use crate::error::{Error, Result};

/// `objective.h`, the diagonal Hessian.
pub const CURVATURE: Domain<f64> = Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0");
/// `objective.center` and `init.x0`.
pub const ANY_REAL: Domain<f64> = Domain::new(Unbounded, Unbounded, "must be a finite number");
/// `noise.sigma` and `noise.scale` (the sign SDEs need more: `crate::experiment::noise_scale_domain`).
pub const NOISE_SCALE: Domain<f64> = Domain::new(Included(0.0), Unbounded, "must be a finite number >= 0");
/// `noise.nu` (each model needs more: `crate::experiment::nu_domains`).
pub const NU: Domain<f64> = Domain::new(Excluded(0.0), Unbounded, "must be a finite number > 0 (degrees of freedom)");
/// `compressor.p`.
pub const KEEP_PROBABILITY: Domain<f64> =
    Domain::new(Excluded(0.0), Included(1.0), "must be a finite number with 0 < p <= 1");
/// `compressor.levels`.
pub const LEVELS: Domain<i128> =
    Domain::new(Included(1), Included(1 << 24), "must be an integer with 1 <= levels <= 2^24");

/// `compressor.k` in dimension `dim`.
pub fn kept_domain(dim: usize) -> Domain<i128> {
    Domain::worded(
        Included(1),
        Included(dim as i128),
        format!("must be an integer with 1 <= k <= d = {dim} (the dimension)"),
    )
}

/// Smallest Student-t ν the samplers support: below it f32 samples would saturate (see
/// [`crate::noise::student_t`]).
pub const MIN_NU: f64 = 0.5;
/// Smallest ν of the sign SDEs' tabulated CDF (docs/heavy-tails.md: Hermite interpolation fails below 1).
pub const MIN_NU_SIGN_SDE: f64 = 1.0;

/// `noise.nu` of every model: what the samplers support.
pub fn min_nu_domain() -> Domain<f64> {
    Domain::worded(
        Included(MIN_NU),
        Unbounded,
        format!(
            "must be >= {MIN_NU}: below it the f32 Student-t sampler saturates (W^(-2/nu) overflows); \
             for tails that heavy, simulate a smaller scale or nu = {MIN_NU}"
        ),
    )
}

/// The gradient-noise model: g = ∇f(x) + Z (docs/objective-and-noise.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Noise {
    /// Z ~ N(0, diag(σ²)).
    Gaussian { sigma: Vec<f64> },
    /// Z_i = scale_i T_i, T_i ~ t(ν_i) independent; `scale` is not a standard deviation:
    /// Var Z_i = scale_i² ν_i/(ν_i − 2) for ν_i > 2, infinite otherwise.
    StudentT { nu: Vec<f64>, scale: Vec<f64> },
}

impl Noise {
    /// Gaussian noise with standard deviations `sigma` >= 0.
    pub fn gaussian(sigma: Vec<f64>) -> Result<Noise> {
        let n = Noise::Gaussian { sigma };
        n.check()?;
        Ok(n)
    }

    /// Student-t noise with `nu` >= [`MIN_NU`] degrees of freedom and scales `scale` >= 0, of
    /// the same length.
    pub fn student_t(nu: Vec<f64>, scale: Vec<f64>) -> Result<Noise> {
        let n = Noise::StudentT { nu, scale };
        n.check()?;
        Ok(n)
    }

    /// The scale of coordinate i (σ_i, or the Student-t scale).
    pub fn scale(&self, i: usize) -> f64 {
        self.scales()[i]
    }

    /// The scales (σ, or the Student-t scale).
    pub fn scales(&self) -> &[f64] {
        match self {
            Noise::Gaussian { sigma } => sigma,
            Noise::StudentT { scale, .. } => scale,
        }
    }

    /// The file's key of the scales: `sigma` or `scale`.
    pub fn scale_key(&self) -> &'static str {
        match self {
            Noise::Gaussian { .. } => "sigma",
            Noise::StudentT { .. } => "scale",
        }
    }

    /// The standard deviation of coordinate i (infinite for Student-t with ν ≤ 2).
    pub fn std_dev(&self, i: usize) -> f64 {
        match self {
            Noise::Gaussian { sigma } => sigma[i],
            Noise::StudentT { nu, scale } if nu[i] > 2.0 => scale[i] * (nu[i] / (nu[i] - 2.0)).sqrt(),
            Noise::StudentT { .. } => f64::INFINITY,
        }
    }

    /// ν of coordinate i (None for Gaussian noise).
    pub fn nu(&self, i: usize) -> Option<f64> {
        match self {
            Noise::Gaussian { .. } => None,
            Noise::StudentT { nu, .. } => Some(nu[i]),
        }
    }

    /// The same law with every scale divided by `f` (a batch f² times larger; for Student-t
    /// noise, the scale).
    pub(super) fn divided_by(&self, f: f64) -> Noise {
        let div = |v: &[f64]| v.iter().map(|s| s / f).collect();
        match self {
            Noise::Gaussian { sigma } => Noise::Gaussian { sigma: div(sigma) },
            Noise::StudentT { nu, scale } => Noise::StudentT { nu: nu.clone(), scale: div(scale) },
        }
    }

    /// The per-coordinate vectors, named as the file writes them.
    pub fn vectors(&self) -> Vec<(&'static str, &[f64])> {
        match self {
            Noise::Gaussian { sigma } => vec![("noise.sigma", sigma)],
            Noise::StudentT { nu, scale } => vec![("noise.scale", scale), ("noise.nu", nu)],
        }
    }

    pub(super) fn check(&self) -> Result<()> {
        NOISE_SCALE.check_each(&format!("noise.{}", self.scale_key()), self.scales())?;
        if let Noise::StudentT { nu, .. } = self {
            NU.check_each("noise.nu", nu)?;
            min_nu_domain().check_each("noise.nu", nu)?;
        }
        same_lengths(&self.vectors())
    }
}

/// Vectors that must have one length (the dimension): the first sets it.
pub(super) fn same_lengths(vectors: &[(&str, &[f64])]) -> Result<()> {
    let Some(&(first, xs)) = vectors.first() else { return Ok(()) };
    match vectors.iter().find(|(_, v)| v.len() != xs.len()) {
        Some((field, v)) => Err(Error::invalid(
            *field,
            show_reals(v),
            format!(
                "has length {} but {first} has length {}; all vectors must have the same length (the \
                 dimension; a single number broadcasts)",
                v.len(),
                xs.len()
            ),
        )),
        None => Ok(()),
    }
}

/// Unbiased compressors of DCSGD (docs/compressed.md): E C(v) = v, E‖C(v) − v‖² ≤ ω‖v‖².
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Compressor {
    /// C(v) = v (ω = 0).
    Identity,
    /// Keep each coordinate with probability p independently, scaled by 1/p (ω = 1/p − 1).
    Bernoulli { p: f64 },
    /// Keep a uniformly random k-subset, scaled by d/k (ω = d/k − 1).
    RandK { k: u32 },
    /// Random dithering with s levels, ℓ2 norm (QSGD; ω = min(d/s², √d/s)).
    Qsgd { levels: u32 },
    /// Natural compression: stochastic rounding of |v_j| to a power of two (ω = 1/8).
    Natural,
}

impl Compressor {
    /// The names used in experiment files.
    pub const NAMES: [&'static str; 5] = ["identity", "bernoulli", "rand-k", "qsgd", "natural"];

    /// Keep each coordinate with probability 0 < `p` <= 1.
    pub fn bernoulli(p: f64) -> Result<Compressor> {
        KEEP_PROBABILITY.check("compressor.p", p)?;
        Ok(Compressor::Bernoulli { p })
    }

    /// Keep 1 <= `k` <= `dim` coordinates.
    pub fn rand_k(k: u32, dim: usize) -> Result<Compressor> {
        kept_domain(dim).check("compressor.k", k)?;
        Ok(Compressor::RandK { k })
    }

    /// Random dithering with 1 <= `levels` <= 2^24.
    pub fn qsgd(levels: u32) -> Result<Compressor> {
        LEVELS.check("compressor.levels", levels)?;
        Ok(Compressor::Qsgd { levels })
    }

    /// The variance parameter ω in dimension d.
    pub fn omega(&self, d: usize) -> f64 {
        let d = d as f64;
        match *self {
            Compressor::Identity => 0.0,
            Compressor::Bernoulli { p } => 1.0 / p - 1.0,
            Compressor::RandK { k } => d / f64::from(k) - 1.0,
            Compressor::Qsgd { levels } => {
                let s = f64::from(levels);
                (d / (s * s)).min(d.sqrt() / s)
            }
            Compressor::Natural => 0.125,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Compressor::Identity => "identity",
            Compressor::Bernoulli { .. } => "bernoulli",
            Compressor::RandK { .. } => "rand-k",
            Compressor::Qsgd { .. } => "qsgd",
            Compressor::Natural => "natural",
        }
    }

    /// Whether its covariance Ω_C(v) has the closed form the SDE uses (docs/compressed.md).
    pub fn has_sde(&self) -> bool {
        matches!(self, Compressor::Identity | Compressor::Bernoulli { .. } | Compressor::RandK { .. })
    }

    /// Its parameter in dimension `dim`.
    pub(super) fn check(&self, dim: usize) -> Result<()> {
        match *self {
            Compressor::Bernoulli { p } => Compressor::bernoulli(p).map(drop),
            Compressor::RandK { k } => Compressor::rand_k(k, dim).map(drop),
            Compressor::Qsgd { levels } => Compressor::qsgd(levels).map(drop),
            Compressor::Identity | Compressor::Natural => Ok(()),
        }
    }
}
