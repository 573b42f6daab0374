//! Closed-form stationary laws on the diagonal quadratic f = ½ Σ h_i (x_i − c_i)², drawn over
//! the simulated histograms and loss by [`crate::plot`]. With diagonal Hessian and noise every
//! coordinate is a 1-D process (docs/objective-and-noise.md), so each law here is a law of u = x_i − c_i,
//! symmetric about 0 (so the stationary mean is c_i and the variance is E u²).
//!
//! | model                    | law of u                                              | docs/         |
//! |--------------------------|-------------------------------------------------------|---------------|
//! | sgd, dsgd (Gaussian noise)| N(0, ησ²/(N h(2 − ηh))), exact for the linear recursion | sgd.md      |
//! | sgd-sde, dsgd-sde        | N(0, s²/(a(2 − aΔt))), a = h, s² = ησ²/N, Δt = η/r: exact for EM | oracles.md T1 |
//! | … with `correction = "curvature"` | the same with drift rate a = h(1 − ηh/2) | curvature.md |
//! | signsgd-sde, dsignsgd-sde| p ∝ (1 − e²)⁻¹ exp(−(2N/η) ∫₀ᵘ e/(1 − e²)), e = erf(hu/(√2σ)) (Student-t: 2F_ν(hu/s) − 1) | signsgd.md |
//! | dcsgd-sde (bernoulli, rand-k) | scaled Student-t, ν′ = 1 + 2Na/(ηωh²), scale² = (1 + ω)σ²/(ωh²ν′), a as above | compressed.md, curvature.md |
//! | dcsgd (bernoulli, rand-k, Gaussian noise) | *approximation*: Gaussian with the exact discrete variance η(1 + ω)σ²/(h(2N − ηh(N + ω))) | oracles.md T3 |
//!
//! The sign-SDE density is the zero-flux Fokker–Planck solution with diffusion (η/N)(1 − e²)
//! (N agents average N independent signs), by trapezoidal quadrature of the exponent on a grid
//! fine against the law's width and normalised numerically. The DCSGD-SDE law holds for rand-k
//! in any dimension too: the diagonal of its diffusion, (η/N)((1 + ω)σ_j² + ω(∂_j f)²), depends
//! on x_j alone, so x_j on its own is the 1-D diffusion of docs/compressed.md item 4 (the rand-k
//! correlations between coordinates do not change the marginals).
//!
//! The stationary loss E f = ½ Σ h_i E u_i² follows from these, from the exact EM second moment
//! of the DCSGD SDE (docs/oracles.md T4), and, for discrete SignSGD/DSignSGD, from the phase-3
//! approximation (η/(4N))√(π/2) Tr Σ^{1/2} (Student-t: η/(8N c_ν) Σ s_i; docs/signsgd.md,
//! docs/heavy-tails.md, docs/distributed.md), within 0.3% of simulation on the reference instance.
//! Nothing is drawn where no closed form applies (the adaptive models, discrete sign methods'
//! lattice-valued histograms, qsgd and natural compression, Student-t noise in the discrete
//! SGD family, unstable step sizes).

use std::f64::consts::{PI, SQRT_2};

use crate::experiment::{Experiment, ModelKind, Noise};
use crate::noise::{c_nu, t_central_tail};

/// A 1-D stationary law of u = x − c.
#[derive(Clone, Debug, PartialEq)]
pub enum Law {
    Gaussian {
        var: f64,
    },
    /// scale · T with T ~ t_ν.
    StudentT {
        nu: f64,
        scale: f64,
    },
    /// A normalised density on the grid u_j = j du, j ≥ 0 (even in u), zero beyond it.
    Grid {
        du: f64,
        p: Vec<f64>,
    },
    /// A normalised density on the grid u_j = lo + j du (any shape), zero beyond it.
    Table {
        lo: f64,
        du: f64,
        p: Vec<f64>,
    },
}

impl Law {
    /// The density at u.
    pub fn pdf(&self, u: f64) -> f64 {
        match self {
            Law::Gaussian { var } => (-0.5 * u * u / var).exp() / (2.0 * PI * var).sqrt(),
            Law::StudentT { nu, scale } => {
                let y = u / scale;
                c_nu(*nu) / scale * (-0.5 * (nu + 1.0) * (y * y / nu).ln_1p()).exp()
            }
            Law::Grid { du, p } => {
                let x = u.abs() / du;
                let j = x.floor() as usize;
                match (p.get(j), p.get(j + 1)) {
                    (Some(a), Some(b)) => a + (b - a) * (x - j as f64),
                    _ => 0.0,
                }
            }
            Law::Table { lo, du, p } => {
                let x = (u - lo) / du;
                if x < 0.0 {
                    return 0.0;
                }
                let j = x.floor() as usize;
                match (p.get(j), p.get(j + 1)) {
                    (Some(a), Some(b)) => a + (b - a) * (x - j as f64),
                    _ => 0.0,
                }
            }
        }
    }

