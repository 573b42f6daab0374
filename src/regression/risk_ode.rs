//! The deterministic risk curves of one-pass least squares with Gaussian data in high dimension
//! (docs/regression.md derives them): signSGD's, through the signHSGD limit, and plain SGD's,
//! both in the time t = k/d of steps of size η/d, with their fixed points at constant η.

use super::label::LabelNoise;
use crate::objective::dense::symmetric_eigen;

/// One-pass least squares: data a ~ N(0, K), labels y = aᵀθ* + ε, the iterate started at `x0`;
/// η is the step in the time t = k/d (each step moves by η/d).
#[derive(Clone, Debug)]
pub struct RiskProblem {
    /// The data covariance K, symmetric positive definite, d × d.
    pub k: Vec<Vec<f64>>,
    /// θ*.
    pub target: Vec<f64>,
    pub x0: Vec<f64>,
    pub eta: f64,
    /// The law of ε.
    pub label: LabelNoise,
}

/// The excess risk P = ½ rᵀKr, r = θ − θ*, at the requested times.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskCurve {
    pub t: Vec<f64>,
    pub risk: Vec<f64>,
}

/// The modes of signHSGD's risk ODE: with D = diag K and K̃ = D^{−1/4} K D^{−1/4} = Σ λⱼ uⱼuⱼᵀ,
/// the eigenvalues λⱼ, the noise weights qⱼ = uⱼᵀ D^{1/4} K_σ D^{1/4} uⱼ with
/// K_σ = (2/π) arcsin(D^{−1/2} K D^{−1/2}) (entrywise), and the start zⱼ = ⟨uⱼ, D^{1/4} r₀⟩².
struct SignModes {
    lambda: Vec<f64>,
    q: Vec<f64>,
    z0: Vec<f64>,
}

