//! The figures of one run: `loss`, `moments` and `hist`, as SVG and PNG.
//!
//! * `loss`: the mean loss E f(x) over time t = kη (kη² for the P7 SDEs) with a band of ±2
//!   standard errors (√(loss_var / finite paths)) and the stationary loss of [`crate::theory`]
//!   as a dashed line where a closed form exists; log y when the loss is positive and spans a
//!   decade or more. The axis is the records' (`[record] time`: kη, or k/d for a regression).
//!   On a `linear-regression` whose model has a risk ODE ([`crate::regression::run_curve`]) the
//!   loss is the excess risk P, and the ODE's P at each record step k (τ = k/d, whatever the
//!   axis) is drawn as a solid red line, its fixed point P∞ as the dashed theory line.
//! * `moments`: the mean and the variance of the first [`MAX_COORDS`] coordinates over time,
//!   with the stationary variance of the theory dashed in black.
//! * `hist`: the stationary histograms of those coordinates as densities
//!   counts / (N · bin width) (N counts the samples outside the range too, so the bars integrate
//!   to the fraction inside), one panel each, with the theory density where one applies.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::kit::{
    CAPTION_PX, DESC_PX, Drawing, Drawn, Mark, PALETTE, SIM, THEORY, TICK_PX, WIDTH, chart_builder, clear_upper_corner,
    legend, legend_strip, log_scale, log_ticks, mesh, render_png, render_svg, text_style, tick_format, time_desc,
    top_center, value_range, write_figure,
};
use crate::error::Result;
use crate::experiment::{Experiment, ModelKind};
use crate::output::MomentRow;
use crate::output::moments::rows_from_run;
use crate::plan::RunResult;
use crate::regression::{run_fixed_point, run_risk_curve};
use crate::stats::Histogram;
use crate::theory::{self, Stationary, fmt_sig};

/// Coordinates shown in the moment and histogram figures: one colour of the palette each.
pub const MAX_COORDS: usize = PALETTE.len();

/// The figures of a run.
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

/// Draw the figures of a run that just finished into `dir`, the trajectories' too when it
/// recorded any (`super::trajectory`).
pub fn write_run_figures(dir: &Path, exp: &Experiment, r: &RunResult) -> Result<Vec<PathBuf>> {
    let rows = rows_from_run(exp, r);
    let mut written = Plots::new(exp, &rows, &r.histograms).write(dir)?;
    written.extend(super::trajectory::write_trajectory_figure(dir, exp, &r.trajectories)?);
    written.extend(super::hist2d::write_hist2d_figure(dir, exp, &r.histograms2d, &r.stationary.mean)?);
    Ok(written)
}

/// The closed forms drawn over a run's figures: [`theory::stationary`] over each coordinate's
/// histogram range (`hists` as in [`RunResult::histograms`]).
pub fn run_theory(exp: &Experiment, hists: &[Histogram]) -> Stationary {
    let center = exp.objective.center();
    let half_widths: Vec<f64> = (0..exp.dim)
        .map(|i| hists.get(i).map_or(0.0, |h| (h.lo - center[i]).abs().max((h.hi - center[i]).abs())))
        .collect();
    let mut th = theory::stationary(exp, &half_widths);
    // A regression's loss is the excess risk P: the line is its risk ODE's fixed point, where the
    // model has one (`theory` has no closed form for sampled data).
    if th.loss.is_none() {
        th.loss = run_fixed_point(exp).map(|p| (p, "fixed point P∞ of the risk ODE (docs/regression.md)".into()));
    }
    th
}

/// A regression's risk ODE as the loss figure draws it ([`run_risk_curve`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OdeSeries {
    /// The legend's text: "risk ODE (signSGD)" or "risk ODE (SGD)", and where the curve stops
    /// early (its cost bound), where.
    pub label: String,
    /// (t, P): each record's time on the records' own axis, and the ODE's P at τ = step/d.
    pub points: Vec<(f64, f64)>,
}

impl OdeSeries {
    /// The curve of `exp` at the steps of `rows`; `None` where no risk ODE applies.
    pub fn of(exp: &Experiment, rows: &[MomentRow]) -> Option<OdeSeries> {
        let steps: Vec<u64> = rows.iter().map(|r| r.step).collect();
        let curve = run_risk_curve(exp, &steps)?;
        let points =
            rows.iter().filter_map(|r| curve.steps.binary_search(&r.step).ok().map(|i| (r.t, curve.risk[i]))).collect();
        let mut label = curve.ode.label().to_string();
        if let (true, Some(tau)) = (curve.truncated, curve.tau.last()) {
            label.push_str(&format!(", to k/d = {} (cost bound)", fmt_sig(*tau)));
        }
        Some(OdeSeries { label, points })
    }
}

/// The data of the figures of one run and its theory.
pub struct Plots<'a> {
    exp: &'a Experiment,
    rows: &'a [MomentRow],
    hists: &'a [Histogram],
    theory: Stationary,
    ode: Option<OdeSeries>,
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

