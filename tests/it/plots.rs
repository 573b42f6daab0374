//! Figures, `.npy` files and `optsde plot`: every figure renders as SVG and PNG for one model of
//! each family, the `.npy` files hold exactly the numbers of the CSV and JSON outputs, a saved
//! run redraws to the same figures, and the closed forms drawn over the data match the docs'
//! own checks. CPU engine only, tiny runs.

use crate::common;

use common::{TempDir, count_colour, decode_png};

use std::path::Path;
use std::process::Command;

use optsde::cpu::CpuEngine;
use optsde::plan::RunResult;
use optsde::plot::{self, Figure, Plots};
use optsde::spec::Experiment;
use optsde::theory::{self, Law};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

/// A small experiment: `model` is the `[model]` table's body, `rest` any further tables.
fn tiny(name: &str, model: &str, rest: &str, h: &str, sigma: &str, x0: &str) -> String {
    format!(
        r#"
name = "{name}"
[model]
{model}
[objective]
name = "quadratic"
h = {h}
[noise]
name = "gaussian"
sigma = {sigma}
[init]
x0 = {x0}
[run]
paths = 2048
steps = 300
seed = 11
backend = "cpu"
[record]
every = 30
[stationary]
start = 150
every = 5
bins = 32
{rest}
"#
    )
}

const H4: &str = "[1.0, 2.0, 5.0, 10.0]";
const S4: &str = "[1.0, 2.0, 0.5, 3.0]";
const X4: &str = "[0.3, -0.2, 0.1, 0.05]";

/// One model of each family, with whether the theory has a density and a stationary loss.
fn families() -> Vec<(String, bool, bool)> {
    vec![
        (tiny("sgd", "name = \"sgd\"\neta = 1e-2", "", H4, S4, X4), true, true),
        (tiny("signsgd-sde", "name = \"signsgd-sde\"\neta = 1e-2", "", H4, S4, X4), true, true),
        (tiny("adam-sde", "name = \"adam-sde\"\neta = 1e-2\nbeta1 = 0.9\nbeta2 = 0.99", "", H4, S4, X4), false, false),
        (tiny("dsignsgd", "name = \"dsignsgd\"\neta = 1e-2\nagents = 4", "", H4, S4, X4), false, true),
        (
            tiny(
                "dcsgd",
                "name = \"dcsgd\"\neta = 1e-2\nagents = 2",
                "[compressor]\nname = \"rand-k\"\nk = 2",
                H4,
                S4,
                X4,
            ),
            true,
            true,
        ),
        (
            tiny(
                "dcsgd-sde",
                "name = \"dcsgd-sde\"\neta = 5e-2\nagents = 2",
                "[compressor]\nname = \"bernoulli\"\np = 0.25",
                "2.0",
                "1.0",
                "0.2",
            ),
            true,
            true,
        ),
    ]
}

fn run(exp: &Experiment) -> RunResult {
    common::run(exp, &mut CpuEngine::new()).expect("the run succeeds")
}

#[test]
fn every_figure_renders_as_svg_and_png_for_each_family() {
    for (toml, has_density, has_loss) in families() {
        let exp = common::exp(&toml);
        let name = exp.model.name.name();
        let r = run(&exp);
        let rows = plot::rows_from_run(&exp, &r);
        let plots = Plots::new(&exp, &rows, &r.histograms);
        let th = plots.theory();
        assert_eq!(th.laws.iter().any(Option::is_some), has_density, "{name}: theory density {:?}", th.laws);
        assert_eq!(th.loss.is_some(), has_loss, "{name}: theory loss {:?}", th.loss);
        for fig in Figure::ALL {
            let svg = plots.svg(fig).unwrap_or_else(|e| panic!("{name} {fig:?} svg: {e}"));
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name} {fig:?}: not an SVG");
            assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count(), "{name} {fig:?}: unbalanced");
            let labels: &[&str] = match fig {
                Figure::Loss => &["t = kη", "E f(x)", "± 2 standard errors"],
                Figure::Moments => &["t = kη", "E xᵢ", "Var xᵢ", "\nx0\n", "variance of each coordinate"],
                Figure::Hist => &["density", "x0", "stationary densities"],
            };
            for l in labels {
                assert!(svg.contains(l), "{name} {fig:?}: the SVG lacks {l:?}");
            }
            if fig == Figure::Loss && has_loss {
                assert!(svg.contains("theory "), "{name}: no theory line in the legend");
            }

            let bytes = plots.png(fig).unwrap_or_else(|e| panic!("{name} {fig:?} png: {e}"));
            let (w, h, rgb) = decode_png(&bytes);
            assert!(w >= 800 && h >= 400, "{name} {fig:?}: {w}×{h}");
            // Text is drawn (dark pixels in the title band), and the data are.
            let title_dark =
                rgb[..(w * 40 * 3) as usize].chunks_exact(3).filter(|p| p.iter().all(|&v| v < 100)).count();
            assert!(title_dark > 100, "{name} {fig:?}: no title text ({title_dark} dark pixels)");
            let colour = rgb.chunks_exact(3).filter(|p| !(p[0] == p[1] && p[1] == p[2])).count();
            assert!(colour > 2000, "{name} {fig:?}: almost no coloured pixels ({colour})");
            let red = count_colour(&rgb, [200, 20, 20]);
            let theory_drawn = match fig {
                Figure::Loss => has_loss,
                Figure::Hist => has_density,
                Figure::Moments => false,
            };
            if fig != Figure::Moments {
                assert_eq!(red > 50, theory_drawn, "{name} {fig:?}: {red} pixels of the theory colour");
            }
        }
    }
}

