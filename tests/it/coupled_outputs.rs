//! What coupled problems add to a run's outputs (docs/objectives.md, "Outputs of coupled
//! problems"): the stationary covariance matrix (`stationary.cov`), the same bits on the CPU twin
//! and a software adapter, its defaults and its bad input. Its values against the Lyapunov
//! equation: landscapes.rs.

use crate::common;
use crate::landscapes::ROTATED;

use crate::tolerance::{Tolerance, Z};
use common::{exp, gpu, per_engine, run};
use optsde::cpu::{Arith, CpuEngine};

/// A coupled 2-D formula (a tilted, correlated bowl).
const COUPLED_FORMULA: &str = "[objective]\nname = 'expression'\nloss = '0.5*x0^2 + 0.4*x0*x1 + x1^2 + 0.1*x1'\n";

fn experiment(objective: &str, sigma: &str, extra: &str) -> optsde::spec::Experiment {
    exp(&format!(
        "[model]\nname = 'sgd-sde'\neta = 0.05\n{objective}[noise]\nname = 'gaussian'\nsigma = {sigma}\n\
         [run]\npaths = 2048\nsteps = 400\nrefine = 2\n[stationary]\nstart = 100\nevery = 3\n{extra}"
    ))
}

/// The covariance matrix from the kernel's pair sums: bit for bit the same on the CPU twin and a
/// software adapter (as every other statistic), for a dense quadratic and a formula.
#[test]
fn covariance_is_the_same_on_both_backends() {
    let Some(mut g) = gpu() else { return };
    let arith = Arith::of_adapter(g.is_software());
    for x in [experiment(ROTATED, "[0.5, 1.0, 0.2, 2.0]", ""), experiment(COUPLED_FORMULA, "0.7", "")] {
        let a = run(&x, &mut g).unwrap().stationary;
        let b = run(&x, &mut CpuEngine::with_arith(arith)).unwrap().stationary;
        let (ca, cb) = (a.cov.expect("cov on the gpu"), b.cov.expect("cov on the cpu"));
        assert_eq!(ca.len(), x.dim);
        if g.is_software() {
            assert_eq!(ca, cb, "{}: covariance differs between lavapipe and the CPU twin", x.objective.name());
            assert_eq!(a.cov_se, b.cov_se);
        } else {
            for (ra, rb) in ca.iter().zip(&cb) {
                for (u, v) in ra.iter().zip(rb) {
                    assert!((u - v).abs() <= 1e-4 * (u.abs() + v.abs()) + 1e-9, "{u} vs {v}");
                }
            }
        }
    }
}

/// The covariance is kept by default where the objective couples coordinates (d ≤ 64), not for
/// the diagonal quadratic (whose models move each coordinate on its own: its off-diagonal
/// entries are zero), and `cov` turns it on or off; summary.json carries it when kept.
#[test]
fn covariance_defaults_follow_the_objective() {
    let diagonal = "[objective]\nname = 'quadratic'\nh = [1.0, 2.0]\n";
    assert!(!experiment(diagonal, "1.0", "").stationary.cov);
    assert!(experiment(diagonal, "1.0", "cov = true\n").stationary.cov);
    assert!(experiment(ROTATED, "1.0", "").stationary.cov);
    assert!(!experiment(ROTATED, "1.0", "cov = false\n").stationary.cov);
    assert!(experiment(COUPLED_FORMULA, "1.0", "").stationary.cov);
    // On the diagonal quadratic the kept matrix's off-diagonal entries are zero within their SE.
    let x = experiment(diagonal, "[1.0, 0.5]", "cov = true\n");
    let st = run(&x, &mut CpuEngine::new()).unwrap().stationary;
    let (cov, se) = (st.cov.unwrap(), st.cov_se.unwrap());
    assert!(cov[0][1].abs() <= 4.0 * se[0][1] && se[0][1] > 0.0, "cov {} se {}", cov[0][1], se[0][1]);
    let without = experiment(diagonal, "1.0", "");
    assert!(run(&without, &mut CpuEngine::new()).unwrap().stationary.cov.is_none());
}

