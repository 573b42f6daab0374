//! The risk ODE under a regression's loss plot (docs/regression.md, "The loss plot"): the curve
//! the figure draws is its model's risk ODE (`sign_risk` for signsgd, `sgd_risk` for sgd and
//! sgd-sde) at τ = step/d, on either record time axis (t = kη or t = k/d); it is absent where
//! no ODE applies; a run long in τ stops at the cost bound; and `optsde run` and `optsde plot`
//! write a loss figure that shows it. CPU engine only, tiny runs.

use crate::common;

use common::TempDir;

use std::process::Command;

use optsde::cpu::CpuEngine;
use optsde::plot::{self, Plots};
use optsde::regression::risk_cmd::{DEFAULT_RK4_STEP, risk_problem};
use optsde::regression::run_curve::MAX_PLOT_RK4_WORK;
use optsde::regression::{RiskOde, run_risk_curve, sgd_fixed_point, sgd_risk, sign_fixed_point, sign_risk};
use optsde::spec::Experiment;

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// d of [`regression`].
const D: usize = 16;

/// A regression on d = 16 (K from 0.5 to 2, x* drawn, x₀ = 0, σ_ε = 0.5) with step η = 1/32, so
/// that the two time axes differ (kη = k/32, k/d = k/16) and neither is τ: `model` with `extra`
/// [model] lines, `batch` points per step, `record` the [record] table's lines.
fn regression_toml(model: &str, extra: &str, batch: u32, record: &str) -> String {
    format!(
        "name = 'risk-plot'\n[model]\nname = '{model}'\neta = 0.03125\n{extra}\n[objective]\n\
         name = 'linear-regression'\nspectrum = {{ linear = [0.5, 2.0] }}\ndim = {D}\ntarget = {{ seed = 3 }}\n\
         batch = {batch}\n[noise]\nname = 'gaussian'\nsigma = 0.5\n[run]\npaths = 64\nsteps = 320\nseed = 5\n\
         backend = 'cpu'\n[record]\nevery = 16\n{record}\n[stationary]\nstart = 160\nevery = 8\n"
    )
}

fn regression(model: &str, extra: &str, batch: u32, record: &str) -> Experiment {
    common::exp(&regression_toml(model, extra, batch, record))
}

/// For signsgd (signSGD's ODE) and sgd, sgd-sde (SGD's), on both time axes: the loss figure's
/// ODE series has one point per record, at the record's own t, holding `sign_risk`/`sgd_risk`
/// of the file's problem at τ = step/d (computed here from the step, not from t), to 1e-12
/// relative; the dashed theory line is the ODE's fixed point; the axis names the time.
#[test]
fn the_plotted_ode_is_the_risk_ode_at_step_over_d_on_both_axes() {
    for (model, extra, ode) in
        [("signsgd", "", RiskOde::Sign), ("sgd", "", RiskOde::Sgd), ("sgd-sde", "", RiskOde::Sgd)]
    {
        for (axis, record) in [("t = kη", ""), ("t = k/d", "time = 'k/d'")] {
            let exp = regression(model, extra, 1, record);
            let r = common::run(&exp, &mut CpuEngine::new()).expect("the run succeeds");
            let rows = plot::rows_from_run(&exp, &r);
            assert_eq!(rows.len(), 21, "{model}: records at 0, 16, …, 320");
            let plots = Plots::new(&exp, &rows, &r.histograms);
            let series = plots.ode().unwrap_or_else(|| panic!("{model} {axis}: no ODE series"));
            assert_eq!(series.label, ode.label(), "{model} {axis}");

            let pr = risk_problem(&exp).expect("a risk problem");
            let tau: Vec<f64> = rows.iter().map(|row| row.step as f64 / D as f64).collect();
            let (expected, fixed) = match ode {
                RiskOde::Sign => (sign_risk(&pr, &tau, DEFAULT_RK4_STEP).risk, sign_fixed_point(&pr)),
                RiskOde::Sgd => {
                    (sgd_risk(&pr, &tau, DEFAULT_RK4_STEP).expect("finite E eps^2").risk, sgd_fixed_point(&pr).unwrap())
                }
            };
            assert_eq!(series.points.len(), rows.len(), "{model} {axis}: one point per record");
            for (i, ((t, p), row)) in series.points.iter().zip(&rows).enumerate() {
                assert_eq!(*t, row.t, "{model} {axis}: point {i} is not at record {i}'s time");
                let tol = 1e-12 * expected[i].abs();
                assert!(
                    (p - expected[i]).abs() <= tol,
                    "{model} {axis}: record {i} (step {}, tau {}): plotted P {p}, ODE {}, difference {:e}, \
                     tolerance {tol:e}",
                    row.step,
                    tau[i],
                    expected[i],
                    (p - expected[i]).abs()
                );
            }
            // The curve moves: a wrong time would be seen (P falls by a third over the run).
            assert!(expected[20] < 0.8 * expected[0], "{model}: P {} -> {}", expected[0], expected[20]);
            let (v, label) = plots.theory().loss.clone().unwrap_or_else(|| panic!("{model}: no theory line"));
            assert_eq!(v, fixed, "{model}: the theory line is the ODE's fixed point");
            assert!(label.contains("fixed point"), "{label}");

            let svg = plots.svg(plot::Figure::Loss).unwrap();
            for text in [axis, ode.label(), "E P (excess risk)", "± 2 standard errors", "fixed point P∞"] {
                assert!(svg.contains(text), "{model} {axis}: the loss SVG lacks {text:?}");
            }
        }
    }
}

