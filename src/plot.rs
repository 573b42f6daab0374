//! Figures of a run, as SVG and PNG next to its data files:
//!
//! * `loss.svg/.png`: the mean loss E f(x) over time t = kη (kη² for the P7 SDEs) with a band
//!   of ±2 standard errors (√(loss_var / finite paths)) and the stationary loss of
//!   [`crate::theory`] as a dashed line where a closed form exists; log y when the loss is
//!   positive and spans a decade or more.
//! * `moments.svg/.png`: the mean and the variance of the first [`MAX_COORDS`] coordinates over
//!   time, with the stationary variance of the theory dashed in the coordinate's colour.
//! * `hist.svg/.png`: the stationary histograms of those coordinates as densities
//!   counts / (N · bin width) (N counts the samples outside the range too, so the bars integrate
//!   to the fraction inside), one panel each, with the theory density where one applies.
//! * `sweep.svg/.png`, in a sweep's directory: the stationary loss (mean ± 2 standard errors)
//!   of every point against the first swept parameter, one series per combination of the other
//!   axes' values, with the theory's stationary loss dashed through rings where a closed form
//!   exists; log x (log y) when the values (losses) are positive and span a decade or more.
//! * `compare.svg/.png` and, with several η, `compare-order.svg/.png`, in the directory of
//!   `optsde compare`: the optimizer and its SDEs on one chart per η, their weak error over
//!   time, and the weak error against η with the fitted order (see [`ComparePlots`]).
//!
//! Drawn with `plotters` in pure Rust: text is set in DejaVu Sans, embedded from the `dejavu`
//! crate and rasterised by `ab_glyph`, so PNGs need no system fonts or fontconfig; the SVGs name
//! the `sans-serif` family. [`replot`] redraws the figures of a finished (or interrupted) run
//! from its `summary.json`, `moments.csv` and `histograms.json`, and those of a sweep (each
//! point's, and the sweep figure from `sweep.csv`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::experiment::{Experiment, ModelKind, Objective};
use crate::output::files::write_atomic;
pub use crate::output::moments::rows_from_run;
use crate::output::{self, MomentRow};
use crate::plan::RunResult;
use crate::spec::Study;
use crate::stats::Histogram;
use crate::theory::{self, Stationary, fmt_sig};

mod compare;
pub use compare::{COMPARE_ORDER_STEM, COMPARE_STEM, CompareFigure, ComparePlots, write_compare_figures};

/// Coordinates shown in the moment and histogram figures.
pub const MAX_COORDS: usize = 8;

/// Width of every figure in pixels.
const WIDTH: u32 = 1000;
const FONT: &str = "sans-serif";
/// Text sizes as plotters takes them: the line height, 1.24 em (so the SVGs say
/// `font-size="15.3"` for 19): the smallest text is 15 px.
const CAPTION_PX: u32 = 25;
const DESC_PX: u32 = 21;
const TICK_PX: u32 = 19;
const LEGEND_PX: u32 = 19;

/// Tableau's ten-colour palette, first eight (distinct for the usual colour blindness).
const PALETTE: [RGBColor; MAX_COORDS] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
const SIM: RGBColor = RGBColor(31, 119, 180);
/// Opacity of the ± 2 SE bands of the compare figure.
const BAND_ALPHA: f64 = 0.2;
const THEORY: RGBColor = RGBColor(200, 20, 20);

/// The figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    Loss,
    Moments,
    Hist,
}

impl Figure {
    pub const ALL: [Figure; 3] = [Figure::Loss, Figure::Moments, Figure::Hist];

    /// The file name without extension.
    pub fn stem(self) -> &'static str {
        match self {
            Figure::Loss => "loss",
            Figure::Moments => "moments",
            Figure::Hist => "hist",
        }
    }

    /// (width, height) in pixels for `coords` plotted coordinates.
    fn size(self, coords: usize) -> (u32, u32) {
        match self {
            Figure::Loss => (WIDTH, 640),
            Figure::Moments => (WIDTH, 1000),
            Figure::Hist if coords <= 1 => (WIDTH, 640),
            Figure::Hist => (WIDTH, 110 + 340 * coords.div_ceil(2) as u32),
        }
    }
}

/// The rows of a `moments.csv` (`path` for messages). The file has no per-record path count:
/// `paths` is taken for every record (exact for a complete run; for a snapshot it is the paths
/// done, a lower bound, which widens the error band). A snapshot's rows that no path reached
/// yet are all zero and are dropped when `complete` is false.
pub fn rows_from_csv(text: &str, path: &Path, dim: usize, paths: u64, complete: bool) -> Result<Vec<MomentRow>> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let expected = output::moments::columns(dim);
    if header != expected {
        return Err(bad(format!(
            "the header is `{}`, expected `{}` (dimension {dim} from summary.json)",
            header.join(","),
            expected.join(",")
        )));
    }
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != expected.len() {
            return Err(bad(format!("line {} has {} cells, expected {}", n + 2, cells.len(), expected.len())));
        }
        let num = |j: usize| -> Result<f64> {
            cells[j].trim().parse::<f64>().map_err(|_| bad(format!("line {}: `{}` is not a number", n + 2, cells[j])))
        };
        let int = |j: usize| -> Result<u64> {
            cells[j].trim().parse::<u64>().map_err(|_| bad(format!("line {}: `{}` is not an integer", n + 2, cells[j])))
        };
        let values: Vec<f64> = (5..cells.len()).map(num).collect::<Result<_>>()?;
        let (step, t, loss_mean, loss_var, diverged) = (int(0)?, num(1)?, num(2)?, num(3)?, int(4)?);
        let row = MomentRow {
            step,
            t,
            loss_mean,
            loss_var,
            diverged,
            finite: paths.saturating_sub(diverged),
            mean: values.iter().step_by(2).copied().collect(),
            var: values.iter().skip(1).step_by(2).copied().collect(),
        };
        let empty = row.loss_mean == 0.0 && row.loss_var == 0.0 && values.iter().all(|&v| v == 0.0);
        if complete || row.step == 0 || !empty {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// A run read back from its output directory.
#[derive(Clone, Debug)]
pub struct SavedRun {
    pub exp: Experiment,
    pub rows: Vec<MomentRow>,
    pub histograms: Vec<Histogram>,
    pub complete: bool,
}

/// Read `summary.json` (its `experiment`, validated again), `moments.csv` and
/// `histograms.json` from `dir`.
pub fn load_run(dir: &Path) -> Result<SavedRun> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map(|text| (text, path.clone())).map_err(|source| Error::Io {
            action: "not an optsde run directory (`optsde run --out DIR` writes one): cannot read",
            path,
            source,
        })
    };
    let json = |text: &str, path: &Path| {
        serde_json::from_str::<Value>(text)
            .map_err(|e| Error::Syntax { path: path.display().to_string(), message: e.to_string() })
    };
    let (text, summary_path) = read(output::SUMMARY)?;
    let summary = json(&text, &summary_path)?;
    let exp = crate::spec::experiment_from_summary(&summary, &summary_path)?;
    let complete = summary["complete"].as_bool().unwrap_or(true);
    let paths = if complete { exp.run.paths } else { summary["paths_done"].as_u64().unwrap_or(0) };
    let (text, csv_path) = read(output::MOMENTS)?;
    let rows = rows_from_csv(&text, &csv_path, exp.dim, paths, complete)?;
    let (text, hist_path) = read(output::HISTOGRAMS)?;
    let histograms = histograms_from_json(&json(&text, &hist_path)?, &hist_path)?;
    Ok(SavedRun { exp, rows, histograms, complete })
}