impl<'a> Plots<'a> {
    /// `hists` as in [`RunResult::histograms`] (coordinates, then the loss).
    pub fn new(exp: &'a Experiment, rows: &'a [MomentRow], hists: &'a [Histogram]) -> Self {
        Plots { exp, rows, hists, theory: run_theory(exp, hists), ode: OdeSeries::of(exp, rows) }
    }

    /// The theory drawn over the data.
    pub fn theory(&self) -> &Stationary {
        &self.theory
    }

    /// The risk ODE drawn under a regression's loss, where its model has one.
    pub fn ode(&self) -> Option<&OdeSeries> {
        self.ode.as_ref()
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

    fn time_desc(&self) -> String {
        time_desc(self.exp)
    }

    /// The loss axis: E f(x), or E P for a regression (its loss is the excess risk).
    fn loss_desc(&self) -> &'static str {
        if self.exp.objective.samples_data() { "E P (excess risk)" } else { "E f(x)" }
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
        let ode: Vec<(f64, f64)> = self
            .ode
            .iter()
            .flat_map(|o| &o.points)
            .copied()
            .filter(|p| p.1.is_finite() && (!log || p.1 > 0.0))
            .collect();
        let lows = pts.iter().map(|p| p.1 - 2.0 * p.2).filter(|v| !log || *v > 0.0);
        let highs = pts.iter().map(|p| p.1 + 2.0 * p.2);
        let values =
            pts.iter().map(|p| p.1).chain(lows).chain(highs).chain(theory.map(|t| t.0)).chain(ode.iter().map(|p| p.1));
        let y = value_range(values, log);
        let what = if self.exp.objective.samples_data() { "excess risk" } else { "loss" };
        let caption = format!("{}: mean {what} over {} paths", self.who(), self.rows.last().map_or(0, |r| r.finite));
        // The legend goes where the curve ends up not: below a loss that rises to its plateau.
        let end = pts.last().map_or(0.0, |p| p.1);
        let frac =
            if log { (end / y.start).ln() / (y.end / y.start).ln() } else { (end - y.start) / (y.end - y.start) };
        let pos = if frac > 0.5 { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight };
        let mut b = chart_builder(root, &caption);
        if log {
            let ticks = log_ticks(y.clone());
            let mut chart = b.build_cartesian_2d(self.t_range(), y.clone().log_scale().with_key_points(ticks))?;
            self.loss_series(&mut chart, &pts, &ode, y, pos)
        } else {
            let mut chart = b.build_cartesian_2d(self.t_range(), y.clone())?;
            self.loss_series(&mut chart, &pts, &ode, y, pos)
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
        ode: &[(f64, f64)],
        y: Range<f64>,
        pos: SeriesLabelPosition,
    ) -> Drawn<DB>
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart, &self.time_desc(), self.loss_desc(), self.t_range(), y.clone())?;
        // The risk ODE first and wider, so that a simulation agreeing with it stays visible on top.
        if let Some(o) = &self.ode {
            chart
                .draw_series(LineSeries::new(ode.iter().copied(), THEORY.stroke_width(4)))?
                .label(o.label.as_str())
                .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], THEORY.stroke_width(4)));
        }
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
                .legend(|(x, y)| {
                    let dash = |a: i32| PathElement::new([(a, 0), (a + 8, 0)], THEORY.stroke_width(2));
                    EmptyElement::at((x, y)) + dash(0) + dash(16)
                });
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
        let center = self.exp.objective.center();
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
        let theory_label = law.map(|l| match &l.detail {
            Some(d) => format!("theory, {d}"),
            None => "theory".to_string(),
        });
        let labels: Vec<&str> = std::iter::once("simulation").chain(theory_label.as_deref()).collect();
        let ink: Vec<(f64, f64, f64)> = density
            .iter()
            .enumerate()
            .map(|(j, &d)| (h.lo + j as f64 * width, h.lo + (j + 1) as f64 * width, d))
            .chain(grid.iter().map(|&(x, y)| (x, x, y)))
            .filter(|q| q.2.is_finite())
            .collect();
        // The plotting area inside the margins, tick labels and caption (the caption's height
        // taken as two lines, so the box's share of the height errs on the large side).
        let (aw, ah) = area.dim_in_pixel();
        let plot_px = (f64::from(aw) - 24.0 - 78.0, f64::from(ah) - 24.0 - 52.0 - 2.0 * f64::from(DESC_PX));
        let (corner, top) = clear_upper_corner(plot_px, &labels, h.lo..h.hi, top, &ink);
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
        if let Some(label) = theory_label {
            chart
                .draw_series(LineSeries::new(grid, THEORY.stroke_width(2)))?
                .label(label)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], THEORY.stroke_width(2)));
        }
        legend(&mut chart, corner)
    }
}

/// The source of a label, "… (docs/sgd.md)" → "docs/sgd.md", for short legends.
fn short_source(label: &str) -> &str {
    match (label.rfind("(docs/"), label.ends_with(')')) {
        (Some(i), true) => &label[i + 1..label.len() - 1],
        _ => label,
    }
}