/// Bad `cov` and `pairs`: an error naming the field, the value and the valid range, before any
/// work.
#[test]
fn bad_covariance_and_pairs_are_refused() {
    let parse = |objective: &str, stationary: &str| {
        let text = format!(
            "[model]\nname = 'sgd'\neta = 0.01\n{objective}[noise]\nname = 'gaussian'\nsigma = 1.0\n\
             [run]\npaths = 64\nsteps = 10\n[stationary]\n{stationary}\n"
        );
        optsde::spec::Experiment::from_str(&text, "toml", "t.toml", "t", &optsde::spec::Overrides::default())
    };
    let wide = "[objective]\nname = 'expression'\nloss = 'sum(i, x[i]^2)'\ndim = 65\n";
    let cases = [
        (wide, "cov = true", "stationary.cov", "d <= 64"),
        (ROTATED, "cov = 1", "stationary.cov", "true or false"),
        (ROTATED, "pairs = [[0, 4]]", "stationary.pairs[0]", "0..4"),
        (ROTATED, "pairs = [[1, 1]]", "stationary.pairs[0]", "two different"),
        (ROTATED, "pairs = [[0, 1], [0, 1]]", "stationary.pairs[1]", "twice"),
        (ROTATED, "pairs = [[0, 1, 2]]", "stationary.pairs[0]", "[i, j]"),
        (ROTATED, "pairs = [[0, -1]]", "stationary.pairs[0]", "integers"),
        (ROTATED, "pairs = [0, 1]", "stationary.pairs[0]", "coordinate pairs"),
        (ROTATED, "pairs = [[0,1],[0,2],[0,3],[1,2],[1,3],[2,3],[1,0],[2,0],[3,0]]", "stationary.pairs", "at most 8"),
    ];
    for (objective, stationary, field, says) in cases {
        let err = parse(objective, stationary).expect_err(stationary).to_string();
        assert!(err.contains(field) && err.contains(says), "{stationary}:\n  {err}\n  (want {field:?}, {says:?})");
    }
    // A wide formula runs without the covariance matrix by default.
    assert!(!parse(wide, "").unwrap().stationary.cov);
}

/// `cov` and `pairs` written back to experiment.toml read back to the same experiment.
#[test]
fn covariance_and_pairs_round_trip_through_their_file() {
    for extra in ["cov = false\n", "cov = true\npairs = [[0, 1], [3, 2]]\n"] {
        let x = experiment(ROTATED, "1.0", extra);
        let text = optsde::spec::to_toml(&x);
        let back =
            optsde::spec::Experiment::from_str(&text, "toml", "b.toml", "t", &optsde::spec::Overrides::default())
                .unwrap();
        assert_eq!(back, x, "{extra}\n{text}");
    }
}

/// A coupled 2-D quadratic centred at 0 (eigenvalues 0.5 and 3.5, correlation ρ ≈ −0.75 in its
/// stationary law), with a histogram box symmetric about the centre so that the middle bin edge
/// of each axis is at 0.
const COUPLED_BOWL: &str = "[objective]\nname = 'quadratic'\nhessian = [[2.0, 1.5], [1.5, 2.0]]\n";