/// The histograms of a `histograms.json`.
pub fn histograms_from_json(v: &Value, path: &Path) -> Result<Vec<Histogram>> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let list = v.as_array().ok_or_else(|| bad("expected a list of histograms".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            let f = |k: &str| h[k].as_f64().ok_or_else(|| bad(format!("histogram {i}: `{k}` is not a number")));
            let u = |k: &str| h[k].as_u64().ok_or_else(|| bad(format!("histogram {i}: `{k}` is not a count")));
            let counts = h["counts"].as_array().ok_or_else(|| bad(format!("histogram {i}: no `counts` list")))?;
            Ok(Histogram {
                name: h["name"].as_str().unwrap_or("").to_string(),
                lo: f("lo")?,
                hi: f("hi")?,
                counts: counts
                    .iter()
                    .map(|c| c.as_u64().ok_or_else(|| bad(format!("histogram {i}: a count is not an integer"))))
                    .collect::<Result<_>>()?,
                underflow: u("underflow")?,
                overflow: u("overflow")?,
            })
        })
        .collect()
}

/// Draw the figures of a run that just finished into `dir`.
pub fn write_run_figures(dir: &Path, exp: &Experiment, r: &RunResult) -> Result<Vec<PathBuf>> {
    let rows = rows_from_run(exp, r);
    Plots::new(exp, &rows, &r.histograms).write(dir)
}

/// Redraw the figures of the run saved in `dir` (`optsde plot DIR`), or of every point and of
/// the sweep when `dir` holds a sweep (a `sweep.csv`; see [`replot_sweep`]).
pub fn replot(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(output::SWEEP_CSV).is_file() {
        return replot_sweep(dir);
    }
    let run = load_run(dir)?;
    Plots::new(&run.exp, &run.rows, &run.histograms).write(dir)
}

/// The data of the figures of one run and its theory.
pub struct Plots<'a> {
    exp: &'a Experiment,
    rows: &'a [MomentRow],
    hists: &'a [Histogram],
    theory: Stationary,
}

type Drawn<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that renders on any plotters backend.
trait Drawing {
    /// The file name without extension (for messages).
    fn stem(&self) -> &str;
    /// (width, height) in pixels.
    fn size(&self) -> (u32, u32);
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB>;
}

impl Drawing for (&Plots<'_>, Figure) {
    fn stem(&self) -> &str {
        self.1.stem()
    }
    fn size(&self) -> (u32, u32) {
        self.1.size(self.0.coords())
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        self.0.draw(self.1, root)
    }
}

/// A figure as SVG text.
fn render_svg(d: &impl Drawing) -> Result<String> {
    register_font(d.stem())?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, d.size()).into_drawing_area();
        d.draw_on(&root).map_err(|e| draw_error(d.stem(), "svg", e))?;
    }
    Ok(out)
}

/// A figure as PNG bytes (8-bit RGB).
fn render_png(d: &impl Drawing) -> Result<Vec<u8>> {
    register_font(d.stem())?;
    let (w, h) = d.size();
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        d.draw_on(&root).map_err(|e| draw_error(d.stem(), "png", e))?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let encoded = enc.write_header().and_then(|mut wr| {
        wr.write_image_data(&rgb)?;
        wr.finish()
    });
    encoded.map_err(|e| draw_error(d.stem(), "png", e))?;
    Ok(out)
}

/// Write a figure as `stem.svg` and `stem.png` into `dir` (atomically, like the data files).
fn write_figure(dir: &Path, d: &impl Drawing) -> Result<[PathBuf; 2]> {
    let svg = format!("{}.svg", d.stem());
    write_atomic(dir, &svg, render_svg(d)?.as_bytes())?;
    let png = format!("{}.png", d.stem());
    write_atomic(dir, &png, &render_png(d)?)?;
    Ok([dir.join(svg), dir.join(png)])
}

impl<'a> Plots<'a> {
    /// `hists` as in [`RunResult::histograms`] (coordinates, then the loss).
    pub fn new(exp: &'a Experiment, rows: &'a [MomentRow], hists: &'a [Histogram]) -> Self {
        let Objective::Quadratic { center, .. } = &exp.objective;
        let half_widths: Vec<f64> = (0..exp.dim)
            .map(|i| hists.get(i).map_or(0.0, |h| (h.lo - center[i]).abs().max((h.hi - center[i]).abs())))
            .collect();
        Plots { exp, rows, hists, theory: theory::stationary(exp, &half_widths) }
    }

    /// The theory drawn over the data.
    pub fn theory(&self) -> &Stationary {
        &self.theory
    }

    /// Coordinates shown.
    fn coords(&self) -> usize {
        self.exp.dim.min(MAX_COORDS)
    }

    /// One figure as SVG text.
    pub fn svg(&self, fig: Figure) -> Result<String> {
        render_svg(&(self, fig))
    }

    /// One figure as PNG bytes (8-bit RGB).
    pub fn png(&self, fig: Figure) -> Result<Vec<u8>> {
        render_png(&(self, fig))
    }

