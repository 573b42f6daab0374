//! The figures of `optsde compare` (issue 6), drawn from its [`CompareReport`]:
//!
//! * `compare.svg/.png`: per η, one panel with the mean loss E f over time of the discrete
//!   optimizer and of each SDE, each with a band of ±2 standard errors (log y when every value
//!   after the start is positive and they span a decade), and one panel with the absolute weak
//!   error |E f(x_k) − E f(X)| over time per SDE (± 2 SE of the difference; log y when the SDEs'
//!   maxima differ tenfold), its maximum marked on the curve and given (± SE, step) in the
//!   panel's legend.
//!   The x axis is the optimizer's time t = kη for every model: records are matched by optimizer
//!   step k, so the SDEs of Malladi et al. (own time kη²) are drawn at the same k, and the axis
//!   label says so; under `[record] time = "k/d"` it is t = k/d. One legend above the panels
//!   names the models (same colours throughout).
//! * `compare-order.svg/.png`, with two or more η: the weak error of the loss (max over the
//!   records) against η on log–log axes, ± 2 SE, with each SDE's least-squares line (slope p from
//!   [`crate::compare::order`], the value in the legend, followed by "within noise, not a
//!   result" or "not determined, not a result" when the fit is not resolved) and a slope-1
//!   reference line.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::kit::{
    BAND_ALPHA, CAP, CAPTION_PX, DESC_PX, Drawing, Drawn, Mark, PALETTE, WIDTH, chart_builder, fitted_style,
    legend_height, legend_wrapped, log_scale, log_ticks, log_ticks_at_most, mesh, render_png, render_svg, top_center,
    value_range, write_figure,
};
use crate::compare::{ComparePoint, CompareReport, OrderFit};
use crate::error::Result;
use crate::experiment::{ModelKind, TimeAxis};
use crate::theory::fmt_sig;

/// The file stem of the models figure (`compare.svg`, `compare.png`).
pub const COMPARE_STEM: &str = "compare";
/// The file stem of the order figure (`compare-order.svg`, `compare-order.png`).
pub const COMPARE_ORDER_STEM: &str = "compare-order";

/// Heights of the title band and of one η's loss and weak-error panels.
const HEAD: u32 = 96;
const LOSS_H: u32 = 470;
const WEAK_H: u32 = 370;
/// Height of the weak-error panel's caption band.
const WEAK_CAPTION: u32 = 44;

/// The figures of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareFigure {
    /// Mean loss and weak error over time, per η.
    Models,
    /// Weak error against η with the fitted order (two or more η).
    Order,
}

impl CompareFigure {
    /// The file name without extension.
    pub fn stem(self) -> &'static str {
        match self {
            CompareFigure::Models => COMPARE_STEM,
            CompareFigure::Order => COMPARE_ORDER_STEM,
        }
    }
}

/// Draw the figures of a finished comparison into `dir` (see [`ComparePlots::figures`]).
pub fn write_compare_figures(dir: &Path, report: &CompareReport) -> Result<Vec<PathBuf>> {
    ComparePlots::new(report).write(dir)
}

/// The figures of one comparison.
pub struct ComparePlots<'a> {
    report: &'a CompareReport,
}

/// One model's curve over time: (t, value, standard error) per record.
struct Curve {
    pts: Vec<(f64, f64, f64)>,
    colour: RGBColor,
    dashed: bool,
}

impl<'a> ComparePlots<'a> {
    pub fn new(report: &'a CompareReport) -> Self {
        ComparePlots { report }
    }

    /// The figures this comparison has: the models figure, and the order figure with two or
    /// more η.
    pub fn figures(&self) -> Vec<CompareFigure> {
        let mut f = vec![CompareFigure::Models];
        if self.report.points.len() >= 2 && !self.report.sdes.is_empty() {
            f.push(CompareFigure::Order);
        }
        f
    }

    /// One figure as SVG text.
    pub fn svg(&self, fig: CompareFigure) -> Result<String> {
        render_svg(&(self, fig))
    }

    /// One figure as PNG bytes (8-bit RGB).
    pub fn png(&self, fig: CompareFigure) -> Result<Vec<u8>> {
        render_png(&(self, fig))
    }

