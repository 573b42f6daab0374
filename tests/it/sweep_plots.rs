//! The sweep figure (issue 6): `sweep.svg`/`sweep.png` draw the stationary loss ± 2 SE of every
//! point against the first swept parameter, one series per value of the others, with the
//! theory's stationary loss; `optsde run` draws it and `optsde plot` redraws a sweep directory.
//! CPU engine only, tiny runs.

use crate::common;

use common::{TempDir, decode_png};

use std::process::Command;

use optsde::cpu::CpuEngine;
use optsde::plan::run_study;
use optsde::plot::{self, SweepPlot};
use optsde::spec::{Overrides, Study};

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

const BASE: &str = "name = 'sweepfig'\n[model]\nname = 'signsgd-sde'\neta = 0.01\n[objective]\nname = 'quadratic'\n\
                    h = [1.0, 4.0]\n[noise]\nname = 'gaussian'\nsigma = [0.5, 1.0]\n[init]\nx0 = 0.3\n[run]\n\
                    paths = 512\nsteps = 300\nrefine = 2\nseed = 9\nbackend = 'cpu'\n[record]\nevery = 50\n\
                    [stationary]\nstart = 100\nevery = 5\nbins = 24\n";

const GRID: &str = "[sweep]\neta = [0.01, 0.02, 0.04]\nsigma = [0.5, 1.0]\n";

fn study(text: &str) -> Study {
    Study::from_str(text, "toml", "test", "sweepfig", &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sweep_figure_draws_every_point_with_its_theory() {
    let st = study(&format!("{BASE}{GRID}"));
    assert_eq!(st.points.len(), 6);
    let exps: Vec<_> = st.points.iter().map(|p| p.exp.clone()).collect();
    let results = run_study(&exps, &mut CpuEngine::new(), &mut |_| {}, None).unwrap();

    let fig = SweepPlot::from_study(&st, &results);
    // The SignSGD SDE has a closed form at every point, and it is near the simulation.
    for p in fig.points() {
        let (t, label) = p.theory.as_ref().unwrap_or_else(|| panic!("no theory at {:?}", p.values));
        assert!(label.contains("Fokker–Planck"), "{label}");
        // (Not yet stationary at the smallest η: 300 steps is t = 3.)
        assert!(p.loss / t > 0.5 && p.loss / t < 2.0, "{:?}: simulation {} vs theory {t}", p.values, p.loss);
        assert!(p.se > 0.0 && p.se.is_finite(), "{:?}: SE {}", p.values, p.se);
    }

    let svg = fig.svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "not an SVG");
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count(), "unbalanced text");
    for l in ["model.eta", "stationary E f(x)", "noise.sigma = 0.5", "noise.sigma = 1", "theory: Fokker–Planck"] {
        assert!(svg.contains(l), "the SVG lacks {l:?}");
    }
    assert!(svg.contains("signsgd-sde") && svg.contains("512 paths"), "no title");

    let (w, h, rgb) = decode_png(&fig.png().unwrap());
    assert!(w >= 800 && h >= 400, "{w}×{h}");
    // Both series' colours (Tableau blue and orange) are drawn, and dark text in the title band.
    let count = |c: [u8; 3]| rgb.chunks_exact(3).filter(|p| *p == c).count();
    assert!(count([31, 119, 180]) > 200 && count([255, 127, 14]) > 200, "series colours missing");
    let title_dark = rgb[..(w * 40 * 3) as usize].chunks_exact(3).filter(|p| p.iter().all(|&v| v < 100)).count();
    assert!(title_dark > 100, "no title text ({title_dark} dark pixels)");

    // One axis, spanning a decade: one series, log x (ticks at 1-2-5 or finer), theory in red.
    let one = study(&format!("{BASE}[sweep]\neta = {{ log = [0.005, 0.08], points = 3 }}\n"));
    let exps: Vec<_> = one.points.iter().map(|p| p.exp.clone()).collect();
    let results = run_study(&exps, &mut CpuEngine::new(), &mut |_| {}, None).unwrap();
    let fig = SweepPlot::from_study(&one, &results);
    let svg = fig.svg().unwrap();
    assert!(svg.contains("\nsimulation\n") && svg.contains("model.eta"), "single-series legend");
    let (_, _, rgb) = decode_png(&fig.png().unwrap());
    let red = rgb.chunks_exact(3).filter(|p| *p == [200, 20, 20]).count();
    assert!(red > 50, "no theory drawn ({red} red pixels)");
}

/// `optsde run` on a sweep draws `sweep.svg/.png` next to `sweep.csv`; `optsde plot` on the
/// directory redraws every point's figures and the sweep figure (identical SVG).
#[test]
fn cli_draws_and_redraws_the_sweep_figure() {
    let tmp = TempDir::new("cli");
    let file = tmp.0.join("s.toml");
    std::fs::write(&file, format!("{BASE}{GRID}")).unwrap();
    let out = tmp.0.join("out");
    let o = Command::new(BIN)
        .args(["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(out.join("sweep.svg")).unwrap();
    assert!(svg.contains("model.eta") && svg.contains("stationary E f(x)"), "sweep.svg lacks its axis labels");
    let (w, _, _) = decode_png(&std::fs::read(out.join("sweep.png")).unwrap());
    assert!(w >= 800);
    assert!(out.join("point-005/loss.png").is_file());

    for f in ["sweep.svg", "sweep.png", "point-003/hist.svg", "point-000/loss.png"] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    let o = Command::new(BIN).args(["plot", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for f in ["sweep.svg", "sweep.png", "point-003", "hist.svg", "point-000", "loss.png"] {
        assert!(stdout.contains(f), "{stdout}");
    }
    for f in ["sweep.png", "point-003/hist.svg", "point-000/loss.png"] {
        assert!(out.join(f).is_file(), "{f} not redrawn");
    }
    // Redrawn from sweep.csv and the points' summaries: the same figure.
    assert_eq!(std::fs::read_to_string(out.join("sweep.svg")).unwrap(), svg, "sweep.svg differs after `optsde plot`");

    // --no-plots draws no sweep figure either.
    let bare = tmp.0.join("bare");
    let o = Command::new(BIN)
        .args(["run", file.to_str().unwrap(), "--quiet", "--no-plots", "--out", bare.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(bare.join("sweep.csv").is_file() && !bare.join("sweep.svg").exists());

    // A damaged sweep.csv: a clear error naming the file (it is not the one the manifest lists).
    std::fs::write(bare.join("sweep.csv"), "point,stationary_loss\n").unwrap();
    let o = Command::new(BIN).args(["plot", bare.to_str().unwrap()]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("sweep.csv is not the file manifest.json lists"), "{err}");

    // The library entry point writes into the sweep directory too.
    let st = study(&format!("{BASE}{GRID}"));
    assert!(plot::write_sweep_figures(&tmp.0, &Study::single(st.points[0].exp.clone()), &[]).unwrap().is_empty());
}