    /// Write every figure as SVG and PNG into `dir` (atomically, like the data files).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for fig in Figure::ALL {
            written.extend(write_figure(dir, &(self, fig))?);
        }
        Ok(written)
    }

    fn draw<DB: DrawingBackend>(&self, fig: Figure, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        root.fill(&WHITE)?;
        match fig {
            Figure::Loss => self.draw_loss(root)?,
            Figure::Moments => self.draw_moments(root)?,
            Figure::Hist => self.draw_hist(root)?,
        }
        root.present()
    }

    /// "t = kη (η = 0.001)", or kη² for the P7 SDEs.
    fn time_desc(&self) -> String {
        let k = if self.exp.model.name.is_malladi() { "t = kη²" } else { "t = kη" };
        format!("{k}  (k = optimizer step, η = {})", fmt_sig(self.exp.model.eta))
    }

    fn t_range(&self) -> Range<f64> {
        let t0 = self.rows.first().map_or(0.0, |r| r.t);
        let t1 = self.rows.last().map_or(1.0, |r| r.t);
        if t1 > t0 { t0..t1 } else { t0..t0 + 1.0 }
    }

    fn draw_loss<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        // (t, mean, standard error) of the records with finite paths.
        let pts: Vec<(f64, f64, f64)> = self
            .rows
            .iter()
            .filter(|r| r.finite > 0 && r.loss_mean.is_finite())
            .map(|r| (r.t, r.loss_mean, (r.loss_var.max(0.0) / r.finite as f64).sqrt()))
            .collect();
        let theory = self.theory.loss.as_ref();
        let t0 = self.t_range().start;
        let log = log_scale(pts.iter().filter(|p| p.0 > t0).map(|p| p.1), theory.map(|t| t.0));
        let pts: Vec<_> = pts.into_iter().filter(|p| !log || p.1 > 0.0).collect();
        let lows = pts.iter().map(|p| p.1 - 2.0 * p.2).filter(|v| !log || *v > 0.0);
        let highs = pts.iter().map(|p| p.1 + 2.0 * p.2);
        let values = pts.iter().map(|p| p.1).chain(lows).chain(highs).chain(theory.map(|t| t.0));
        let y = value_range(values, log);
        let caption = format!("{}: mean loss over {} paths", self.who(), self.rows.last().map_or(0, |r| r.finite));
        // The legend goes where the curve ends up not: below a loss that rises to its plateau.
        let end = pts.last().map_or(0.0, |p| p.1);
        let frac =
            if log { (end / y.start).ln() / (y.end / y.start).ln() } else { (end - y.start) / (y.end - y.start) };
        let pos = if frac > 0.5 { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight };
        let mut b = chart_builder(root, &caption);
        if log {
            let ticks = log_ticks(y.clone());
            let mut chart = b.build_cartesian_2d(self.t_range(), y.clone().log_scale().with_key_points(ticks))?;
            self.loss_series(&mut chart, &pts, y, pos)
        } else {
            let mut chart = b.build_cartesian_2d(self.t_range(), y.clone())?;
            self.loss_series(&mut chart, &pts, y, pos)
        }
    }

    /// "name (model)", or the model alone when the run is named after it.
    fn who(&self) -> String {
        let model = self.exp.model.name.name();
        if self.exp.name == model { model.to_string() } else { format!("{} ({model})", self.exp.name) }
    }

    fn loss_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        pts: &[(f64, f64, f64)],
        y: Range<f64>,
        pos: SeriesLabelPosition,
    ) -> Drawn<DB>
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart, &self.time_desc(), "E f(x)", self.t_range(), y.clone())?;
        let clamp = |v: f64| v.clamp(y.start, y.end);
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.0, clamp(p.1 + 2.0 * p.2)))
            .chain(pts.iter().rev().map(|p| (p.0, clamp(p.1 - 2.0 * p.2))))
            .collect();
        let band_style = SIM.mix(0.25).filled();
        chart
            .draw_series(std::iter::once(Polygon::new(band, band_style)))?
            .label("± 2 standard errors")
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 24, y + 7)], band_style));
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), SIM.stroke_width(2)))?
            .label("simulation: mean over finite paths")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], SIM.stroke_width(2)));
        if let Some((v, label)) = &self.theory.loss {
            let t = self.t_range();
            chart
                .draw_series(DashedLineSeries::new([(t.start, *v), (t.end, *v)], 12, 6, THEORY.stroke_width(2)))?
                .label(format!("theory {}: {label}", fmt_sig(*v)))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], THEORY.stroke_width(2)));
        }
        legend(chart, pos)
    }

    fn draw_moments<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let n = self.coords();
        let more = if self.exp.dim > n { format!(" (first {n} of {})", self.exp.dim) } else { String::new() };
        let theory: Vec<Option<f64>> = (0..n)
            .map(|i| {
                let m2 = self.theory.laws.get(i)?.as_ref()?.law.second_moment();
                m2.is_finite().then_some(m2)
            })
            .collect();

        // One legend for both panels, above them, so that it hides no data.
        let (strip, body) = root.split_vertically(52);
        let mut entries: Vec<(String, Mark)> = (0..n).map(|i| (format!("x{i}"), Mark::Line(PALETTE[i]))).collect();
        if let Some(l) = self.theory.laws.iter().take(n).flatten().next() {
            entries.push((format!("stationary variance, {}", short_source(&l.label)), Mark::Dashed(BLACK)));
        }
        legend_strip(&strip, &entries)?;
        let (_, h) = body.dim_in_pixel();
        let (top, bottom) = body.split_vertically(h / 2);

        // Means: linear axis.
        let t0 = self.t_range().start;
        let live: Vec<&MomentRow> = self.rows.iter().filter(|r| r.finite > 0).collect();
        let y = value_range(live.iter().flat_map(|r| r.mean[..n].iter().copied()), false);
        let mut b = chart_builder(&top, &format!("{}: mean of each coordinate{more}", self.who()));
        let mut chart = b.build_cartesian_2d(self.t_range(), y.clone())?;
        mesh(&mut chart, &self.time_desc(), "E xᵢ", self.t_range(), y)?;
        for (i, c) in PALETTE.iter().enumerate().take(n) {
            chart.draw_series(LineSeries::new(live.iter().map(|r| (r.t, r.mean[i])), c.stroke_width(2)))?;
        }

        // Variances, with the stationary variance of the theory.
        let after0 = live.iter().filter(|r| r.t > t0).flat_map(|r| r.var[..n].iter().copied());
        let log = log_scale(after0, theory.iter().flatten().copied().reduce(f64::min));
        let vars = live.iter().flat_map(|r| r.var[..n].iter().copied()).filter(|v| !log || *v > 0.0);
        let y = value_range(vars.chain(theory.iter().flatten().copied()), log);
        let mut b = chart_builder(&bottom, &format!("{}: variance of each coordinate{more}", self.who()));
        if log {
            let ticks = log_ticks(y.clone());
            let mut chart = b.build_cartesian_2d(self.t_range(), y.clone().log_scale().with_key_points(ticks))?;
            self.var_series(&mut chart, &live, &theory, y, log)
        } else {
            let mut chart = b.build_cartesian_2d(self.t_range(), y.clone())?;
            self.var_series(&mut chart, &live, &theory, y, log)
        }
    }

    fn var_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        live: &[&MomentRow],
        theory: &[Option<f64>],
        y: Range<f64>,
        log: bool,
    ) -> Drawn<DB>
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart, &self.time_desc(), "Var xᵢ", self.t_range(), y)?;
        for (i, c) in PALETTE.iter().enumerate().take(theory.len()) {
            let pts = live.iter().map(|r| (r.t, r.var[i])).filter(|p| !log || p.1 > 0.0);
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
        }
        // On top of the data, in black: a dashed line in the coordinate's own colour would vanish
        // into a simulation that agrees with it.
        let t = self.t_range();
        for v in theory.iter().flatten() {
            chart.draw_series(DashedLineSeries::new([(t.start, *v), (t.end, *v)], 10, 6, BLACK.stroke_width(1)))?;
        }
        Ok(())
    }

    fn draw_hist<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let n = self.coords();
        let (head, body) = root.split_vertically(if n <= 1 { 90 } else { 100 });
        let st = &self.exp.stationary;
        let samples = self.hists.first().map_or(0, Histogram::total);
        let more =
            if self.exp.dim > n { format!(", first {n} of {} coordinates", self.exp.dim) } else { String::new() };
        let title = format!(
            "{}: stationary densities (steps ≥ {}, every {}; {samples} samples{more})",
            self.who(),
            st.start,
            st.every
        );
        let model = self.exp.model.name;
        let theory_line = match self.theory.laws.iter().flatten().next() {
            Some(l) => format!("red: theory, {}", l.label),
            None if matches!(model, ModelKind::Signsgd | ModelKind::Dsignsgd) => format!(
                "no theory density: {}'s iterates lie on a lattice of spacing η/N, which the bins alias",
                model.name()
            ),
            None => format!("no closed-form stationary law is drawn for {}", model.name()),
        };
        let (w, _) = head.dim_in_pixel();
        head.draw(&Text::new(title, ((w / 2) as i32, 16), text_style(CAPTION_PX).pos(top_center())))?;
        head.draw(&Text::new(theory_line, ((w / 2) as i32, 54), text_style(DESC_PX).pos(top_center())))?;
        let cols = if n <= 1 { 1 } else { 2 };
        let panels = body.split_evenly((n.div_ceil(cols).max(1), cols));
        let Objective::Quadratic { center, .. } = &self.exp.objective;
        for (i, area) in panels.iter().enumerate().take(n) {
            let Some(h) = self.hists.get(i) else { continue };
            let law = self.theory.laws.get(i).and_then(Option::as_ref);
            self.hist_panel(area, i, h, center[i], law)?;
        }
        Ok(())
    }

    fn hist_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        i: usize,
        h: &Histogram,
        center: f64,
        law: Option<&theory::CoordLaw>,
    ) -> Drawn<DB> {
        let total = h.total();
        let bins = h.counts.len().max(1);
        let width = (h.hi - h.lo) / bins as f64;
        let outside = h.underflow + h.overflow;
        let mut caption = format!("x{i}");
        if total == 0 {
            caption.push_str(": no stationary samples yet");
        } else if outside > 0 {
            caption.push_str(&format!(" ({} of {total} samples outside the range)", outside));
        }
        let density: Vec<f64> = h.counts.iter().map(|&c| c as f64 / (total.max(1) as f64 * width)).collect();
        // The theory on a grid four times finer than the bins (at least 400 intervals).
        let m = (4 * bins).max(400);
        let grid: Vec<(f64, f64)> = match law {
            Some(l) => (0..=m)
                .map(|k| h.lo + (h.hi - h.lo) * k as f64 / m as f64)
                .map(|x| (x, l.law.pdf(x - center)))
                .collect(),
            None => Vec::new(),
        };
        let top = density
            .iter()
            .chain(grid.iter().map(|p| &p.1))
            .fold(0.0f64, |a, &b| if b.is_finite() { a.max(b) } else { a });
        let top = if top > 0.0 { top * 1.12 } else { 1.0 };
        let mut b = ChartBuilder::on(area);
        b.caption(caption, text_style(DESC_PX)).margin(12).x_label_area_size(52).y_label_area_size(78);
        let mut chart = b.build_cartesian_2d(h.lo..h.hi, 0.0..top)?;
        let (fx, fy) = (tick_format(h.lo..h.hi), tick_format(0.0..top));
        chart
            .configure_mesh()
            .x_desc(format!("x{i}"))
            .y_desc("density")
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(text_style(TICK_PX))
            .axis_desc_style(text_style(DESC_PX))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let bar = SIM.mix(0.45).filled();
        chart
            .draw_series(density.iter().enumerate().map(|(j, &d)| {
                let x0 = h.lo + j as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, d)], bar)
            }))?
            .label("simulation")
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 24, y + 7)], bar));
        if let Some(l) = law {
            let label = match &l.detail {
                Some(d) => format!("theory, {d}"),
                None => "theory".to_string(),
            };
            chart
                .draw_series(LineSeries::new(grid, THEORY.stroke_width(2)))?
                .label(label)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], THEORY.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// The file stem of a sweep's figure (`sweep.svg`, `sweep.png`).
