//! RMSprop(W) and Adam(W), optimizers and SDEs, against the docs/adaptive.md / docs/oracles.md oracles on every
//! engine. Tolerances: [`Z::ONE`] standard errors (batch spread) plus a stated model-bias
//! allowance where the oracle is an approximation (the Monte Carlo ratios of docs/oracles.md).

use crate::common;
use crate::tolerance::{Tolerance, Z};

use common::{exp, per_engine, run};
use optsde::plan::Engine;

const H: [f64; 4] = [1.0, 2.0, 5.0, 10.0];
const SIGMA: [f64; 4] = [1.0, 2.0, 0.5, 3.0];
const ETA: f64 = 1e-3;

/// The reference quadratic with an adaptive model; `extra` lands in `[model]`.
fn adaptive(model: &str, extra: &str, paths: u64, steps: u64, start: u64) -> optsde::spec::Experiment {
    exp(&format!(
        r#"
[model]
name = "{model}"
eta = 1e-3
{extra}
[objective]
name = "quadratic"
h = [1.0, 2.0, 5.0, 10.0]
[noise]
name = "gaussian"
sigma = [1.0, 2.0, 0.5, 3.0]
[run]
paths = {paths}
steps = {steps}
seed = 3
[record]
every = {rec}
[stationary]
start = {start}
every = 10
bins = 32
"#,
        rec = steps / 4
    ))
}

/// docs/adaptive.md RMSpropW / AdamW stationary loss with ε → 0: (η/4) Σ h σ/(h + θσ) · ρ₁/(ρ₁ + θ)
/// (the last factor for AdamW only, ρ₁ = (1 − β₁)/η).
fn stationary_loss(theta: f64, rho1: Option<f64>) -> f64 {
    let f = rho1.map_or(1.0, |r| r / (r + theta));
    (0..4).map(|i| ETA / 4.0 * H[i] * SIGMA[i] / (H[i] + theta * SIGMA[i]) * f).sum()
}

/// docs/oracles.md S4 and S5: RMSprop (β = 0.99, ε = 1e-8 ≈ 0) at θ = 0 and RMSpropW at θ = 5, the
/// optimizer and the P1 SDE. Allowance 1%: the formula freezes V at σ² (Monte Carlo ratios
/// 0.9946 and 0.9961). Burn-in 5000 steps ≥ 5/a_min (a = h/σ + θ ≥ 1).
fn rmsprop_stationary_loss_s4_s5(name: &str, e: &mut dyn Engine) {
    assert!((stationary_loss(0.0, None) - 1.625e-3).abs() < 1e-12);
    assert!((stationary_loss(5.0, None) - 5.083333e-4).abs() < 1e-9);
    for model in ["rmsprop", "rmsprop-sde"] {
        for theta in [0.0, 5.0] {
            let x = adaptive(model, &format!("beta = 0.99\neps = 1e-8\nweight_decay = {theta}"), 4096, 25000, 5000);
            let r = run(&x, e).unwrap();
            let want = stationary_loss(theta, None);
            let what = format!("{name} {model} theta={theta} stationary loss");
            Tolerance::se(Z::ONE, r.stationary.loss_se).bias(0.01 * want).assert(&what, r.stationary.loss_mean, want);
        }
    }
}
per_engine!(rmsprop_stationary_loss_s4_s5);

/// docs/adaptive.md "frozen-V" exact discrete oracle (T5): with v̂ = σ², AdamW is the linear recursion
/// s ← A s + b ξ on s = (x, m); its stationary covariance solves S = A S Aᵀ + b bᵀ (summed here
/// by doubling: S ← S + Aⁿ S Aⁿᵀ, Aⁿ ← Aⁿ Aⁿ).
fn frozen_v_second_moment(h: f64, sigma: f64, theta: f64, beta1: f64) -> f64 {
    let p = sigma;
    let a = [[1.0 - ETA * theta - ETA / p * (1.0 - beta1) * h, -ETA / p * beta1], [(1.0 - beta1) * h, beta1]];
    let b = [-ETA / p * (1.0 - beta1) * sigma, (1.0 - beta1) * sigma];
    let mul = |x: [[f64; 2]; 2], y: [[f64; 2]; 2]| {
        let mut z = [[0.0; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                z[i][j] = x[i][0] * y[0][j] + x[i][1] * y[1][j];
            }
        }
        z
    };
    let tr = |x: [[f64; 2]; 2]| [[x[0][0], x[1][0]], [x[0][1], x[1][1]]];
    let mut s = [[b[0] * b[0], b[0] * b[1]], [b[1] * b[0], b[1] * b[1]]];
    let mut an = a;
    for _ in 0..64 {
        let add = mul(mul(an, s), tr(an));
        for i in 0..2 {
            for j in 0..2 {
                s[i][j] += add[i][j];
            }
        }
        an = mul(an, an);
    }
    s[0][0]
}

