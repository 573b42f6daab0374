//! `optsde compare` on a rotated, ill-conditioned quadratic (issue 24's oracle "SignSGD and Adam
//! on a rotated quadratic: compare shows the SDE's weak error shrinking like O(η)"), on the CPU
//! engine. SignSGD's weak error has order one; Adam's, started as Adam is from v₀ = 0, has order
//! one up to a logarithm, e ≈ η(A ln(1/η) + B) (docs/adaptive.md, "Weak error from v₀ = 0").

use crate::tolerance::{Tolerance, Z};

use optsde::compare::{self, CompareOptions, CompareReport};
use optsde::cpu::CpuEngine;
use optsde::spec::{Experiment, Overrides};

/// H = Q diag(1, 4) Qᵀ with a Haar-random Q and a non-isotropic σ, so the coordinates are coupled
/// and neither sign nor adaptive preconditioning is aligned with the curvature. From x0 = 1 up to
/// SDE time T = 2 (steps ∝ 1/η under `--etas`), the transient where the weak error is largest.
const ROTATED: &str = "[model]\nMODEL\neta = 1.6e-2\n\
    [objective]\nname = 'quadratic'\neigenvalues = [1.0, 4.0]\nbasis = 'random'\nbasis_seed = 1\n\
    [noise]\nname = 'gaussian'\nsigma = [1.0, 0.5]\n[init]\nx0 = 1.0\n\
    [run]\npaths = PATHS\nsteps = 125\nseed = 1\n[record]\nevery = 5\n\
    [stationary]\nstart = 60\nevery = 1\nbins = 16\nrange = [-2.0, 2.0]\n";

const ETAS: [f64; 4] = [1.6e-2, 8e-3, 4e-3, 2e-3];

/// `compare` of the file [`ROTATED`] with the `[model]` lines `model` over [`ETAS`].
fn compare_rotated(model: &str, paths: u64) -> CompareReport {
    let toml = ROTATED.replace("MODEL", model).replace("PATHS", &paths.to_string());
    let base = Experiment::from_str(&toml, "toml", "rotated", "test", &Overrides::default()).expect("valid experiment");
    let opts = CompareOptions { etas: ETAS.to_vec(), ..CompareOptions::default() };
    let plan = compare::plan_compare(&base, &opts).unwrap();
    let report = compare::compare(&plan, &mut CpuEngine::new(), &mut |l| eprintln!("{l}")).unwrap();
    eprint!("{}", report.table());
    report
}

/// SignSGD against its SDE (EM, the default refine 8): the weak error of the loss shrinks with η
/// and its fitted order is resolved and equals 1 within [`Z::ONE`] of its standard error.
/// Measured (seed 1, 262144 paths): p = 0.918 ± 0.064; the smallest η's error (3.0e-4 ± 3.8e-5)
/// carries the upward bias of a maximum over noisy records, which pulls p below 1.
#[test]
fn signsgd_weak_error_on_a_rotated_quadratic_is_first_order() {
    let report = compare_rotated("name = 'signsgd'", 262_144);
    let w: Vec<f64> = report.points.iter().map(|p| p.sdes[0].weak_loss).collect();
    assert!(w.windows(2).all(|p| p[0] > p[1]), "weak error does not shrink with eta: {w:?}");
    let fit = report.orders.iter().find(|f| f.model == "signsgd-sde" && f.quantity == "loss").expect("loss order");
    eprintln!("order: {:.4} ± {:.4}", fit.order, fit.order_se);
    assert!(fit.order_resolved, "262144 paths resolve the order: {}", fit.order_note);
    Tolerance::se(Z::ONE, fit.order_se).assert("signsgd-sde weak order", fit.order, 1.0);
}

/// Weighted least squares of y on u (weights 1/se²): intercept, slope, and the slope's SE.
fn weighted_line(u: &[f64], y: &[f64], se: &[f64]) -> (f64, f64, f64) {
    let w: Vec<f64> = se.iter().map(|s| 1.0 / (s * s)).collect();
    let sw: f64 = w.iter().sum();
    let mu = u.iter().zip(&w).map(|(u, w)| u * w).sum::<f64>() / sw;
    let my = y.iter().zip(&w).map(|(y, w)| y * w).sum::<f64>() / sw;
    let suu: f64 = u.iter().zip(&w).map(|(u, w)| w * (u - mu).powi(2)).sum();
    let suy: f64 = u.iter().zip(y).zip(&w).map(|((u, y), w)| w * (u - mu) * (y - my)).sum();
    let slope = suy / suu;
    (my - slope * mu, slope, suu.recip().sqrt())
}

/// Adam (ρ₁ = 2.5, ρ₂ = 0.5 per unit time at every η, ε = 1e-8) against its P1 SDE, default
/// refine 8. Adam's first ~1/(ηρ) steps divide a mean of k noisy gradients by their RMS, a ratio
/// biased by O(1/k); summed over k with step η that adds η ln(1/(ηρ)) to the O(η) weak error
/// (docs/adaptive.md derives it). So the test fits e/η = A ln(1/η) + B:
/// * each e/η lies on that line within [`Z::ONE`] of its standard error (se/η), and
/// * A is positive by more than 5 of its standard errors: a plain O(η) law (A = 0, e/η constant)
///   is rejected, as the measured p = 0.80 ± 0.002 < 1 already says.
///
/// The P7 SDE is not a fixed SDE along this η sweep (src/compare/mod.rs) and is not checked.
/// Measured (seed 1, 65536 paths): e/η = 9.96, 11.72, 13.48, 15.24, A = 2.54 ± 0.02, every point
/// within 0.1 SE of the line.
#[test]
fn adam_weak_error_on_a_rotated_quadratic_is_first_order_up_to_a_log() {
    let model = "name = 'adam'\nbeta1 = 0.96\nbeta2 = 0.992\neps = 1e-8\nweight_decay = 0.0";
    let report = compare_rotated(model, 65_536);
    let sde = report.points[0].sdes.iter().position(|c| c.run.model == "adam-sde").expect("adam-sde ran");
    let (mut u, mut y, mut se) = (Vec::new(), Vec::new(), Vec::new());
    for p in &report.points {
        let c = &p.sdes[sde];
        assert!(c.weak_loss > 5.0 * c.weak_loss_se, "eta {}: weak error not resolved", p.eta);
        u.push((1.0 / p.eta).ln());
        y.push(c.weak_loss / p.eta);
        se.push(c.weak_loss_se / p.eta);
    }
    let (b, a, a_se) = weighted_line(&u, &y, &se);
    eprintln!("e/eta = {a:.4} ln(1/eta) + {b:.4}, A ± {a_se:.4}; points {y:?}");
    for k in 0..u.len() {
        Tolerance::se(Z::ONE, se[k]).assert(&format!("eta {}: e/eta on the line", ETAS[k]), y[k], a * u[k] + b);
    }
    assert!(a > 5.0 * a_se, "no logarithmic term: A = {a} ± {a_se}");
}