pub const SWEEP_STEM: &str = "sweep";

/// Draw the figure of a sweep that just finished (`sweep.svg`, `sweep.png`) into its output
/// directory `dir`: the stationary loss of every point against the first swept parameter. A
/// study without axes draws nothing.
pub fn write_sweep_figures(dir: &Path, study: &Study, results: &[RunResult]) -> Result<Vec<PathBuf>> {
    if study.axes.is_empty() || study.points.is_empty() {
        return Ok(Vec::new());
    }
    Ok(SweepPlot::from_study(study, results).write(dir)?.to_vec())
}

/// Redraw the figures of the sweep saved in `dir` (`sweep.csv` and `point-NNN/`): every point's
/// run figures from its own files, then the sweep figure from `sweep.csv` with the theory of
/// each point's experiment.
pub fn replot_sweep(dir: &Path) -> Result<Vec<PathBuf>> {
    let path = dir.join(output::SWEEP_CSV);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "not an optsde sweep directory (`optsde run` on a file with [sweep] writes one): cannot read",
        path: path.clone(),
        source,
    })?;
    let (keys, mut points, complete) = sweep_from_csv(&text, &path)?;
    let mut written = Vec::new();
    let mut first = None;
    for (i, p) in points.iter_mut().enumerate() {
        let pd = dir.join(output::point_dir(i));
        let run = load_run(&pd)?;
        let plots = Plots::new(&run.exp, &run.rows, &run.histograms);
        written.extend(plots.write(&pd)?);
        p.theory = plots.theory.loss.clone();
        first.get_or_insert(run.exp);
    }
    let Some(exp) = first else {
        return Err(Error::Syntax { path: path.display().to_string(), message: "lists no sweep points".into() });
    };
    written.extend(SweepPlot::new(keys, points, &exp, complete).write(dir)?);
    Ok(written)
}

