//! What coupled problems add to a run's outputs (docs/objectives.md, "Outputs of coupled
//! problems"): the stationary covariance matrix (`stationary.cov`), the same bits on the CPU twin
//! and a software adapter, its defaults and its bad input. Its values against the Lyapunov
//! equation: landscapes.rs.

use crate::common;
use crate::landscapes::ROTATED;

use common::{exp, gpu, run};
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