/// An `.npy` file's (descr, shape, data bytes), from its header (format 1.0).
fn npy(path: &Path) -> (String, Vec<usize>, Vec<u8>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY", "{}", path.display());
    assert_eq!(b[6], 1, "format version 1.0");
    let len = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "header padded to 64 bytes");
    let header = std::str::from_utf8(&b[10..10 + len]).unwrap();
    let field = |key: &str| {
        let i = header.find(key).unwrap_or_else(|| panic!("{header}")) + key.len();
        header[i..].trim_start_matches([' ', ':']).to_string()
    };
    assert!(field("'fortran_order'").starts_with("False"), "{header}");
    let descr = field("'descr'");
    let descr = descr[1..].split('\'').next().unwrap().to_string();
    let shape = field("'shape'");
    let shape: Vec<usize> = shape[1..shape.find(')').unwrap()]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    (descr, shape, b[10 + len..].to_vec())
}

fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn u64s(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn npy_files_hold_the_csv_and_histogram_numbers() {
    let (toml, ..) = families().remove(4); // dcsgd, d = 4
    let exp = common::exp(&toml);
    let r = run(&exp);
    let tmp = TempDir::new("npy");
    optsde::output::write_outputs(&tmp.0, &exp, &r).unwrap();
    let d = exp.dim;

    let csv = std::fs::read_to_string(tmp.0.join("moments.csv")).unwrap();
    let csv: Vec<Vec<f64>> =
        csv.lines().skip(1).map(|l| l.split(',').map(|c| c.parse::<f64>().unwrap()).collect()).collect();
    let (descr, shape, data) = npy(&tmp.0.join("moments.npy"));
    assert_eq!(descr, "<f8");
    assert_eq!(shape, [csv.len(), 6 + 2 * d]);
    let m = f64s(&data);
    assert_eq!(m.len(), csv.len() * (6 + 2 * d));
    for (i, row) in csv.iter().enumerate() {
        let npy_row = &m[i * (6 + 2 * d)..(i + 1) * (6 + 2 * d)];
        assert_eq!(npy_row, row.as_slice(), "row {i}");
    }

    let hists: Value = serde_json::from_str(&std::fs::read_to_string(tmp.0.join("histograms.json")).unwrap()).unwrap();
    let hists = hists.as_array().unwrap();
    let bins = exp.stationary.bins as usize;
    let (descr, shape, data) = npy(&tmp.0.join("hist_counts.npy"));
    assert_eq!((descr.as_str(), shape.as_slice()), ("<u8", &[d + 1, bins][..]));
    let counts = u64s(&data);
    let (descr, shape, data) = npy(&tmp.0.join("hist_edges.npy"));
    assert_eq!((descr.as_str(), shape.as_slice()), ("<f8", &[d + 1, bins + 1][..]));
    let edges = f64s(&data);
    let (descr, shape, data) = npy(&tmp.0.join("hist_outside.npy"));
    assert_eq!((descr.as_str(), shape.as_slice()), ("<u8", &[d + 1, 2][..]));
    let outside = u64s(&data);
    for (q, h) in hists.iter().enumerate() {
        let c: Vec<u64> = h["counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(&counts[q * bins..(q + 1) * bins], c.as_slice(), "{}", h["name"]);
        let (lo, hi) = (h["lo"].as_f64().unwrap(), h["hi"].as_f64().unwrap());
        let e = &edges[q * (bins + 1)..(q + 1) * (bins + 1)];
        assert_eq!((e[0], e[bins]), (lo, hi), "{}", h["name"]);
        for j in 0..=bins {
            let x = lo + (hi - lo) * j as f64 / bins as f64;
            assert!((e[j] - x).abs() <= 1e-12 * (hi - lo), "{} edge {j}: {} vs {x}", h["name"], e[j]);
        }
        assert_eq!(outside[2 * q], h["underflow"].as_u64().unwrap());
        assert_eq!(outside[2 * q + 1], h["overflow"].as_u64().unwrap());
    }

    // The crate's own reader agrees with the header parsed above.
    let bytes = std::fs::read(tmp.0.join("moments.npy")).unwrap();
    let f = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(f.shape(), &[csv.len() as u64, (6 + 2 * d) as u64]);
    assert_eq!(f.into_vec::<f64>().unwrap(), m);
}

#[test]
fn the_experiment_in_summary_json_reads_back_unchanged() {
    let extra = [
        tiny("adam", "name = \"adam\"\neta = 1e-3\nbeta1 = 0.8\nweight_decay = 0.1\neps = 1e-6", "", H4, S4, X4),
        tiny("rmsprop", "name = \"rmsprop-malladi-sde\"\neta = 1e-2\nbeta = 0.9999", "", H4, S4, X4),
        tiny("fixed", "name = \"sgd-sde\"\neta = 1e-3", "range = [-0.5, 0.5]", H4, S4, X4)
            .replace("[run]", "[run]\nrefine = 4"),
    ];
    let mut tomls: Vec<String> = families().into_iter().map(|f| f.0).collect();
    tomls.extend(extra);
    tomls.push(
        tiny("t", "name = \"dsignsgd-sde\"\neta = 1e-2\nagents = 3", "", H4, S4, X4).replace(
            "name = \"gaussian\"\nsigma = [1.0, 2.0, 0.5, 3.0]",
            "name = \"student-t\"\nnu = 3.5\nscale = 0.5",
        ),
    );
    for toml in tomls {
        let exp = common::exp(&toml);
        let summary = json!({ "experiment": serde_json::to_value(&exp).unwrap() });
        let back = optsde::spec::experiment_from_summary(&summary, Path::new("summary.json"))
            .unwrap_or_else(|e| panic!("{}: {e}", exp.name));
        assert_eq!(back, exp);
    }
}

fn optsde(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("the optsde binary runs")
}

#[test]
fn optsde_plot_redraws_a_saved_run_and_refuses_a_directory_without_one() {
    let tmp = TempDir::new("cli");
    let (toml, ..) = families().remove(1); // signsgd-sde
    let file = tmp.0.join("run.toml");
    std::fs::write(&file, toml).unwrap();
    let out = tmp.0.join("out");
    let o = optsde(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let figures: Vec<String> =
        ["loss", "moments", "hist"].iter().flat_map(|s| [format!("{s}.svg"), format!("{s}.png")]).collect();
    let first: Vec<Vec<u8>> = figures.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    for f in &figures {
        std::fs::remove_file(out.join(f)).unwrap();
    }

    // The saved data (shortest round-trip text) redraw byte-identical figures.
    let o = optsde(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for (f, bytes) in figures.iter().zip(&first) {
        assert!(text.contains(f.as_str()), "{text}");
        assert!(std::fs::read(out.join(f)).unwrap() == *bytes, "{f} differs after `optsde plot`");
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.iter().all(|n| !n.starts_with('.')), "temporary files left: {names:?}");

    // --no-plots draws nothing.
    let bare = tmp.0.join("bare");
    let o = optsde(&["run", file.to_str().unwrap(), "--out", bare.to_str().unwrap(), "-q", "--no-plots"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(bare.join("moments.npy").exists());
    assert!(!bare.join("loss.svg").exists() && !bare.join("hist.png").exists());

    // A directory without outputs: a clear message, non-zero exit, nothing written.
    let empty = tmp.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = optsde(&["plot", empty.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not an optsde run directory") && err.contains("summary.json"), "{err}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    let o = optsde(&["plot", tmp.0.join("missing").to_str().unwrap()]);
    assert!(!o.status.success());
}

/// A one-coordinate experiment for the theory checks.
fn one_d(model: &str, rest: &str, h: f64, sigma: f64) -> Experiment {
    common::exp(&tiny("theory", model, rest, &h.to_string(), &sigma.to_string(), "0.0"))
}

#[test]
fn theory_matches_the_spec_checks() {
    // docs/signsgd.md: h = 1, σ = 0.2, η = 0.05: the Fokker–Planck variance is 0.00611.
    let exp = one_d("name = \"signsgd-sde\"\neta = 0.05", "", 1.0, 0.2);
    let th = theory::stationary(&exp, &[0.6]);
    let law = &th.laws[0].as_ref().unwrap().law;
    let var = law.second_moment();
    assert!((var / 0.00611 - 1.0).abs() < 2e-3, "sign SDE variance {var}");
    // Normalised: the density integrates to 1 (midpoint rule over ±0.6, ~10 sd).
    let n = 12_000;
    let mass: f64 = (0..n).map(|k| law.pdf(-0.6 + 1.2 * (k as f64 + 0.5) / n as f64) * 1.2 / n as f64).sum();
    assert!((mass - 1.0).abs() < 1e-6, "mass {mass}");

    // docs/signsgd.md: the reference SignSGD SDE loss, 2.034390e-3 with the b_i correction.
    let exp = common::reference("signsgd-sde", 1, 256, 100, 50, 10);
    let half = [0.2, 0.2, 0.05, 0.1];
    let (loss, label) = theory::stationary(&exp, &half).loss.unwrap();
    assert!((loss / 2.034390e-3 - 1.0).abs() < 1e-3, "reference sign-SDE loss {loss:.6e} ({label})");

    // docs/compressed.md item 4: h = 2, σ = 1, ω = 3, N = 2, η = 0.05: ν′ = 14.33, variance 0.02703,
    // |x| quantiles 0.2682 / 0.4524 / 0.6278 at 0.9 / 0.99 / 0.999.
    let exp =
        one_d("name = \"dcsgd-sde\"\neta = 0.05\nagents = 2", "[compressor]\nname = \"bernoulli\"\np = 0.25", 2.0, 1.0);
    let th = theory::stationary(&exp, &[1.0]);
    let cl = th.laws[0].as_ref().unwrap();
    let Law::StudentT { nu, .. } = cl.law else { panic!("{:?}", cl.law) };
    assert!((nu - 14.3333).abs() < 1e-3, "ν′ = {nu}");
    assert!((cl.law.second_moment() / 0.02703 - 1.0).abs() < 1e-3, "variance {}", cl.law.second_moment());
    let mut cdf = 0.0;
    let (du, mut u) = (1e-5, 0.0);
    let mut quantiles = vec![];
    for p in [0.9, 0.99, 0.999] {
        while cdf < p {
            cdf += 2.0 * cl.law.pdf(u + 0.5 * du) * du;
            u += du;
        }
        quantiles.push(u);
    }
    for (q, expected) in quantiles.iter().zip([0.2682, 0.4524, 0.6278]) {
        assert!((q - expected).abs() < 2e-4, "|x| quantile {q} vs {expected}");
    }

    // docs/sgd.md / T2: discrete SGD on the reference instance, E f = 3.575089e-3; T3: DCSGD.
    let (loss, _) = theory::stationary(&common::reference("sgd", 1, 256, 100, 50, 10), &half).loss.unwrap();
    assert!((loss / 3.575089e-3 - 1.0).abs() < 1e-6, "SGD {loss}");
    let dcsgd = optsde::spec::example("dcsgd", &Default::default()).unwrap();
    let (loss, _) = theory::stationary(&dcsgd, &[0.1; 8]).loss.unwrap();
    assert!((loss / 7.291682e-3 - 1.0).abs() < 1e-6, "DCSGD {loss}");

    // No overlay where no closed form applies.
    let th = theory::stationary(&common::reference("adam-sde", 1, 256, 100, 50, 10), &half);
    assert!(th.loss.is_none() && th.laws.iter().all(Option::is_none));
}

/// erf and erfc against C's libm (glibc, through Python's `math`; ≤ 1 ulp).
#[test]
fn erf_matches_libm() {
    #[rustfmt::skip]
    let table = [
        (0.0, 0.0, 1.0),
        (1e-08, 1.1283791670955126e-08, 0.9999999887162083),
        (0.1, 0.1124629160182849, 0.8875370839817152),
        (0.5, 0.5204998778130465, 0.4795001221869535),
        (1.0, 0.8427007929497149, 0.15729920705028513),
        (1.5, 0.9661051464753108, 0.033894853524689274),
        (1.999, 0.9953015566513705, 0.004698443348629488),
        (2.0, 0.9953222650189527, 0.004677734981047265),
        (2.5, 0.999593047982555, 0.0004069520174449589),
        (3.0, 0.9999779095030014, 2.2090496998585438e-05),
        (4.5, 0.9999999998033839, 1.9661604415428873e-10),
        (6.0, 1.0, 2.1519736712498916e-17),
        (10.0, 1.0, 2.088487583762545e-45),
    ];
    for (x, e, c) in table {
        let (erf, erfc) = theory::erf_erfc(x);
        assert!((erf - e).abs() <= 1e-14, "erf({x}) = {erf} vs {e}");
        assert!((erfc - c).abs() <= 1e-12 * c, "erfc({x}) = {erfc} vs {c}, relative {}", erfc / c - 1.0);
    }
}