/// The swept parameters, the points (without theory) and whether every point is complete, from
/// the text of a `sweep.csv` (`path` for messages).
fn sweep_from_csv(text: &str, path: &Path) -> Result<(Vec<String>, Vec<SweepPoint>, bool)> {
    let bad = |message: String| Error::Syntax { path: path.display().to_string(), message };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let k = header.iter().position(|h| *h == "stationary_loss").unwrap_or(0);
    let tail = ["stationary_loss", "stationary_loss_se", "final_loss", "diverged_fraction", "complete"];
    if header.first() != Some(&"point") || k < 2 || header.get(k..k + tail.len()) != Some(&tail[..]) {
        return Err(bad(format!(
            "the header is `{}`, expected `point,<swept parameters>,{},...`",
            header.join(","),
            tail.join(",")
        )));
    }
    let keys: Vec<String> = header[1..k].iter().map(|s| s.to_string()).collect();
    let mut points = Vec::new();
    let mut complete = true;
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            return Err(bad(format!("line {} has {} cells, expected {}", n + 2, cells.len(), header.len())));
        }
        if cells[0].parse::<usize>().ok() != Some(n) {
            return Err(bad(format!("line {}: point `{}`, expected {n}", n + 2, cells[0])));
        }
        let num = |j: usize| -> Result<f64> {
            cells[j].parse::<f64>().map_err(|_| bad(format!("line {}: `{}` is not a number", n + 2, cells[j])))
        };
        let values = (1..k).map(num).collect::<Result<Vec<f64>>>()?;
        complete &= cells[k + 4] == "true";
        points.push(SweepPoint { values, loss: num(k)?, se: num(k + 1)?, theory: None });
    }
    Ok((keys, points, complete))
}

/// One grid point as the sweep figure draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPoint {
    /// The swept values, in axis order.
    pub values: Vec<f64>,
    /// The stationary loss (mean) and its standard error.
    pub loss: f64,
    pub se: f64,
    /// The theory's stationary loss and its source, where a closed form exists.
    pub theory: Option<(f64, String)>,
}

/// A marker shape (the series of a sweep cycle through the colours, then the shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Circle,
    Triangle,
    Square,
}

/// Half width of an error bar's caps and radius of a theory ring, in pixels.
const CAP: i32 = 6;
const RING: i32 = 9;

/// Draw a filled marker centred at `at` (in `area`'s coordinates).
fn draw_shape<DB, CT>(area: &DrawingArea<DB, CT>, shape: Shape, at: CT::From, c: RGBColor) -> Drawn<DB>
where
    DB: DrawingBackend,
    CT: CoordTranslate,
{
    let style = c.filled();
    match shape {
        Shape::Circle => area.draw(&(EmptyElement::at(at) + Circle::new((0, 0), 6, style))),
        Shape::Triangle => area.draw(&(EmptyElement::at(at) + TriangleMarker::new((0, 0), 8, style))),
        Shape::Square => area.draw(&(EmptyElement::at(at) + Rectangle::new([(-5, -5), (5, 5)], style))),
    }
}

/// The stationary loss (mean ± 2 SE) of a sweep's points against the first swept parameter, one
/// series per combination of the other parameters, with the theory's stationary loss dashed
/// through rings where a closed form exists.
pub struct SweepPlot {
    keys: Vec<String>,
    points: Vec<SweepPoint>,
    /// "name (model)".
    who: String,
    model: String,
    paths: u64,
    start: u64,
    complete: bool,
}

/// One series of a sweep figure: its legend text and points, sorted by the first parameter.
struct Series<'a> {
    label: String,
    points: Vec<&'a SweepPoint>,
}

impl SweepPlot {
    /// `points` in any order; `exp` is any point's experiment (name, model, paths).
    pub fn new(keys: Vec<String>, points: Vec<SweepPoint>, exp: &Experiment, complete: bool) -> SweepPlot {
        let model = exp.model.name.name().to_string();
        let who = if exp.name == model { model.clone() } else { format!("{} ({model})", exp.name) };
        SweepPlot { keys, points, who, model, paths: exp.run.paths, start: exp.stationary.start, complete }
    }

    /// The figure of a finished sweep, with each point's theory.
    pub fn from_study(study: &Study, results: &[RunResult]) -> SweepPlot {
        let points = study
            .points
            .iter()
            .zip(results)
            .map(|(p, r)| SweepPoint {
                values: p.values.clone(),
                loss: r.stationary.loss_mean,
                se: r.stationary.loss_se,
                theory: Plots::new(&p.exp, &[], &r.histograms).theory.loss,
            })
            .collect();
        let keys = study.axes.iter().map(|a| a.key.clone()).collect();
        let complete = results.iter().all(|r| r.complete);
        SweepPlot::new(keys, points, &study.points[0].exp, complete)
    }

    /// The points drawn (with their theory).
    pub fn points(&self) -> &[SweepPoint] {
        &self.points
    }

    /// The figure as SVG text.
    pub fn svg(&self) -> Result<String> {
        render_svg(self)
    }

    /// The figure as PNG bytes (8-bit RGB).
    pub fn png(&self) -> Result<Vec<u8>> {
        render_png(self)
    }