/// No ODE where none applies, and nothing refused: other models on a regression (adam,
/// distributed SGD), a minibatch, and the quadratic objective draw the figure without a curve
/// or a fixed-point line.
#[test]
fn no_curve_where_no_risk_ode_applies() {
    let quadratic = common::exp(
        "[model]\nname = 'sgd'\neta = 0.01\n[objective]\nname = 'quadratic'\nh = [1.0, 2.0]\n[noise]\n\
         name = 'gaussian'\nsigma = 1.0\n[run]\npaths = 64\nsteps = 100\nbackend = 'cpu'\n",
    );
    for (what, exp) in [
        ("adam", regression("adam", "", 1, "")),
        ("dsgd", regression("dsgd", "agents = 3", 1, "")),
        ("sgd, batch 2", regression("sgd", "", 2, "")),
        ("quadratic", quadratic),
    ] {
        let r = common::run(&exp, &mut CpuEngine::new()).expect("the run succeeds");
        let rows = plot::rows_from_run(&exp, &r);
        let plots = Plots::new(&exp, &rows, &r.histograms);
        assert!(plots.ode().is_none(), "{what}: an ODE series {:?}", plots.ode());
        assert!(run_risk_curve(&exp, &[0, 16]).is_none(), "{what}");
        let svg = plots.svg(plot::Figure::Loss).unwrap();
        assert!(!svg.contains("risk ODE"), "{what}: the legend names a risk ODE");
        if what != "quadratic" {
            assert!(plots.theory().loss.is_none(), "{what}: theory line {:?}", plots.theory().loss);
        }
    }
}

/// A run long in τ: the curve stops at the last record step within the budget,
/// τ ≤ MAX_PLOT_RK4_WORK × step / d (here d = 16: τ ≤ 6250, k ≤ 100000), and says so.
#[test]
fn a_long_run_stops_the_curve_at_the_cost_bound() {
    let exp = regression("signsgd", "", 1, "");
    let tau_max = MAX_PLOT_RK4_WORK * DEFAULT_RK4_STEP / D as f64;
    assert_eq!(tau_max, 6250.0);
    let last = (tau_max * D as f64) as u64;
    let steps = [0, 16, last - 16, last, last + 16, 10 * last];
    let c = run_risk_curve(&exp, &steps).expect("a curve");
    assert!(c.truncated);
    assert_eq!(c.steps, [0, 16, last - 16, last]);
    assert_eq!(c.tau, [0.0, 1.0, tau_max - 1.0, tau_max]);
    // By τ = 6250 the curve sits at its fixed point.
    let fixed = sign_fixed_point(&risk_problem(&exp).unwrap());
    assert!((c.risk[3] - fixed).abs() < 1e-9 * fixed, "P({tau_max}) = {}, fixed point {fixed}", c.risk[3]);
    let short = run_risk_curve(&exp, &[0, 16, 32]).unwrap();
    assert!(!short.truncated && short.steps == [0, 16, 32]);
}

fn optsde(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("the optsde binary runs")
}

/// `optsde run` on a signsgd regression (t = k/d) writes loss.svg and loss.png whose legend names
/// the risk ODE and its fixed point; `optsde plot` on the folder redraws the same figure.
#[test]
fn optsde_run_and_plot_draw_the_risk_ode_under_the_loss() {
    let tmp = TempDir::new("risk-plot");
    let file = tmp.file("run.toml", &regression_toml("signsgd", "", 1, "time = 'k/d'"));
    let out = tmp.path().join("out");
    let o = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(out.join("loss.svg")).expect("loss.svg written");
    let png = std::fs::read(out.join("loss.png")).expect("loss.png written");
    for text in ["risk ODE (signSGD)", "fixed point P∞ of the risk ODE", "t = k/d", "E P (excess risk)"] {
        assert!(svg.contains(text), "loss.svg lacks {text:?}");
    }
    let (w, h, rgb) = common::decode_png(&png);
    assert!(w >= 800 && h >= 400, "{w}×{h}");
    let red = common::count_colour(&rgb, [200, 20, 20]);
    assert!(red > 200, "{red} pixels of the theory colour: no ODE curve");

    std::fs::remove_file(out.join("loss.svg")).unwrap();
    let o = optsde(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("loss.svg")).unwrap(), svg, "`optsde plot` redraws another figure");
}