/// docs/oracles.md S6 and T5: AdamW (β₁ = 0.9, β₂ = 0.999) at θ ∈ {0, 5, 50}.
/// * The optimizer's per-coordinate E x² against the frozen-V discrete Lyapunov solution (T5),
///   within [`Z::ONE`] SE + 0.2% (the model bias stated in docs/adaptive.md: the full optimizer matches it
///   within 0.2%).
/// * Optimizer and P1 SDE (consistent correction) stationary loss against the docs/adaptive.md formula
///   (S6: 1.625e-3, 4.841270e-4, 5.494281e-5) within [`Z::ONE`] SE + an allowance of
///   1% / 2% / 5% for θ = 0 / 5 / 50 (the time-discretisation gap of docs/adaptive.md, 4% at θ = 50).
fn adamw_stationary_s6_t5(name: &str, e: &mut dyn Engine) {
    let rho1 = (1.0 - 0.9) / ETA;
    let want = [1.625e-3, 4.841270e-4, 5.494281e-5];
    for (th, w) in [0.0, 5.0, 50.0].iter().zip(want) {
        assert!((stationary_loss(*th, Some(rho1)) - w).abs() < 1e-6 * w, "formula at theta {th}");
    }
    for model in ["adam", "adam-sde"] {
        for (theta, allow) in [(0.0, 0.01), (5.0, 0.02), (50.0, 0.05)] {
            let extra = format!("beta1 = 0.9\nbeta2 = 0.999\neps = 1e-8\nweight_decay = {theta}");
            let x = adaptive(model, &extra, 4096, 26000, 6000);
            let r = run(&x, e).unwrap();
            let st = &r.stationary;
            let w = stationary_loss(theta, Some(rho1));
            let what = format!("{name} {model} theta={theta} stationary loss");
            Tolerance::se(Z::ONE, st.loss_se).bias(allow * w).assert(&what, st.loss_mean, w);
            if model == "adam" {
                for i in 0..4 {
                    let s11 = frozen_v_second_moment(H[i], SIGMA[i], theta, 0.9);
                    let what = format!("{name} adam theta={theta} E x{i}^2 vs frozen-V Lyapunov");
                    let tol = Tolerance::se(Z::ONE, st.second_moment_se[i]).bias(0.002 * s11);
                    tol.assert(&what, st.second_moment[i], s11);
                }
            }
        }
    }
}
per_engine!(adamw_stationary_s6_t5);

/// docs/oracles.md T13 (docs/adaptive.md, the correction and its noise companion): h = σ = 1,
/// θ = 0, β₁ = 0.9, η = 1e-3. The stationary E X² in units of ησ/(2h) is 1 with the consistent
/// correction and without any, and ≈ 0.809 with the drift correction alone (frozen-V 2-D Lyapunov
/// value). [`Z::ONE`] SE plus a 1.5% allowance for the V fluctuations the frozen-V values ignore.
fn adam_sde_drift_only_correction_is_biased_low_t13(name: &str, e: &mut dyn Engine) {
    for (correction, want) in [("consistent", 1.0), ("none", 1.0), ("drift-only", 0.809)] {
        let x = exp(&format!(
            "[model]\nname = 'adam-sde'\neta = 1e-3\nbeta1 = 0.9\nbeta2 = 0.999\neps = 1e-8\ncorrection = '{correction}'\n\
             [objective]\nname = 'quadratic'\nh = 1.0\n[noise]\nname = 'gaussian'\nsigma = 1.0\n\
             [run]\npaths = 16384\nsteps = 26000\nseed = 5\n[record]\nevery = 13000\n\
             [stationary]\nstart = 6000\nevery = 10\nbins = 16\n"
        ));
        let r = run(&x, e).unwrap();
        let unit = ETA / 2.0;
        let (v, se) = (r.stationary.second_moment[0] / unit, r.stationary.second_moment_se[0] / unit);
        let what = format!("{name} adam-sde correction={correction} E X^2/(eta sigma/2h)");
        Tolerance::se(Z::ONE, se).bias(0.015).assert(&what, v, want);
    }
}
per_engine!(adam_sde_drift_only_correction_is_biased_low_t13);