    /// Write `sweep.svg` and `sweep.png` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<[PathBuf; 2]> {
        write_figure(dir, self)
    }

    /// The series: one per combination of the values of the axes after the first, in grid order.
    fn series(&self) -> Vec<Series<'_>> {
        let mut out: Vec<(Vec<u64>, Series<'_>)> = Vec::new();
        for p in &self.points {
            let rest = p.values.get(1..).unwrap_or(&[]);
            let id: Vec<u64> = rest.iter().map(|v| v.to_bits()).collect();
            match out.iter_mut().find(|(k, _)| *k == id) {
                Some((_, s)) => s.points.push(p),
                None => {
                    let label = if rest.is_empty() {
                        "simulation".to_string()
                    } else {
                        let parts = self.keys[1..].iter().zip(rest).map(|(k, v)| format!("{k} = {}", fmt_value(*v)));
                        parts.collect::<Vec<_>>().join(", ")
                    };
                    out.push((id, Series { label, points: vec![p] }));
                }
            }
        }
        let mut out: Vec<Series<'_>> = out.into_iter().map(|(_, s)| s).collect();
        for s in &mut out {
            s.points.sort_by(|a, b| a.values[0].total_cmp(&b.values[0]));
        }
        out
    }

    /// (colour, shape) of series `s` of `n`: the loss figure's colours for a single series.
    fn style(s: usize, n: usize) -> (RGBColor, Shape) {
        if n == 1 {
            return (SIM, Shape::Circle);
        }
        let shape = [Shape::Circle, Shape::Triangle, Shape::Square][(s / PALETTE.len()) % 3];
        (PALETTE[s % PALETTE.len()], shape)
    }

    /// The theory's colour: red over a single series (as in the loss figure), else black.
    fn theory_colour(n: usize) -> RGBColor {
        if n == 1 { THEORY } else { BLACK }
    }

    fn legend_entries(&self) -> Vec<(String, Mark)> {
        let series = self.series();
        let n = series.len();
        let mut entries: Vec<(String, Mark)> = series
            .iter()
            .enumerate()
            .map(|(s, ser)| {
                let (c, shape) = Self::style(s, n);
                (ser.label.clone(), Mark::Point(c, shape))
            })
            .collect();
        let with_theory = self.points.iter().filter(|p| p.theory.is_some()).count();
        match self.points.iter().find_map(|p| p.theory.as_ref()) {
            Some((_, label)) => {
                let some = if with_theory < self.points.len() { ", where a closed form exists" } else { "" };
                entries.push((format!("theory: {label}{some}"), Mark::Ring(Self::theory_colour(n))));
            }
            None => entries.push((format!("no closed-form stationary loss for {}", self.model), Mark::Note)),
        }
        let hidden = self.points.iter().filter(|p| !p.loss.is_finite()).count();
        if hidden > 0 {
            let of = self.points.len();
            entries.push((format!("{hidden} of {of} points have no finite loss (diverged): not drawn"), Mark::Note));
        }
        entries
    }

    /// Height of the title band and of the legend.
    fn bands(&self) -> (u32, u32) {
        let (_, rows) = legend_rows(&self.legend_entries(), WIDTH as i32 - 2 * LEGEND_MARGIN);
        (52, (LEGEND_ROW * rows.len() as i32 + 8) as u32)
    }

    fn draw_sweep<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        root.fill(&WHITE)?;
        let (head_h, legend_h) = self.bands();
        let (head, rest) = root.split_vertically(head_h);
        let (strip, body) = rest.split_vertically(legend_h);
        let incomplete = if self.complete { "" } else { ", incomplete" };
        let title = format!(
            "{}: stationary loss (mean ± 2 SE, {} paths per point, steps ≥ {}){incomplete}",
            self.who, self.paths, self.start
        );
        let (w, _) = head.dim_in_pixel();
        let style = fitted_style(&title, w as i32 - 20, CAPTION_PX);
        head.draw(&Text::new(title, ((w / 2) as i32, 16), style.pos(top_center())))?;
        legend_wrapped(&strip, &self.legend_entries())?;

        let finite: Vec<&SweepPoint> = self.points.iter().filter(|p| p.loss.is_finite()).collect();
        let theory = || self.points.iter().filter_map(|p| p.theory.as_ref().map(|t| t.0));
        // Every swept value, drawn or not (a diverged point shows as a gap).
        let xs = || self.points.iter().map(|p| p.values[0]).filter(|v| v.is_finite());
        let xlog = log_scale(xs(), None);
        let x = value_range(xs(), xlog);
        let ylog = log_scale(finite.iter().map(|p| p.loss), None) && theory().all(|t| t > 0.0);
        let bars = finite.iter().filter(|p| p.se.is_finite()).flat_map(|p| [p.loss - 2.0 * p.se, p.loss + 2.0 * p.se]);
        let y = value_range(finite.iter().map(|p| p.loss).chain(bars).chain(theory()), ylog);

        let mut b = ChartBuilder::on(&body);
        b.margin(16).margin_top(4).x_label_area_size(56).y_label_area_size(96);
        let logged = |r: Range<f64>| r.clone().log_scale().with_key_points(log_ticks(r));
        match (xlog, ylog) {
            (false, false) => self.sweep_series(&mut b.build_cartesian_2d(x.clone(), y.clone())?, x, y, ylog),
            (true, false) => self.sweep_series(&mut b.build_cartesian_2d(logged(x.clone()), y.clone())?, x, y, ylog),
            (false, true) => self.sweep_series(&mut b.build_cartesian_2d(x.clone(), logged(y.clone()))?, x, y, ylog),
            (true, true) => {
                self.sweep_series(&mut b.build_cartesian_2d(logged(x.clone()), logged(y.clone()))?, x, y, ylog)
            }
        }?;
        root.present()
    }

    fn sweep_series<'c, DB, X, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
        x: Range<f64>,
        y: Range<f64>,
        ylog: bool,
    ) -> Drawn<DB>
    where
        DB: DrawingBackend + 'c,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart, &self.keys[0], "stationary E f(x)", x, y.clone())?;
        let clamp = |v: f64| if v.is_nan() { y.start } else { v.clamp(y.start, y.end) };
        let series = self.series();
        let n = series.len();
        let tc = Self::theory_colour(n);
        for (s, ser) in series.iter().enumerate() {
            let (c, shape) = Self::style(s, n);
            let pts: Vec<(f64, f64, f64)> = ser
                .points
                .iter()
                .filter(|p| p.loss.is_finite() && (!ylog || p.loss > 0.0))
                .map(|p| (p.values[0], p.loss, p.se))
                .collect();
            chart.draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c.stroke_width(2)))?;
            for &(px, py, se) in pts.iter().filter(|p| p.2.is_finite() && p.2 > 0.0) {
                let (lo, hi) = (clamp(py - 2.0 * se), clamp(py + 2.0 * se));
                chart.draw_series(std::iter::once(PathElement::new([(px, lo), (px, hi)], c.stroke_width(2))))?;
                for end in [lo, hi] {
                    let cap = EmptyElement::at((px, end)) + PathElement::new([(-CAP, 0), (CAP, 0)], c.stroke_width(2));
                    chart.draw_series(std::iter::once(cap))?;
                }
            }
            for &(px, py, _) in &pts {
                draw_shape(chart.plotting_area(), shape, (px, py), c)?;
            }
        }
        // The theory on top, so that a simulation agreeing with it hides nothing: dashed through
        // consecutive points that have a closed form, a ring at each.
        for ser in &series {
            let th: Vec<Option<(f64, f64)>> = ser
                .points
                .iter()
                .map(|p| p.theory.as_ref().map(|t| (p.values[0], t.0)).filter(|t| !ylog || t.1 > 0.0))
                .collect();
            for run in th.split(Option::is_none).filter(|r| r.len() > 1) {
                let line = run.iter().flatten().copied();
                chart.draw_series(DashedLineSeries::new(line, 10, 6, tc.stroke_width(2)))?;
            }
            for &(px, py) in th.iter().flatten() {
                chart.draw_series(std::iter::once(Circle::new((px, py), RING, tc.stroke_width(2))))?;
            }
        }
        Ok(())
    }
}