/// The 2-D histogram of SGD on a coupled quadratic: its stationary law is Gaussian (a linear
/// recursion with Gaussian noise) with covariance S, so the share of samples in the quadrant
/// x0 > 0, x1 > 0 is the orthant probability 1/4 + asin(ρ)/(2π), ρ = S01/√(S00 S11), taken from
/// the run's own `stationary.cov` (itself checked against Lyapunov in landscapes.rs). Samples 50
/// steps apart are nearly independent ((1 − ηλ_min)^50 = 0.28 at η = 0.05, λ_min = 0.5... see
/// the allowance), so the SE is the binomial one, inflated by 2 for what correlation remains.
/// The x-marginal of the 2-D counts equals the 1-D histogram of x0 exactly (the same bins:
/// bins ≤ 64), which pins the x-slow layout. Both backends.
fn pair_histogram_matches_the_gaussian_quadrant(name: &str, e: &mut dyn optsde::plan::Engine) {
    let x = exp(&format!(
        "[model]\nname = 'sgd'\neta = 0.05\n{COUPLED_BOWL}[noise]\nname = 'gaussian'\nsigma = 1.0\n\
         [run]\npaths = 4096\nsteps = 2500\n[stationary]\nstart = 500\nevery = 50\nbins = 32\nrange = [-6.0, 6.0]\n\
         pairs = [[0, 1], [1, 0]]\n"
    ));
    let r = run(&x, e).unwrap();
    let [h01, h10] = [&r.histograms2d[0], &r.histograms2d[1]];
    assert_eq!((h01.x, h01.y, h01.bins, h01.lo, h01.hi), (0, 1, [32, 32], [-6.0, -6.0], [6.0, 6.0]));
    let samples = r.stationary.samples;
    assert_eq!(h01.total(), samples, "{name}: every sample is binned or outside");
    assert_eq!(h01.outside, 0, "{name}: the box holds every sample (±6 is > 6 sd)");
    // The x-marginal is the 1-D histogram of x0; the transposed pair is the transpose.
    for a in 0..32 {
        let row: u64 = h01.counts[a * 32..(a + 1) * 32].iter().sum();
        assert_eq!(row, r.histograms[0].counts[a], "{name}: bin {a} of x0");
        for b in 0..32 {
            assert_eq!(h01.counts[a * 32 + b], h10.counts[b * 32 + a], "{name}: ({a}, {b}) transposed");
        }
    }
    let cov = r.stationary.cov.as_ref().unwrap();
    let rho = cov[0][1] / (cov[0][0] * cov[1][1]).sqrt();
    assert!(rho < -0.5, "{name}: the bowl couples its coordinates (rho = {rho})");
    let quadrant: u64 = (16..32).flat_map(|a| (16..32).map(move |b| a * 32 + b)).map(|k| h01.counts[k]).sum();
    let p = quadrant as f64 / samples as f64;
    let oracle = 0.25 + rho.asin() / (2.0 * std::f64::consts::PI);
    let se = 2.0 * (oracle * (1.0 - oracle) / samples as f64).sqrt();
    Tolerance::se(Z::ONE, se).assert(&format!("{name} P(x0 > 0, x1 > 0)"), p, oracle);
}
per_engine!(pair_histogram_matches_the_gaussian_quadrant);

/// The 2-D histograms: the same counts on the CPU twin and a software adapter, written to
/// histograms2d.json and drawn (hist2d.svg, .png) by a run and again by `optsde plot`.
#[test]
fn pair_histograms_agree_and_are_written_and_drawn() {
    let Some(mut g) = gpu() else { return };
    let x = experiment(ROTATED, "[0.5, 1.0, 0.2, 2.0]", "pairs = [[0, 1], [2, 3], [3, 0]]\n");
    let a = run(&x, &mut g).unwrap();
    let b = run(&x, &mut CpuEngine::with_arith(Arith::of_adapter(g.is_software()))).unwrap();
    assert_eq!(a.histograms2d.len(), 3);
    if g.is_software() {
        assert_eq!(a.histograms2d, b.histograms2d, "2-D histograms differ between lavapipe and the CPU twin");
    }
    let dir = common::TempDir::new("hist2d");
    optsde::output::write_outputs(dir.path(), &x, &a).unwrap();
    optsde::plot::write_run_figures(dir.path(), &x, &a).unwrap();
    let text = std::fs::read_to_string(dir.path().join("histograms2d.json")).unwrap();
    let back: Vec<optsde::stats::Histogram2d> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, a.histograms2d);
    for f in ["hist2d.svg", "hist2d.png"] {
        let path = dir.path().join(f);
        assert!(std::fs::metadata(&path).map(|m| m.len() > 1000).unwrap_or(false), "{f} not drawn");
        std::fs::remove_file(path).unwrap();
    }
    optsde::plot::replot(dir.path()).unwrap();
    assert!(dir.path().join("hist2d.png").is_file(), "optsde plot redraws hist2d");
}