/// The P7 SDEs report time t = kη² and match their optimizers' stationary losses as the P1
/// forms do (no (∇f)² in dV: at stationarity (∇f)² = O(η), so the loss is the same to O(η));
/// [`Z::ONE`] SE plus the 1% allowance of the P1 forms.
fn malladi_sdes_stationary_loss(name: &str, e: &mut dyn Engine) {
    for (model, extra, want) in [
        ("rmsprop-malladi-sde", "beta = 0.99\neps = 1e-8", stationary_loss(0.0, None)),
        ("adam-malladi-sde", "beta1 = 0.9\nbeta2 = 0.999\neps = 1e-8", stationary_loss(0.0, Some(100.0))),
    ] {
        let x = adaptive(model, extra, 4096, 26000, 6000);
        let r = run(&x, e).unwrap();
        Tolerance::se(Z::ONE, r.stationary.loss_se).bias(0.01 * want).assert(
            &format!("{name} {model} stationary loss"),
            r.stationary.loss_mean,
            want,
        );
    }
}
per_engine!(malladi_sdes_stationary_loss);

/// The reference quadratic from x0 = 1 with ρ₁ = 10, ρ₂ = 1 per unit time (β_i = 1 − ηρ_i, the
/// P1 convention, so the SDE is the same for every η) up to t = 2.
fn transient(model: &str, eta: f64, refine: u32, paths: u64) -> optsde::spec::Experiment {
    let (b1, b2) = (1.0 - eta * 10.0, 1.0 - eta);
    let steps = (2.0 / eta).round() as u64;
    exp(&format!(
        "[model]\nname = '{model}'\neta = {eta}\nbeta1 = {b1}\nbeta2 = {b2}\neps = 1e-8\n\
         [objective]\nname = 'quadratic'\nh = [1.0, 2.0, 5.0, 10.0]\n[noise]\nname = 'gaussian'\nsigma = [1.0, 2.0, 0.5, 3.0]\n\
         [init]\nx0 = 1.0\n[run]\npaths = {paths}\nsteps = {steps}\nrefine = {refine}\nseed = 9\n\
         [record]\nevery = {}\n[stationary]\nstart = {}\nrange = [-2.0, 2.0]\n",
        steps / 8,
        steps / 2
    ))
}

/// Largest |E f(x_k) − E f(X_{kη})| over the 8 common record times, and its standard error.
fn weak_gap(a: &optsde::plan::RunResult, b: &optsde::plan::RunResult) -> (f64, f64) {
    let d = a.records[0].q.len() - 1;
    a.records
        .iter()
        .zip(&b.records)
        .skip(1)
        .map(|(ra, rb)| {
            let (qa, qb) = (ra.q[d], rb.q[d]);
            ((qa.mean - qb.mean).abs(), ((qa.var() / qa.n) + (qb.var() / qb.n)).sqrt())
        })
        .fold((0.0, 0.0), |acc, g| if g.0 > acc.0 { g } else { acc })
}

/// Issue 3, item 3: the weak error between the Adam optimizer and the P1 Adam SDE (EM with
/// refine 8, whose own error is also O(η)) shrinks in proportion to η: the least-squares slope
/// of log gap against log η over η = 4e-3, 2e-3, 1e-3 lies in [0.7, 1.3] (measured 0.84 here;
/// below 1 because the gap is η(A ln(1/η) + B), docs/adaptive.md "Weak error from v₀ = 0", which
/// tests/it/compare_rotated.rs checks), and every gap is resolved (> 5 SE).
/// The P7 SDE does not converge in this regime: from x0 = 1 the gradient dominates the noise,
/// (∇f)² ≫ σ², which P7's dV (noise only) leaves out; its gap stays (ratio over the two halvings
/// < 1.5, measured 1.0). Near stationarity, where its assumption holds, it matches the
/// optimizer (`malladi_sdes_stationary_loss`).
fn adam_weak_error_is_first_order(name: &str, e: &mut dyn Engine) {
    let etas = [4e-3, 2e-3, 1e-3];
    let mut p1 = Vec::new();
    let mut p7 = Vec::new();
    for eta in etas {
        let opt = run(&transient("adam", eta, 1, 8192), e).unwrap();
        let sde = run(&transient("adam-sde", eta, 8, 8192), e).unwrap();
        let mal = run(&transient("adam-malladi-sde", eta, 8, 8192), e).unwrap();
        let (g, se) = weak_gap(&opt, &sde);
        assert!(g > 5.0 * se, "{name} eta {eta}: gap {g:e} not resolved (SE {se:e})");
        p1.push(g);
        p7.push(weak_gap(&opt, &mal).0);
    }
    let lx: Vec<f64> = etas.iter().map(|v: &f64| v.ln()).collect();
    let ly: Vec<f64> = p1.iter().map(|v| v.ln()).collect();
    let (mx, my) = (lx.iter().sum::<f64>() / 3.0, ly.iter().sum::<f64>() / 3.0);
    let slope = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>()
        / lx.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
    eprintln!("{name}: adam-sde weak gaps {p1:?}, slope {slope:.3}; adam-malladi-sde gaps {p7:?}");
    assert!((0.7..=1.3).contains(&slope), "{name}: weak-error slope {slope:.3} outside [0.7, 1.3] (gaps {p1:?})");
    assert!(p7[0] / p7[2] < 1.5, "{name}: P7 gap unexpectedly shrinks: {p7:?}");
}
per_engine!(adam_weak_error_is_first_order);