impl Drawing for SweepPlot {
    fn stem(&self) -> &str {
        SWEEP_STEM
    }
    fn size(&self) -> (u32, u32) {
        let (head, legend) = self.bands();
        (WIDTH, head + legend + 600)
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        self.draw_sweep(root)
    }
}

/// The text style of `px` (or smaller, down to [`TICK_PX`]) in which `text` fits `width`.
fn fitted_style(text: &str, width: i32, px: u32) -> TextStyle<'static> {
    let mut px = px;
    while px > TICK_PX && text_style(px).font.box_size(text).is_ok_and(|(w, _)| w as i32 > width) {
        px -= 1;
    }
    text_style(px)
}

/// A swept value for a legend: the shortest text that reads back as the same number.
fn fmt_value(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) { format!("{v:e}") } else { format!("{v}") }
}

/// A chart with the common caption, margins and label areas.
fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(caption, text_style(CAPTION_PX)).margin(16).x_label_area_size(56).y_label_area_size(96);
    b
}

/// Axes with descriptions, compact tick labels and the common fonts.
fn mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    x: Range<f64>,
    y: Range<f64>,
) -> Drawn<DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (fx, fy) = (tick_format(x), tick_format(y));
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style(text_style(TICK_PX))
        .axis_desc_style(text_style(DESC_PX))
        .light_line_style(BLACK.mix(0.05))
        .draw()
}

fn legend<'a, DB, X, Y>(chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>, pos: SeriesLabelPosition) -> Drawn<DB>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(pos)
        .label_font(text_style(LEGEND_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .margin(12)
        .draw()
}

/// A legend sample.
#[derive(Clone, Copy)]
enum Mark {
    /// A line.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A sweep series: a line through a marker with an error bar.
    Point(RGBColor, Shape),
    /// The sweep theory: a dashed line through a ring.
    Ring(RGBColor),
    /// A line (dashed when `true`) over a shaded band (compare figure: mean ± 2 SE).
    Band(RGBColor, bool),
    /// A dashed fitted line through a marker with an error bar (compare order figure).
    Fit(RGBColor),
    /// A line through a marker (compare figure: the largest weak error).
    Peak(RGBColor),
    /// Text alone.
    Note,
}

/// Width of a legend sample, and the gaps after it and between entries.
const SAMPLE: i32 = 34;
const SAMPLE_GAP: i32 = 8;
const ENTRY_GAP: i32 = 26;

/// Draw `mark`'s sample with its left end at (x, y).
fn draw_mark<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, mark: Mark, x: i32, y: i32) -> Drawn<DB> {
    let mid = x + SAMPLE / 2;
    match mark {
        Mark::Line(c) => area.draw(&PathElement::new([(x, y), (x + 28, y)], c.stroke_width(3))),
        Mark::Dashed(c) => {
            for k in 0..3 {
                let x0 = x + k * 11;
                area.draw(&PathElement::new([(x0, y), (x0 + 7, y)], c.stroke_width(2)))?;
            }
            Ok(())
        }
        Mark::Point(c, shape) => {
            area.draw(&PathElement::new([(x, y), (x + SAMPLE, y)], c.stroke_width(2)))?;
            area.draw(&PathElement::new([(mid, y - 10), (mid, y + 10)], c.stroke_width(2)))?;
            for yc in [y - 10, y + 10] {
                area.draw(&PathElement::new([(mid - CAP, yc), (mid + CAP, yc)], c.stroke_width(2)))?;
            }
            draw_shape(area, shape, (mid, y), c)
        }
        Mark::Ring(c) => {
            for x0 in [x, x + 26] {
                area.draw(&PathElement::new([(x0, y), (x0 + 8, y)], c.stroke_width(2)))?;
            }
            area.draw(&Circle::new((mid, y), RING, c.stroke_width(2)))
        }
        Mark::Band(c, dashed) => {
            area.draw(&Rectangle::new([(x, y - 8), (x + SAMPLE, y + 8)], c.mix(BAND_ALPHA).filled()))?;
            if dashed {
                for x0 in [x, x + 13, x + 26] {
                    area.draw(&PathElement::new([(x0, y), (x0 + 8, y)], c.stroke_width(3)))?;
                }
                Ok(())
            } else {
                area.draw(&PathElement::new([(x, y), (x + SAMPLE, y)], c.stroke_width(3)))
            }
        }
        Mark::Fit(c) => {
            for x0 in [x, x + 24] {
                area.draw(&PathElement::new([(x0, y), (x0 + 10, y)], c.stroke_width(2)))?;
            }
            area.draw(&PathElement::new([(mid, y - 10), (mid, y + 10)], c.stroke_width(2)))?;
            for yc in [y - 10, y + 10] {
                area.draw(&PathElement::new([(mid - CAP, yc), (mid + CAP, yc)], c.stroke_width(2)))?;
            }
            draw_shape(area, Shape::Circle, (mid, y), c)
        }
        Mark::Peak(c) => {
            area.draw(&PathElement::new([(x, y), (x + SAMPLE, y)], c.stroke_width(2)))?;
            area.draw(&Circle::new((mid, y), 6, c.filled()))
        }
        Mark::Note => Ok(()),
    }
}