    /// E u² (the variance, the law being centred).
    pub fn second_moment(&self) -> f64 {
        match self {
            Law::Gaussian { var } => *var,
            Law::StudentT { nu, scale } if *nu > 2.0 => scale * scale * nu / (nu - 2.0),
            Law::StudentT { .. } => f64::INFINITY,
            Law::Grid { du, p } => 2.0 * trapezoid(p.iter().enumerate().map(|(j, p)| (j as f64 * du).powi(2) * p), *du),
            Law::Table { lo, du, p } => {
                trapezoid(p.iter().enumerate().map(|(j, p)| (lo + j as f64 * du).powi(2) * p), *du)
            }
        }
    }
}

/// A coordinate's law with the text naming it and its source (the same for every coordinate
/// of a run) and, where it varies by coordinate, a parameter (`ν′ = 14.3`).
#[derive(Clone, Debug, PartialEq)]
pub struct CoordLaw {
    pub law: Law,
    pub label: String,
    pub detail: Option<String>,
}

/// The theory of one experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Stationary {
    /// Per coordinate (None where no closed form applies).
    pub laws: Vec<Option<CoordLaw>>,
    /// The stationary loss E f and its source.
    pub loss: Option<(f64, String)>,
}

/// The stationary theory of `exp` (none for a scheduled learning rate). `half_widths[i]` is the largest |x_i − c_i| the caller will
/// ask a density for (the histogram range); the sign-SDE grid reaches at least that far.
pub fn stationary(exp: &Experiment, half_widths: &[f64]) -> Stationary {
    use ModelKind as K;
    // Every law below is that of a constant learning rate; a schedule that decays has no
    // stationary law, and one that does not (a warm-up, milestones) reaches it only after the
    // run's schedule settles, which the records cannot tell.
    if !exp.model.schedule.is_constant() {
        return Stationary { laws: vec![None; exp.dim], loss: None };
    }
    // The closed forms below are those of the separable quadratic; other objectives have none
    // here (a run draws no theory line for them and says so).
    let Some((h, _)) = exp.objective.diagonal() else {
        return gibbs(exp, half_widths).unwrap_or(Stationary { laws: vec![None; exp.dim], loss: None });
    };
    let kind = exp.model.name;
    let eta = exp.model.eta;
    let n = f64::from(exp.model.agents);
    let dt = kind.time_per_step(eta) / f64::from(exp.run.refine);
    let gaussian_noise = matches!(exp.noise, Noise::Gaussian { .. });
    let comp = exp.model.compressor;
    // identity, bernoulli and rand-k: the diagonal of E Ω_C is ω(σ² + (∂f)²) (docs/compressed.md).
    let omega = if comp.has_sde() { Some(comp.omega(exp.dim)) } else { None };
    // The SDEs' drift rate: h, or h(1 − ηh/2) with `correction = "curvature"` (docs/curvature.md).
    let rate = |h: f64| h * exp.model.drift_factor(h);

    let laws: Vec<Option<CoordLaw>> = (0..exp.dim)
        .map(|i| {
            let (h, sd, s) = (h[i], exp.noise.std_dev(i), exp.noise.scale(i));
            let hw = half_widths.get(i).copied().unwrap_or(0.0);
            match kind {
                K::Sgd | K::Dsgd if gaussian_noise => {
                    gaussian(discrete_var(eta, h, sd, n, 0.0), "Gaussian, exact discrete variance (docs/sgd.md)")
                }
                K::Dcsgd if gaussian_noise && omega == Some(0.0) => {
                    gaussian(discrete_var(eta, h, sd, n, 0.0), "Gaussian, exact discrete variance (docs/sgd.md)")
                }
                K::Dcsgd if gaussian_noise => omega
                    .and_then(|w| {
                        let label = "Gaussian approx., exact discrete variance (docs/oracles.md T3)";
                        gaussian(discrete_var(eta, h, sd, n, w), label)
                    })
                    .map(|l| CoordLaw { detail: Some("Gaussian approx.".into()), ..l }),
                K::SgdSde | K::DsgdSde => {
                    gaussian(em_var(eta, rate(h), h, sd, n, 0.0, dt), "Gaussian, exact EM variance (docs/sgd.md)")
                }
                K::DcsgdSde => match omega {
                    Some(0.0) => {
                        gaussian(em_var(eta, rate(h), h, sd, n, 0.0, dt), "Gaussian, exact EM variance (docs/sgd.md)")
                    }
                    Some(w) => dcsgd_sde_law(eta, rate(h), h, sd, n, w),
                    None => None,
                },
                K::SignsgdSde | K::DsignsgdSde => sign_sde_law(eta, h, s, exp.noise.nu(i), n, hw).map(|law| CoordLaw {
                    law,
                    label: "Fokker–Planck density (docs/signsgd.md)".into(),
                    detail: None,
                }),
                _ => None,
            }
        })
        .collect();

    let half_sum = |f: &dyn Fn(usize) -> f64| -> Option<f64> {
        let v: f64 = (0..exp.dim).map(|i| 0.5 * h[i] * f(i)).sum();
        (v.is_finite() && v > 0.0).then_some(v)
    };
    let w = omega.unwrap_or(f64::NAN);
    let sd = |i| exp.noise.std_dev(i);
    let loss = match kind {
        K::Sgd | K::Dsgd => {
            half_sum(&|i| discrete_var(eta, h[i], sd(i), n, 0.0)).map(|v| (v, "exact discrete (docs/sgd.md)"))
        }
        K::SgdSde | K::DsgdSde => {
            half_sum(&|i| em_var(eta, rate(h[i]), h[i], sd(i), n, 0.0, dt)).map(|v| (v, "exact EM (docs/sgd.md)"))
        }
        K::Dcsgd => {
            half_sum(&|i| discrete_var(eta, h[i], sd(i), n, w)).map(|v| (v, "exact discrete (docs/oracles.md T3)"))
        }
        K::DcsgdSde => {
            half_sum(&|i| em_var(eta, rate(h[i]), h[i], sd(i), n, w, dt)).map(|v| (v, "exact EM (docs/oracles.md T4)"))
        }
        K::SignsgdSde | K::DsignsgdSde => {
            let m2: Option<Vec<f64>> = laws.iter().map(|l| l.as_ref().map(|l| l.law.second_moment())).collect();
            m2.and_then(|m2| half_sum(&|i| m2[i])).map(|v| (v, "Fokker–Planck (docs/signsgd.md)"))
        }
        K::Signsgd | K::Dsignsgd => {
            // E f = η s/(8N c_ν) per coordinate; Gaussian c = 1/√(2π) gives (η/(4N))√(π/2) σ.
            let per = |i: usize| {
                let s = exp.noise.scale(i);
                let c = exp.noise.nu(i).map_or(1.0 / (2.0 * PI).sqrt(), c_nu);
                if s > 0.0 { eta * s / (8.0 * n * c) } else { f64::NAN }
            };
            let v: f64 = (0..exp.dim).map(per).sum();
            let label = match (kind, gaussian_noise) {
                (K::Dsignsgd, _) => "phase-3 approximation (docs/distributed.md)",
                (_, true) => "phase-3 approximation (docs/signsgd.md)",
                _ => "phase-3 approximation (docs/heavy-tails.md)",
            };
            (v.is_finite() && v > 0.0).then_some((v, label))
        }
        _ => None,
    };
    Stationary { laws, loss: loss.map(|(v, l)| (v, l.to_string())) }
}

