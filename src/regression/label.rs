//! The label noise ε of one-pass least squares, as its risk ODEs need it: E ε² (SGD) and the
//! factor φ(P) = (2/π) E_ε[e^{−ε²/(4P)}/√(2P)] by which signSGD's drift shrinks
//! (docs/regression.md).

use std::f64::consts::{FRAC_PI_2, PI};

use crate::noise::{c_nu, gauss8};

/// The law of the label noise ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LabelNoise {
    /// ε ~ N(0, σ²).
    Gaussian { sigma: f64 },
    /// ε = s·T with T ~ t_ν (s a scale, not a standard deviation).
    StudentT { nu: f64, scale: f64 },
}

impl LabelNoise {
    /// E ε²; `None` where it is infinite (Student-t with ν ≤ 2).
    pub fn second_moment(self) -> Option<f64> {
        match self {
            LabelNoise::Gaussian { sigma } => Some(sigma * sigma),
            LabelNoise::StudentT { nu, scale } => (nu > 2.0).then(|| scale * scale * nu / (nu - 2.0)),
        }
    }

    /// φ(P) for P > 0. Gaussian: 2/(π√(2P + σ²)) exactly. Student-t: E[e^{−ε²/(4P)}] by
    /// quadrature, see [`student_gauss_mean`].
    pub fn phi(self, p: f64) -> f64 {
        match self {
            LabelNoise::Gaussian { sigma } => 2.0 / (PI * (2.0 * p + sigma * sigma).sqrt()),
            LabelNoise::StudentT { nu, scale } => {
                2.0 / PI * student_gauss_mean(nu, scale * scale / (4.0 * p)) / (2.0 * p).sqrt()
            }
        }
    }
}

/// E[e^{−aT²}] for T ~ t_ν, a > 0: with T = tan θ the density times dT is
/// c_ν (1 + tan²θ/ν)^{−(ν+1)/2} sec²θ dθ, smooth on [0, π/2) and vanishing at π/2 for ν > 1 (for
/// ν ≤ 1 the factor e^{−a tan²θ} does that). That factor has two features: a width 1/√a near
/// θ = 0 (large a) and, for heavy tails, a cut-off at π/2 − θ ≈ √a (small a). Equal 8-point
/// Gauss–Legendre panels, 64(1 + √a) + 4/√a of them, resolve both to 1e-10 relative or better
/// (checked against ν = 1's closed form e^{a} erfc(√a) for a = 1e-3 … 100 in
/// tests/it/risk_ode.rs); far finer than the Monte Carlo errors the risk curves are compared with.
pub fn student_gauss_mean(nu: f64, a: f64) -> f64 {
    let c = c_nu(nu);
    let f = |th: f64| {
        let t = th.tan();
        let sec2 = 1.0 + t * t;
        c * (1.0 + t * t / nu).powf(-0.5 * (nu + 1.0)) * sec2 * (-a * t * t).exp()
    };
    let panels = (64.0 * (1.0 + a.sqrt()) + 4.0 / a.sqrt()).ceil().min(1e5) as usize;
    let w = FRAC_PI_2 / panels as f64;
    2.0 * (0..panels).map(|i| gauss8(i as f64 * w, (i + 1) as f64 * w, f)).sum::<f64>()
}