/// `[record] basis = "hessian"` on the rotated quadratic with isotropic noise σ: in H's
/// eigenbasis y = Qᵀ(x − c) the chain is diagonal, y_k ← (1 − Δt λ_k) y_k + noise of variance
/// q σ², so var y_k = q σ² / (Δt λ_k (2 − Δt λ_k)) and E y_k = 0 (discrete SGD: Δt = η, q = η²;
/// the SGD SDE's chain at refine r: Δt = η/r, q = η²/r), within [`Z::FAMILY`] SE.
fn eigenbasis_moments_are_the_diagonal_chain(name: &str, e: &mut dyn optsde::plan::Engine) {
    let sigma = 0.8;
    for (model, refine) in [("sgd", 1u32), ("sgd-sde", 2)] {
        let x = exp(&format!(
            "[model]\nname = '{model}'\neta = 0.01\n{ROTATED}[noise]\nname = 'gaussian'\nsigma = {sigma}\n\
             [run]\npaths = 8192\nsteps = 3000\nrefine = {refine}\n[record]\nbasis = 'hessian'\n\
             [stationary]\nstart = 1000\nevery = 10\n"
        ));
        let r = run(&x, e).unwrap();
        let (values, y) = r.stationary.eigenbasis.as_ref().expect("eigenbasis moments");
        assert_eq!(values, &vec![1.0, 2.0, 5.0, 10.0]);
        let eta = x.model.eta;
        let (dt, q) = (eta / f64::from(refine), eta * eta / f64::from(refine));
        for (k, &lambda) in values.iter().enumerate() {
            let oracle = q * sigma * sigma / (dt * lambda * (2.0 - dt * lambda));
            Tolerance::se(Z::FAMILY, y.var_se[k]).assert(&format!("{name} {model} var y{k}"), y.var[k], oracle);
            Tolerance::se(Z::FAMILY, y.mean_se[k]).assert(&format!("{name} {model} mean y{k}"), y.mean[k], 0.0);
        }
        // The eigenbasis preserves the trace: Σ var y_k = Σ var x_i (to rounding).
        let (ty, tx): (f64, f64) = (y.var.iter().sum(), r.stationary.var.iter().sum());
        assert!((ty - tx).abs() < 1e-9 * tx, "{name} {model}: trace {ty} vs {tx}");
    }
}
per_engine!(eigenbasis_moments_are_the_diagonal_chain);

/// Bad `[record] basis`: a formula has no eigenbasis, the moments need the covariance's pair
/// sums, and only the two names exist; `basis` round-trips through experiment.toml.
#[test]
fn bad_record_basis_is_refused_and_good_round_trips() {
    let parse = |objective: &str, rest: &str| {
        let text = format!(
            "[model]\nname = 'sgd'\neta = 0.01\n{objective}[noise]\nname = 'gaussian'\nsigma = 1.0\n\
             [run]\npaths = 64\nsteps = 10\n{rest}\n"
        );
        optsde::spec::Experiment::from_str(&text, "toml", "t.toml", "t", &optsde::spec::Overrides::default())
    };
    let cases = [
        (COUPLED_FORMULA, "[record]\nbasis = 'hessian'", "record.basis", "quadratic objective"),
        (ROTATED, "[record]\nbasis = 'hessian'\n[stationary]\ncov = false", "record.basis", "stationary.cov"),
        (ROTATED, "[record]\nbasis = 'eigen'", "record.basis", "coordinates, hessian"),
    ];
    for (objective, rest, field, says) in cases {
        let err = parse(objective, rest).expect_err(rest).to_string();
        assert!(err.contains(field) && err.contains(says), "{rest}:\n  {err}\n  (want {field:?}, {says:?})");
    }
    // The diagonal quadratic's eigenbasis is its axes; asking for it turns the pair sums on.
    let x = parse("[objective]\nname = 'quadratic'\nh = [1.0, 2.0]\n", "[record]\nbasis = 'hessian'").unwrap();
    assert!(x.stationary.cov);
    let back =
        optsde::spec::Experiment::from_str(&optsde::spec::to_toml(&x), "toml", "b.toml", "t", &Default::default())
            .unwrap();
    assert_eq!(back, x);
}