fn gaussian(var: f64, label: &str) -> Option<CoordLaw> {
    (var.is_finite() && var > 0.0).then(|| CoordLaw {
        law: Law::Gaussian { var },
        label: label.to_string(),
        detail: None,
    })
}

/// Exact stationary E u² of discrete (D)(C)SGD: η(1 + ω)σ²/(h(2N − ηh(N + ω))) (docs/compressed.md item 2;
/// ω = 0 is docs/sgd.md's ησ²/(N h(2 − ηh))); infinite when not mean-square stable.
fn discrete_var(eta: f64, h: f64, sd: f64, n: f64, omega: f64) -> f64 {
    let den = h * (2.0 * n - eta * h * (n + omega));
    if den > 0.0 { eta * (1.0 + omega) * sd * sd / den } else { f64::INFINITY }
}

/// Exact stationary E u² of Euler–Maruyama for the (DC)SGD SDE with step Δt and drift rate a
/// (h, or h(1 − ηh/2) with the curvature correction): (η/N)(1 + ω)σ²/(a(2 − aΔt) − ηωh²/N)
/// (docs/oracles.md T4; ω = 0 is T1's s²/(a(2 − aΔt))).
fn em_var(eta: f64, a: f64, h: f64, sd: f64, n: f64, omega: f64, dt: f64) -> f64 {
    let den = a * (2.0 - a * dt) - eta * omega * h * h / n;
    if den > 0.0 { eta / n * (1.0 + omega) * sd * sd / den } else { f64::INFINITY }
}