/// docs/oracles.md S9 (docs/adaptive.md scaling rule, AdamW, κ = 2): (η, B, 1 − β_i, ε, θ) → (κη,
/// κ²B, κ²(1 − β_i), ε/κ, κθ), with κ²B as σ → σ/κ. Base η = 1e-3, 1 − β₁ = 0.01, 1 − β₂ = 1e-3,
/// θ = 5, x0 = 1. Stationary losses agree within [`Z::ONE`] SE (of the difference) plus 1.5%
/// (measured in docs/oracles.md: 3.399e-4 vs 3.424e-4, a 0.7% time-discretisation gap; the frozen-V
/// Lyapunov values are 3.400e-4 and 3.436e-4); the steps to reach 1.1× the stationary loss drop by
/// κ² = 4 (docs/oracles.md check: 720 vs 177) to within ±25%.
fn adamw_scaling_rule_s9(name: &str, e: &mut dyn Engine) {
    let build = |k: f64, steps: u64, every: u64| {
        exp(&format!(
            "[model]\nname = 'adam'\neta = {}\nbeta1 = {}\nbeta2 = {}\neps = {}\nweight_decay = {}\n\
                 [objective]\nname = 'quadratic'\nh = [1.0, 2.0, 5.0, 10.0]\n[noise]\nname = 'gaussian'\n\
                 sigma = [{}, {}, {}, {}]\n[init]\nx0 = 1.0\n[run]\npaths = 4096\nsteps = {steps}\nseed = 13\n\
                 [record]\nevery = {every}\n[stationary]\nstart = {}\nevery = 4\n",
            1e-3 * k,
            1.0 - 0.01 * k * k,
            1.0 - 1e-3 * k * k,
            1e-8 / k,
            5.0 * k,
            1.0 / k,
            2.0 / k,
            0.5 / k,
            3.0 / k,
            steps / 3
        ))
    };
    // Burn-in ρ₂t = 10: from x0 = 1, V starts far above σ² (it sees (∇f)²) and relaxes only
    // at rate ρ₂ (1 per unit time in the base run); a shorter burn-in biases the loss low.
    // The stationary losses come from the full runs, recorded coarsely; the steps to reach
    // 1.1× from the first tenth of each run recorded every 2 steps. A path's steps do not
    // depend on the run's length or segments (the generator is keyed by path and step), so
    // those records are the full runs' own; one record per 2 steps over the whole of the
    // runs made 18750 dispatches, 119 s of the suite on lavapipe.
    let base = run(&build(1.0, 30000, 150), e).unwrap();
    let scaled = run(&build(2.0, 7500, 150), e).unwrap();
    let base_start = run(&build(1.0, 3000, 2), e).unwrap();
    let scaled_start = run(&build(2.0, 750, 2), e).unwrap();
    let (a, b) = (&base.stationary, &scaled.stationary);
    let se = (a.loss_se.powi(2) + b.loss_se.powi(2)).sqrt();
    Tolerance::se(Z::ONE, se).bias(0.015 * a.loss_mean).assert(
        &format!("{name} S9 scaled vs base stationary loss"),
        b.loss_mean,
        a.loss_mean,
    );
    let reach = |start: &optsde::plan::RunResult, full: &optsde::plan::RunResult| {
        let target = 1.1 * full.stationary.loss_mean;
        start.records.iter().find(|rec| rec.q[4].mean <= target).map(|rec| rec.step).expect("reaches 1.1x")
    };
    let (kb, ks) = (reach(&base_start, &base), reach(&scaled_start, &scaled));
    let ratio = kb as f64 / ks as f64;
    eprintln!(
        "{name} S9: stationary {:.4e} vs {:.4e}; steps to 1.1x: {kb} vs {ks} (ratio {ratio:.2})",
        a.loss_mean, b.loss_mean
    );
    assert!(
        (3.0..=5.0).contains(&ratio),
        "{name} S9: steps ratio {ratio:.2} ({kb} vs {ks}) is not kappa^2 = 4 within 25%"
    );
}
per_engine!(adamw_scaling_rule_s9);