    /// Write every figure of [`Self::figures`] as SVG and PNG into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for fig in self.figures() {
            written.extend(write_figure(dir, &(self, fig))?);
        }
        Ok(written)
    }

    /// Colour of the optimizer (0) and of SDE j (j + 1).
    fn colour(i: usize) -> RGBColor {
        PALETTE[i % PALETTE.len()]
    }

    fn is_malladi(name: &str) -> bool {
        ModelKind::ALL.into_iter().any(|k| k.name() == name && k.is_malladi())
    }

    /// The time axis: every model at the optimizer's step k, on t = kη (or t = k/d under
    /// `[record] time = "k/d"`).
    fn time_desc(&self) -> String {
        let exp = &self.report.experiment;
        if exp.record.time == TimeAxis::PerDimension {
            return format!("t = k/d  (k = optimizer step, d = {}; every model at the same k)", exp.dim);
        }
        let p7: Vec<&str> = self.report.sdes.iter().copied().filter(|s| Self::is_malladi(s)).collect();
        if p7.is_empty() {
            "t = kη  (k = optimizer step; every model at the same k)".to_string()
        } else {
            format!("t = kη  (k = optimizer step; {} at the same k, i.e. its time kη²)", p7.join(", "))
        }
    }

    fn legend_entries(&self) -> Vec<(String, Mark)> {
        let r = self.report;
        let mut e = vec![(format!("{} (optimizer)", r.optimizer), Mark::Band(Self::colour(0), false))];
        for (j, s) in r.sdes.iter().enumerate() {
            let own = if Self::is_malladi(s) { ", time kη²" } else { "" };
            e.push((format!("{s} (SDE{own})"), Mark::Band(Self::colour(j + 1), true)));
        }
        e.push(("shaded: ± 2 standard errors".to_string(), Mark::Note));
        e
    }

    fn legend_height(&self) -> u32 {
        legend_height(&self.legend_entries())
    }

    /// A title and a subtitle, centred in `head`.
    fn head<DB: DrawingBackend>(head: &DrawingArea<DB, Shift>, title: &str, sub: &str) -> Drawn<DB> {
        let (w, _) = head.dim_in_pixel();
        let centre = (w / 2) as i32;
        let style = fitted_style(title, w as i32 - 20, CAPTION_PX);
        head.draw(&Text::new(title.to_string(), (centre, 14), style.pos(top_center())))?;
        let style = fitted_style(sub, w as i32 - 20, DESC_PX);
        head.draw(&Text::new(sub.to_string(), (centre, 56), style.pos(top_center())))
    }

    fn draw_models<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let r = self.report;
        let (head, rest) = root.split_vertically(HEAD);
        let plural = if r.sdes.len() == 1 { "" } else { "s" };
        let who = if r.name == r.optimizer { String::new() } else { format!("{}: ", r.name) };
        let title = format!("{who}{} against its SDE{plural}, mean loss over time", r.optimizer);
        let sub = format!(
            "{} paths, seed {}; SDEs by Euler–Maruyama with {} substeps per optimizer step",
            r.paths, r.seed, r.refine
        );
        Self::head(&head, &title, &sub)?;
        let (strip, mut body) = rest.split_vertically(self.legend_height());
        legend_wrapped(&strip, &self.legend_entries())?;
        for p in &r.points {
            let (block, next) = body.split_vertically(LOSS_H + Self::weak_height(p));
            let (top, bottom) = block.split_vertically(LOSS_H);
            self.loss_panel(&top, p)?;
            self.weak_panel(&bottom, p)?;
            body = next;
        }
        Ok(())
    }

    fn curves(p: &ComparePoint) -> Vec<Curve> {
        let Some(first) = p.sdes.first() else { return Vec::new() };
        let ok = |v: &(f64, f64, f64)| v.0.is_finite() && v.1.is_finite();
        let mut curves = vec![Curve {
            pts: first.records.iter().map(|g| (g.t, g.loss_optimizer, g.loss_optimizer_se)).filter(ok).collect(),
            colour: Self::colour(0),
            dashed: false,
        }];
        for (j, c) in p.sdes.iter().enumerate() {
            curves.push(Curve {
                pts: c.records.iter().map(|g| (g.t, g.loss_sde, g.loss_sde_se)).filter(ok).collect(),
                colour: Self::colour(j + 1),
                dashed: true,
            });
        }
        curves
    }

    fn t_range(p: &ComparePoint) -> Range<f64> {
        let ts = || p.sdes.iter().flat_map(|c| c.records.iter().map(|g| g.t));
        let (t0, t1) = ts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| (a.min(t), b.max(t)));
        if t1 > t0 {
            t0..t1
        } else if t0.is_finite() {
            t0..t0 + 1.0
        } else {
            0.0..1.0
        }
    }

    fn loss_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, p: &ComparePoint) -> Drawn<DB> {
        let curves = Self::curves(p);
        let x = Self::t_range(p);
        let all = || curves.iter().flat_map(|c| c.pts.iter());
        let log = log_scale(all().filter(|q| q.0 > x.start).map(|q| q.1), None);
        let lows = all().map(|q| q.1 - 2.0 * q.2).filter(|v| !log || *v > 0.0);
        let highs = all().map(|q| q.1 + 2.0 * q.2);
        let y = value_range(all().map(|q| q.1).chain(lows).chain(highs), log);
        let caption = format!(
            "η = {}: mean loss E f  ({} steps, a record every {})",
            fmt_sig(p.eta),
            p.optimizer.steps,
            p.record_every
        );
        let mut b = chart_builder(area, &caption);
        if log {
            let ticks = log_ticks(y.clone());
            let mut chart = b.build_cartesian_2d(x.clone(), y.clone().log_scale().with_key_points(ticks))?;
            self.loss_series(&mut chart, &curves, x, y, log)
        } else {
            let mut chart = b.build_cartesian_2d(x.clone(), y.clone())?;
            self.loss_series(&mut chart, &curves, x, y, log)
        }
    }

    fn loss_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        curves: &[Curve],
        x: Range<f64>,
        y: Range<f64>,
        log: bool,
    ) -> Drawn<DB>
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart, &self.time_desc(), "E f", x, y.clone())?;
        let clamp = |v: f64| if v.is_nan() { y.start } else { v.clamp(y.start, y.end) };
        // Every band first, so that no band covers a line.
        for c in curves {
            chart.draw_series(std::iter::once(Polygon::new(band(&c.pts, clamp), c.colour.mix(BAND_ALPHA).filled())))?;
        }
        for c in curves {
            let line = c.pts.iter().filter(|q| !log || q.1 > 0.0).map(|q| (q.0, q.1));
            if c.dashed {
                chart.draw_series(DashedLineSeries::new(line, 10, 6, c.colour.stroke_width(2)))?;
            } else {
                chart.draw_series(LineSeries::new(line, c.colour.stroke_width(3)))?;
            }
        }
        Ok(())
    }

    fn weak_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, p: &ComparePoint) -> Drawn<DB> {
        let x = Self::t_range(p);
        let curves: Vec<Curve> = p
            .sdes
            .iter()
            .enumerate()
            .map(|(j, c)| Curve {
                pts: c
                    .records
                    .iter()
                    .map(|g| (g.t, g.loss_gap.abs(), g.loss_gap_se))
                    .filter(|q| q.1.is_finite())
                    .collect(),
                colour: Self::colour(j + 1),
                dashed: false,
            })
            .collect();
        let top = curves
            .iter()
            .flat_map(|c| c.pts.iter())
            .map(|q| q.1 + 2.0 * if q.2.is_finite() { q.2 } else { 0.0 })
            .fold(0.0f64, f64::max);
        // Log y when the SDEs' largest errors differ tenfold or more (a linear axis would flatten
        // the smaller onto zero), from 1/30 of the smallest maximum (lower values sit on the axis).
        let peaks: Vec<f64> = p.sdes.iter().map(|c| c.weak_loss).filter(|v| v.is_finite() && *v > 0.0).collect();
        let (lo, hi) = peaks.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        let log = peaks.len() >= 2 && hi >= 10.0 * lo;
        let y = if log { lo / 30.0..top.max(hi) * 1.4 } else { 0.0..if top > 0.0 { top * 1.08 } else { 1.0 } };
        // Caption, then the legend (above the chart, so that it hides no data), then the chart.
        let (head, rest) = area.split_vertically(WEAK_CAPTION);
        let (w, _) = head.dim_in_pixel();
        let caption = format!("η = {}: weak error |E f(xₖ) − E f(X)| at equal step k", fmt_sig(p.eta));
        let style = fitted_style(&caption, w as i32 - 20, CAPTION_PX);
        head.draw(&Text::new(caption, ((w / 2) as i32, 12), style.pos(top_center())))?;
        let entries = Self::weak_entries(p);
        let (strip, body) = rest.split_vertically(legend_height(&entries));
        legend_wrapped(&strip, &entries)?;
        let mut b = ChartBuilder::on(&body);
        b.margin(16).margin_top(8).x_label_area_size(56).y_label_area_size(96);
        if log {
            let ticks = log_ticks_at_most(y.clone(), 7);
            let mut chart = b.build_cartesian_2d(x.clone(), y.clone().log_scale().with_key_points(ticks))?;
            self.weak_series(&mut chart, p, &curves, x, y)
        } else {
            let mut chart = b.build_cartesian_2d(x.clone(), y.clone())?;
            self.weak_series(&mut chart, p, &curves, x, y)
        }
    }

    /// The weak-error panel's legend: each SDE's largest error, its SE and where.
    fn weak_entries(p: &ComparePoint) -> Vec<(String, Mark)> {
        p.sdes
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let se =
                    if s.weak_loss_se.is_finite() { format!(" ± {}", fmt_sig(s.weak_loss_se)) } else { String::new() };
                let text = format!("{}: max {}{se} at k = {}", s.run.model, fmt_sig(s.weak_loss), s.weak_loss_step);
                (text, Mark::Peak(Self::colour(j + 1)))
            })
            .collect()
    }

    /// Height of the weak-error panel of `p`.
    fn weak_height(p: &ComparePoint) -> u32 {
        WEAK_H + legend_height(&Self::weak_entries(p))
    }

    fn weak_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        p: &ComparePoint,
        curves: &[Curve],
        x: Range<f64>,
        y: Range<f64>,
    ) -> Drawn<DB>
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart, &self.time_desc(), "|E f(x) − E f(X)|", x, y.clone())?;
        let clamp = |v: f64| if v.is_nan() { y.start } else { v.clamp(y.start, y.end) };
        for c in curves {
            chart.draw_series(std::iter::once(Polygon::new(band(&c.pts, clamp), c.colour.mix(BAND_ALPHA).filled())))?;
        }
        for (c, s) in curves.iter().zip(&p.sdes) {
            chart.draw_series(LineSeries::new(c.pts.iter().map(|q| (q.0, clamp(q.1))), c.colour.stroke_width(2)))?;
            if let Some(g) = s.records.iter().find(|g| g.step == s.weak_loss_step && g.loss_gap.is_finite()) {
                chart.draw_series(std::iter::once(Circle::new(
                    (g.t, clamp(g.loss_gap.abs())),
                    6,
                    c.colour.filled(),
                )))?;
            }
        }
        Ok(())
    }

    /// The points of the order figure for SDE `j`: (η, weak error, its SE), positive errors only.
    fn order_points(&self, j: usize) -> Vec<(f64, f64, f64)> {
        self.report
            .points
            .iter()
            .filter_map(|p| p.sdes.get(j).map(|c| (p.eta, c.weak_loss, c.weak_loss_se)))
            .filter(|q| q.0 > 0.0 && q.1 > 0.0 && q.1.is_finite())
            .collect()
    }

    fn order_fit(&self, j: usize) -> Option<&OrderFit> {
        let name = self.report.sdes.get(j)?;
        self.report.orders.iter().find(|f| f.model == *name && f.quantity == "loss")
    }

    /// The series of the order figure, one per SDE.
    fn order_series(&self) -> Vec<OrderSeries> {
        let r = self.report;
        (0..r.sdes.len())
            .map(|j| {
                let pts = self.order_points(j);
                let fit = self.order_fit(j).filter(|f| f.order.is_finite()).map(|f| {
                    let (lx, ly): (Vec<f64>, Vec<f64>) = f
                        .etas
                        .iter()
                        .zip(&f.errors)
                        .filter(|(e, v)| **e > 0.0 && **v > 0.0)
                        .map(|(e, v)| (e.ln(), v.ln()))
                        .unzip();
                    let m = lx.len().max(1) as f64;
                    let (mx, my) = (lx.iter().sum::<f64>() / m, ly.iter().sum::<f64>() / m);
                    let (e0, e1) =
                        lx.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                    let at = |l: f64| (l.exp(), (my + f.order * (l - mx)).exp());
                    Fit {
                        order: f.order,
                        order_se: f.order_se,
                        unresolved: (!f.order_resolved).then(|| Self::verdict(f)),
                        line: [at(e0), at(e1)],
                        centre: (mx.exp(), my.exp()),
                    }
                });
                OrderSeries { name: r.sdes[j], colour: Self::colour(j + 1), pts, fit }
            })
            .collect()
    }

    /// An unresolved fit's verdict as the legend shows it, from [`OrderFit::order_note`]:
    /// "within noise, not a result (raise --paths ≈ 4×)" or "not determined, ...".
    fn verdict(f: &OrderFit) -> String {
        let (what, rest) = f.order_note.split_once(':').unwrap_or((&f.order_note, ""));
        let factor = rest.split_once("(≈ ").and_then(|(_, t)| t.split_once('×')).map(|(n, _)| n);
        match factor {
            Some(n) => format!("{what}, not a result (raise --paths ≈ {n}×)"),
            None => format!("{what}, not a result"),
        }
    }

    fn order_entries(series: &[OrderSeries]) -> Vec<(String, Mark)> {
        let mut e = Vec::new();
        if series.iter().any(|s| s.fit.is_some()) {
            e.push(("slope 1 (weak order one), for reference".to_string(), Mark::Dashed(GREY)));
        }
        for s in series {
            let text = match &s.fit {
                Some(f) => {
                    let p = fmt_order(f.order, f.order_se);
                    match &f.unresolved {
                        None => format!("{}: fitted order p = {p}", s.name),
                        Some(why) => format!("{}: fitted order p = {p}, {why}", s.name),
                    }
                }
                None => format!("{}: no fit (a weak error is 0 or not finite)", s.name),
            };
            e.push((text, Mark::Fit(s.colour)));
        }
        e
    }

    fn draw_order<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let r = self.report;
        let series = self.order_series();
        let entries = Self::order_entries(&series);
        let (head, rest) = root.split_vertically(HEAD);
        let who = if r.name == r.optimizer { String::new() } else { format!("{}: ", r.name) };
        let title = format!("{who}weak error of the loss against η ({} vs {})", r.optimizer, r.sdes.join(", "));
        let sub = "max over records of |E f(xₖ) − E f(X)|, ± 2 SE; dashed: least-squares fit, slope p";
        Self::head(&head, &title, sub)?;
        let (strip, body) = rest.split_vertically(legend_height(&entries));
        legend_wrapped(&strip, &entries)?;

        let etas = r.points.iter().map(|p| p.eta).filter(|e| *e > 0.0);
        let x = value_range(etas, true);
        let ys = series.iter().flat_map(|s| {
            let bars = s.pts.iter().flat_map(|q| [q.1 - 2.0 * q.2, q.1 + 2.0 * q.2, q.1]);
            let line = s.fit.iter().flat_map(|f| [f.line[0].1, f.line[1].1]);
            bars.chain(line).collect::<Vec<f64>>()
        });
        let y = value_range(ys.filter(|v| *v > 0.0), true);

        let mut b = ChartBuilder::on(&body);
        b.margin(16).margin_top(4).x_label_area_size(56).y_label_area_size(96);
        // Ticks at the η of the runs, unless they are too many to label.
        let mut xk: Vec<f64> = r.points.iter().map(|p| p.eta).filter(|e| *e > 0.0).collect();
        xk.sort_by(f64::total_cmp);
        if xk.len() > 6 {
            xk = log_ticks(x.clone());
        }
        let yk = log_ticks(y.clone());
        let mut chart =
            b.build_cartesian_2d(x.clone().log_scale().with_key_points(xk), y.clone().log_scale().with_key_points(yk))?;
        let x_desc = "η  (steps ∝ 1/η: the same SDE time at every η)";
        mesh(&mut chart, x_desc, "max |E f(x) − E f(X)|", x.clone(), y.clone())?;
        let clamp = |v: f64| if v > 0.0 { v.clamp(y.start, y.end) } else { y.start };

        // The slope-1 reference through the first fitted SDE's centre (geometric means).
        if let Some(f) = series.iter().find_map(|s| s.fit.as_ref()) {
            let (gx, gy) = f.centre;
            let line = [x.start, x.end].map(|e| (e, gy * e / gx));
            chart.draw_series(DashedLineSeries::new(line, 7, 4, GREY.stroke_width(2)))?;
        }
        for s in &series {
            let c = s.colour;
            for &(e, v, se) in s.pts.iter().filter(|q| q.2.is_finite() && q.2 > 0.0) {
                let (lo, hi) = (clamp(v - 2.0 * se), clamp(v + 2.0 * se));
                chart.draw_series(std::iter::once(PathElement::new([(e, lo), (e, hi)], c.stroke_width(2))))?;
                for end in [lo, hi] {
                    let cap = EmptyElement::at((e, end)) + PathElement::new([(-CAP, 0), (CAP, 0)], c.stroke_width(2));
                    chart.draw_series(std::iter::once(cap))?;
                }
            }
            if let Some(f) = &s.fit {
                chart.draw_series(DashedLineSeries::new(f.line, 10, 6, c.stroke_width(2)))?;
            }
            chart.draw_series(s.pts.iter().map(|q| Circle::new((q.0, q.1), 6, c.filled())))?;
        }
        Ok(())
    }
}