/// The DCSGD SDE's 1-D law with drift rate a (docs/compressed.md item 4, docs/curvature.md):
/// scale · t_ν′, ν′ = 1 + 2Na/(ηωh²) (1 + 2N/(ηωh) for a = h), scale² = (1 + ω)σ²/(ωh²ν′).
/// Beyond ν′ = 10⁸ it is the Gaussian of the same variance; none when a ≤ 0 (no restoring drift).
fn dcsgd_sde_law(eta: f64, a: f64, h: f64, sd: f64, n: f64, omega: f64) -> Option<CoordLaw> {
    if a <= 0.0 {
        return None;
    }
    let nu = 1.0 + 2.0 * n * a / (eta * omega * h * h);
    let scale = ((1.0 + omega) * sd * sd / (omega * h * h * nu)).sqrt();
    if !(nu.is_finite() && scale.is_finite() && scale > 0.0) {
        return None;
    }
    let law =
        if nu > 1e8 { Law::Gaussian { var: scale * scale * nu / (nu - 2.0) } } else { Law::StudentT { nu, scale } };
    let label = "scaled Student-t, ν′ = 1 + 2Na/(ηωh²) (docs/compressed.md)".to_string();
    Some(CoordLaw { law, label, detail: Some(format!("ν′ = {}", fmt_sig(nu))) })
}

/// The sign SDE's zero-flux stationary density (docs/signsgd.md) for drift −e(u) and diffusion
/// (η/N)(1 − e(u)²), e(u) = erf(hu/(√2σ)) or, for Student-t noise with scale s, 2F_ν(hu/s) − 1:
/// ln p = −ln(1 − e²) − (2N/η) ∫₀ᵘ e/(1 − e²), integrated by the trapezoid rule from u = 0
/// until u ≥ `min_half_width` and p has fallen e⁻⁶⁰ below its maximum.
fn sign_sde_law(eta: f64, h: f64, s: f64, nu: Option<f64>, n: f64, min_half_width: f64) -> Option<Law> {
    if !(s > 0.0 && h > 0.0) {
        return None;
    }
    // (e, 1 − e²) at u ≥ 0, with 1 − e² from the complement (no cancellation where e → 1).
    let e_q = |u: f64| match nu {
        None => {
            let (erf, erfc) = erf_erfc(h * u / (SQRT_2 * s));
            (erf, erfc * (2.0 - erfc))
        }
        Some(v) => {
            let (a, b) = t_central_tail(h * u / s, v);
            (a, b * (1.0 + a))
        }
    };
    let k = 2.0 * n / eta;
    // The law's width: the phase-3 standard deviation √(η s/(4N c_ν h)), or, when η h/s is
    // large, the scale s/h beyond which e saturates.
    let c = nu.map_or(1.0 / (2.0 * PI).sqrt(), c_nu);
    let width = (eta * s / (4.0 * n * c * h)).sqrt().min(SQRT_2 * s / h);
    let du = (width / 400.0).max(min_half_width / 50_000.0);
    let mut lp = vec![0.0f64];
    let (mut phi, mut g_prev, mut max) = (0.0f64, 0.0f64, 0.0f64);
    for j in 1..=2_000_000usize {
        let u = j as f64 * du;
        let (e, q) = e_q(u);
        if q <= 0.0 || !q.is_finite() {
            break;
        }
        let g = e / q;
        phi -= k * 0.5 * (g_prev + g) * du;
        g_prev = g;
        let l = phi - q.ln();
        max = max.max(l);
        lp.push(l);
        if u >= min_half_width && l < max - 60.0 {
            break;
        }
    }
    let mut p: Vec<f64> = lp.iter().map(|l| (l - max).exp()).collect();
    let z = 2.0 * trapezoid(p.iter().copied(), du);
    if !(z.is_finite() && z > 0.0) {
        return None;
    }
    p.iter_mut().for_each(|v| *v /= z);
    Some(Law::Grid { du, p })
}