fn sign_modes(pr: &RiskProblem) -> SignModes {
    let d = pr.k.len();
    let root4: Vec<f64> = (0..d).map(|i| pr.k[i][i].sqrt().sqrt()).collect();
    let k_tilde: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| pr.k[i][j] / (root4[i] * root4[j])).collect()).collect();
    let (lambda, u) = symmetric_eigen(&k_tilde);
    // D^{1/4} K_σ D^{1/4}; its diagonal is K_i^{1/2} exactly (K_σ's is 1).
    let k_sigma = crate::objective::rotated::sign_covariance(&pr.k);
    let weighted: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| if i == j { pr.k[i][i].sqrt() } else { root4[i] * root4[j] * k_sigma[i][j] }).collect())
        .collect();
    let s0: Vec<f64> = (0..d).map(|i| root4[i] * (pr.x0[i] - pr.target[i])).collect();
    let mut q = Vec::with_capacity(d);
    let mut z0 = Vec::with_capacity(d);
    for j in 0..d {
        let uj: Vec<f64> = (0..d).map(|i| u[i][j]).collect();
        let wu: Vec<f64> = (0..d).map(|i| (0..d).map(|l| weighted[i][l] * uj[l]).sum()).collect();
        q.push(uj.iter().zip(&wu).map(|(a, b)| a * b).sum());
        let proj: f64 = uj.iter().zip(&s0).map(|(a, b)| a * b).sum();
        z0.push(proj * proj);
    }
    SignModes { lambda, q, z0 }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Classical fourth-order Runge–Kutta of ż = rhs(z) from `z0`, sampled at `times` (ascending,
/// ≥ 0) with steps of at most `dt`; `risk` maps a state to P.
fn integrate(
    z0: Vec<f64>,
    times: &[f64],
    dt: f64,
    rhs: impl Fn(&[f64], &mut [f64]),
    risk: impl Fn(&[f64]) -> f64,
) -> RiskCurve {
    let n = z0.len();
    let (mut z, mut t) = (z0, 0.0);
    let (mut k1, mut k2, mut k3, mut k4, mut tmp) =
        (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut out = RiskCurve { t: Vec::new(), risk: Vec::new() };
    for &target in times {
        while t < target {
            let h = dt.min(target - t);
            rhs(&z, &mut k1);
            (0..n).for_each(|i| tmp[i] = z[i] + 0.5 * h * k1[i]);
            rhs(&tmp, &mut k2);
            (0..n).for_each(|i| tmp[i] = z[i] + 0.5 * h * k2[i]);
            rhs(&tmp, &mut k3);
            (0..n).for_each(|i| tmp[i] = z[i] + h * k3[i]);
            rhs(&tmp, &mut k4);
            (0..n).for_each(|i| z[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
            t += h;
        }
        out.t.push(target);
        out.risk.push(risk(&z));
    }
    out
}

/// signSGD's risk ODE (the signHSGD limit, t = k/d): żⱼ = −2ηφ(P)λⱼzⱼ + (η²/d)qⱼ with
/// P = ½ Σ λⱼzⱼ, by RK4 with steps of at most `dt`.
pub fn sign_risk(pr: &RiskProblem, times: &[f64], dt: f64) -> RiskCurve {
    let m = sign_modes(pr);
    let d = pr.k.len() as f64;
    let (eta, label) = (pr.eta, pr.label);
    let p_of = |z: &[f64]| 0.5 * dot(z, &m.lambda);
    let rhs = |z: &[f64], dz: &mut [f64]| {
        let phi = label.phi(p_of(z));
        for j in 0..z.len() {
            dz[j] = -2.0 * eta * phi * m.lambda[j] * z[j] + eta * eta / d * m.q[j];
        }
    };
    integrate(m.z0.clone(), times, dt, rhs, p_of)
}

/// SGD's risk ODE (t = k/d): in K's eigenbasis (eigenvalues λⱼ), vⱼ = ½⟨r, eⱼ⟩² follows
/// v̇ⱼ = −2ηλⱼvⱼ + (η²/(2d))λⱼ(2P + E ε²) with P = Σ λⱼvⱼ, by RK4 with steps of at most `dt`;
/// `None` where E ε² is infinite.
pub fn sgd_risk(pr: &RiskProblem, times: &[f64], dt: f64) -> Option<RiskCurve> {
    let s2 = pr.label.second_moment()?;
    let d = pr.k.len();
    let (lambda, e) = symmetric_eigen(&pr.k);
    let r0: Vec<f64> = (0..d).map(|i| pr.x0[i] - pr.target[i]).collect();
    let v0: Vec<f64> = (0..d)
        .map(|j| {
            let p: f64 = (0..d).map(|i| e[i][j] * r0[i]).sum();
            0.5 * p * p
        })
        .collect();
    let (eta, df) = (pr.eta, d as f64);
    let p_of = |v: &[f64]| dot(v, &lambda);
    let rhs = |v: &[f64], dv: &mut [f64]| {
        let p = p_of(v);
        for j in 0..v.len() {
            dv[j] = -2.0 * eta * lambda[j] * v[j] + eta * eta / (2.0 * df) * lambda[j] * (2.0 * p + s2);
        }
    };
    Some(integrate(v0, times, dt, rhs, p_of))
}

/// signSGD's stationary excess risk at constant η: the root of P φ(P) = (η/(4d)) Σᵢ √Kᵢᵢ
/// (stationary zⱼ = ηqⱼ/(2dφλⱼ) and Σⱼ qⱼ = tr(D^{1/2}K_σ) = Σᵢ √Kᵢᵢ, diag K_σ = 1).
/// P φ(P) = (2/π)√(P/2) E[e^{−ε²/(4P)}] increases from 0 without bound (both factors increase
/// with P), so the root is unique; bisection to 1e-15 relative.
pub fn sign_fixed_point(pr: &RiskProblem) -> f64 {
    let d = pr.k.len() as f64;
    let rhs = pr.eta / (4.0 * d) * (0..pr.k.len()).map(|i| pr.k[i][i].sqrt()).sum::<f64>();
    let g = |p: f64| p * pr.label.phi(p) - rhs;
    let (mut lo, mut hi) = (0.0, 1.0);
    while g(hi) < 0.0 {
        hi *= 2.0;
    }
    while hi - lo > 1e-15 * hi {
        let mid = 0.5 * (lo + hi);
        if g(mid) < 0.0 { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// SGD's stationary excess risk at constant η: with vⱼ = η(2P + E ε²)/(4d) for every j,
/// P = η E ε² tr K/(4d) / (1 − η tr K/(2d)); `None` when η tr K ≥ 2d (no stationary point:
/// the risk grows) or E ε² is infinite.
pub fn sgd_fixed_point(pr: &RiskProblem) -> Option<f64> {
    let s2 = pr.label.second_moment()?;
    let d = pr.k.len() as f64;
    let tr: f64 = (0..pr.k.len()).map(|i| pr.k[i][i]).sum();
    let denom = 1.0 - pr.eta * tr / (2.0 * d);
    (denom > 0.0).then(|| pr.eta * s2 * tr / (4.0 * d) / denom)
}