/// One SDE in the order figure: (η, weak error, SE) points and the fitted line.
struct OrderSeries {
    name: &'static str,
    colour: RGBColor,
    pts: Vec<(f64, f64, f64)>,
    fit: Option<Fit>,
}

/// A least-squares line ln error = a + p ln η: its ends over the data's η and its centre
/// (the geometric means of η and of the errors).
struct Fit {
    order: f64,
    order_se: f64,
    /// Why the fit is not a result ([`crate::compare::order`]'s rule); `None` when resolved.
    unresolved: Option<String>,
    line: [(f64, f64); 2],
    centre: (f64, f64),
}

/// The slope-1 reference line.
const GREY: RGBColor = RGBColor(110, 110, 110);

/// "p ± se" with the decimals the standard error resolves (two at least, four at most), and
/// no "-0.00".
fn fmt_order(p: f64, se: f64) -> String {
    let decimals = if se.is_finite() && se > 0.0 { (1 - se.log10().floor() as i32).clamp(2, 4) as usize } else { 2 };
    let mut text = format!("{p:.decimals$}");
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text.remove(0);
    }
    if se.is_finite() { format!("{text} ± {se:.decimals$}") } else { text }
}

impl Drawing for (&ComparePlots<'_>, CompareFigure) {
    fn stem(&self) -> &str {
        self.1.stem()
    }
    fn size(&self) -> (u32, u32) {
        match self.1 {
            CompareFigure::Models => {
                let panels: u32 = self.0.report.points.iter().map(|p| LOSS_H + ComparePlots::weak_height(p)).sum();
                (WIDTH, HEAD + self.0.legend_height() + panels)
            }
            CompareFigure::Order => {
                (WIDTH, HEAD + legend_height(&ComparePlots::order_entries(&self.0.order_series())) + 600)
            }
        }
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        root.fill(&WHITE)?;
        match self.1 {
            CompareFigure::Models => self.0.draw_models(root)?,
            CompareFigure::Order => self.0.draw_order(root)?,
        }
        root.present()
    }
}

/// The polygon of a ± 2 SE band around (t, value, SE) points, clamped by `clamp`.
fn band(pts: &[(f64, f64, f64)], clamp: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let se = |q: &(f64, f64, f64)| if q.2.is_finite() { q.2 } else { 0.0 };
    pts.iter()
        .map(|q| (q.0, clamp(q.1 + 2.0 * se(q))))
        .chain(pts.iter().rev().map(|q| (q.0, clamp(q.1 - 2.0 * se(q)))))
        .collect()
}