/// The Gibbs law of the SGD SDE on a 1-D formula objective, dX = −f′(X) dt + √η σ dW with
/// Gaussian noise: p ∝ exp(−2f/(ησ²)) (docs/objectives.md), by quadrature on a grid that covers
/// the histogram (`half_widths`) and reaches out until the density is below e⁻⁶⁰ of its peak
/// (at most |x| ≤ 10⁴); and E f under it. None for other objectives, models and noises, or a
/// law that does not normalise (f bounded below too weakly).
fn gibbs(exp: &Experiment, half_widths: &[f64]) -> Option<Stationary> {
    let gaussian_noise = matches!(exp.noise, Noise::Gaussian { .. });
    if exp.dim != 1 || exp.objective.formula().is_none() || exp.model.name != ModelKind::SgdSde || !gaussian_noise {
        return None;
    }
    let temp = exp.model.eta * exp.noise.std_dev(0).powi(2) / 2.0;
    if temp <= 0.0 {
        return None;
    }
    let loss = exp.objective.loss_fn();
    let f = |x: f64| loss(&[x]);
    let inside = half_widths.first().copied().unwrap_or(1.0).max(1e-6);
    let n = 20_000usize;
    // Widen [−r, r] until the ends are negligible against the bulk.
    let mut r = inside;
    let (lo, du, p, ef) = loop {
        let du = 2.0 * r / n as f64;
        let xs: Vec<f64> = (0..=n).map(|j| -r + j as f64 * du).collect();
        let us: Vec<f64> = xs.iter().map(|&x| f(x) / temp).collect();
        let umin = us.iter().copied().filter(|u| u.is_finite()).fold(f64::INFINITY, f64::min);
        let p: Vec<f64> = us.iter().map(|u| if u.is_finite() { (umin - u).exp() } else { 0.0 }).collect();
        let edge = p[0].max(p[n]);
        if edge < (-60.0f64).exp() || r >= 1e4 {
            let z = trapezoid(p.iter().copied(), du);
            if !(z.is_finite() && z > 0.0) || edge >= (-60.0f64).exp() {
                return None;
            }
            let p: Vec<f64> = p.iter().map(|v| v / z).collect();
            let ef = trapezoid(xs.iter().zip(&p).map(|(&x, &q)| f(x) * q), du);
            break (-r, du, p, ef);
        }
        r *= 2.0;
    };
    let label = "Gibbs density exp(-2f/(eta sigma^2)), SGD SDE (docs/objectives.md)".to_string();
    Some(Stationary {
        laws: vec![Some(CoordLaw { law: Law::Table { lo, du, p }, label: label.clone(), detail: None })],
        loss: Some((ef, label)),
    })
}

/// ∫₀^{(n−1)du} of samples f_0 … f_{n−1} by the trapezoid rule.
fn trapezoid(f: impl Iterator<Item = f64>, du: f64) -> f64 {
    let (mut sum, mut first, mut last) = (0.0, None, 0.0);
    for v in f {
        sum += v;
        first.get_or_insert(v);
        last = v;
    }
    (sum - 0.5 * (first.unwrap_or(0.0) + last)) * du
}

/// (erf x, erfc x) for x ≥ 0 in f64: the Maclaurin series below 2 (terms ≤ e^{x²} ≈ 55, so
/// ~1e-14 absolute), the continued fraction erfc x = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x +
/// …)))) from 2 on (relative ~1e-15). Plots need no more; the device's f32 erf is
/// [`crate::math::erf_f32`].
pub fn erf_erfc(x: f64) -> (f64, f64) {
    let x = x.abs();
    if x < 2.0 {
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        for k in 1..200 {
            let k = f64::from(k);
            term *= -x2 / k;
            let t = term / (2.0 * k + 1.0);
            sum += t;
            if t.abs() < 1e-17 * sum {
                break;
            }
        }
        let erf = sum * 2.0 / PI.sqrt();
        (erf, 1.0 - erf)
    } else {
        // Backward evaluation of the fraction's tail, 120 terms (converged to f64 for x ≥ 2).
        let mut f = x;
        for k in (1..=120).rev() {
            f = x + 0.5 * f64::from(k) / f;
        }
        let erfc = (-x * x).exp() / (PI.sqrt() * f);
        (1.0 - erfc, erfc)
    }
}

/// Three significant digits without trailing zeros (legend and tick text): 0.0035, 14.3,
/// 2.5e-4, 1.2e6.
pub fn fmt_sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        format!("{x}")
    } else if x.abs() >= 1e5 || x.abs() < 1e-3 {
        let s = format!("{x:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        format!("{m}e{e}")
    } else {
        let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    }
}
