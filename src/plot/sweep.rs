//! The figure of a sweep, `sweep.svg/.png` in its directory: the stationary loss (mean ± 2
//! standard errors) of every point against the first swept parameter, one series per
//! combination of the other axes' values, with the theory's stationary loss dashed through rings
//! where a closed form exists; log x (log y) when the values (losses) are positive and span a
//! decade or more.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use super::kit::{
    CAP, CAPTION_PX, Drawing, Drawn, Mark, PALETTE, RING, SIM, Shape, THEORY, WIDTH, draw_shape, fitted_style,
    legend_height, legend_wrapped, log_scale, log_ticks, mesh, render_png, render_svg, top_center, value_range,
    write_figure,
};
use super::run::run_theory;
use crate::error::Result;
use crate::experiment::Experiment;
use crate::plan::RunResult;
use crate::spec::Study;

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
                theory: run_theory(&p.exp, &r.histograms).loss,
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
        (52, legend_height(&self.legend_entries()))
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

/// A swept value for a legend: the shortest text that reads back as the same number.
fn fmt_value(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) { format!("{v:e}") } else { format!("{v}") }
}