/// A one-row legend centred in `area` (for figures whose panels share it).
fn legend_strip<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Mark)]) -> Drawn<DB> {
    let style = text_style(LEGEND_PX);
    let (w, h) = area.dim_in_pixel();
    let (sample, gap, sep) = (28i32, 8i32, 26i32);
    let widths: Vec<i32> = entries
        .iter()
        .map(|(t, _)| area.estimate_text_size(t, &style).map_or(0, |(tw, _)| tw as i32))
        .collect::<Vec<_>>();
    let total: i32 = widths.iter().map(|tw| sample + gap + tw).sum::<i32>() + sep * (entries.len() as i32 - 1).max(0);
    let (mut x, y) = (((w as i32) - total).max(0) / 2, h as i32 / 2);
    for ((text, mark), tw) in entries.iter().zip(widths) {
        draw_mark(area, *mark, x, y)?;
        area.draw(&Text::new(text.clone(), (x + sample + gap, y), style.pos(left_middle())))?;
        x += sample + gap + tw + sep;
    }
    Ok(())
}

/// Height of one row of a wrapped legend.
const LEGEND_ROW: i32 = 32;

/// The entries of a wrapped legend in rows no wider than `width`: (text width, row) per entry.
fn legend_rows(entries: &[(String, Mark)], width: i32) -> (Vec<i32>, Vec<Vec<usize>>) {
    let style = text_style(LEGEND_PX);
    let widths: Vec<i32> = entries
        .iter()
        .map(|(t, m)| {
            let tw = style.font.box_size(t).map_or(10 * t.chars().count() as i32, |(tw, _)| tw as i32);
            if matches!(m, Mark::Note) { tw } else { SAMPLE + SAMPLE_GAP + tw }
        })
        .collect();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, &ew) in widths.iter().enumerate() {
        match rows.last_mut() {
            Some(row) if used + ENTRY_GAP + ew <= width => {
                row.push(i);
                used += ENTRY_GAP + ew;
            }
            _ => {
                rows.push(vec![i]);
                used = ew;
            }
        }
    }
    (widths, rows)
}

/// A legend wrapped into rows, each centred in `area`.
fn legend_wrapped<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Mark)]) -> Drawn<DB> {
    let style = text_style(LEGEND_PX);
    let (w, _) = area.dim_in_pixel();
    let (widths, rows) = legend_rows(entries, w as i32 - 2 * LEGEND_MARGIN);
    for (r, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|&i| widths[i]).sum::<i32>() + ENTRY_GAP * (row.len() as i32 - 1);
        let mut x = ((w as i32) - total).max(0) / 2;
        let y = LEGEND_ROW * r as i32 + LEGEND_ROW / 2;
        for &i in row {
            let (text, mark) = &entries[i];
            let tx = if matches!(mark, Mark::Note) { x } else { x + SAMPLE + SAMPLE_GAP };
            draw_mark(area, *mark, x, y)?;
            area.draw(&Text::new(text.clone(), (tx, y), style.pos(left_middle())))?;
            x += widths[i] + ENTRY_GAP;
        }
    }
    Ok(())
}

/// Space left and right of a wrapped legend.
const LEGEND_MARGIN: i32 = 20;

/// Tick text: three significant digits, and 0 for rounding noise around zero.
fn tick_format(range: Range<f64>) -> impl Fn(&f64) -> String {
    let tiny = 1e-9 * (range.end - range.start).abs();
    move |v: &f64| if v.abs() <= tiny { "0".to_string() } else { fmt_sig(*v) }
}

/// Ticks of a log axis: the densest of 1–9, 1-2-5, 1-3 or 1 × 10^k with at most ten in `y`.
fn log_ticks(y: Range<f64>) -> Vec<f64> {
    log_ticks_at_most(y, 10)
}

/// [`log_ticks`] with at most `max` ticks (at least 1).
fn log_ticks_at_most(y: Range<f64>, max: usize) -> Vec<f64> {
    let max = max.max(1);
    let (k0, k1) = (y.start.log10().floor() as i32, y.end.log10().ceil() as i32);
    let sets: [&[f64]; 4] = [&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &[1.0, 2.0, 5.0], &[1.0, 3.0], &[1.0]];
    let ticks = |m: &[f64]| -> Vec<f64> {
        (k0..=k1)
            .flat_map(|k| m.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= y.start && *v <= y.end)
            .collect()
    };
    for m in sets {
        let t = ticks(m);
        if t.len() <= max {
            return t;
        }
    }
    let t = ticks(&[1.0]);
    let step = t.len().div_ceil(max);
    t.into_iter().step_by(step).collect()
}

fn text_style(px: u32) -> TextStyle<'static> {
    (FONT, f64::from(px)).into_font().color(&BLACK)
}

fn top_center() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Center, VPos::Top)
}

fn left_middle() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Left, VPos::Center)
}

/// Log y when every value after the start is positive and they (with the theory value) span at
/// least a factor of 10.
fn log_scale(values: impl Iterator<Item = f64>, theory: Option<f64>) -> bool {
    let (mut lo, mut hi, mut n) = (f64::INFINITY, 0.0f64, 0usize);
    for v in values.chain(theory) {
        if v.is_nan() || v <= 0.0 || v.is_infinite() {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
        n += 1;
    }
    n >= 2 && hi >= 10.0 * lo
}

/// The axis range of finite `values`, padded (by a factor on a log axis).
fn value_range(values: impl Iterator<Item = f64>, log: bool) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return if log { 1e-3..1.0 } else { 0.0..1.0 };
    }
    if log {
        return lo / 1.4..hi * 1.4;
    }
    let pad = if hi > lo { 0.06 * (hi - lo) } else { 0.1 * lo.abs().max(1e-12) };
    lo - pad..hi + pad
}

/// The source of a label, "… (spec §2 (c))" → "spec §2 (c)", for short legends.
fn short_source(label: &str) -> &str {
    match (label.rfind("(spec"), label.ends_with(')')) {
        (Some(i), true) => &label[i + 1..label.len() - 1],
        _ => label,
    }
}

/// Register DejaVu Sans as `sans-serif` for ab_glyph (once).
fn register_font(stem: &str) -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok =
        *OK.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if ok { Ok(()) } else { Err(draw_error(stem, "png", "the embedded DejaVu Sans font could not be loaded")) }
}

fn draw_error(stem: &str, ext: &str, e: impl std::fmt::Display) -> Error {
    Error::Io {
        action: "cannot draw",
        path: PathBuf::from(format!("{stem}.{ext}")),
        source: std::io::Error::other(e.to_string()),
    }
}
