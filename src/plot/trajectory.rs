//! The `trajectories` figure (`record.trajectories`): the states of the first paths of a run at
//! every record, as SVG and PNG, so that single paths show what the moments average away.
//!
//! * d = 1: x0 over time t = kη (kη² for the P7 SDEs; k/d under `[record] time = "k/d"`), one
//!   line per path.
//! * d ≥ 2: the paths in the (x0, x1) plane over grey contour lines of the loss on that plane
//!   (levels at quantiles of its values on a grid, `kit::Grid`); for d > 2 the plane holds the
//!   other coordinates at the mean of the paths' last drawn states, which the figure says. The
//!   start x0 is a black ring, each path's last record a dot in its colour.
//!
//! Paths cycle through the palette. A diverged path (at a record, a coordinate beyond
//! `run.divergence_bound` or non-finite: the frozen state, see `crate::trajectory`) ends at its
//! last record within the bound, marked with a cross.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::kit::{
    CAPTION_PX, DESC_PX, Drawing, Drawn, Grid, PALETTE, WIDTH, mesh, text_style, time_desc, top_center, value_range,
    write_figure,
};
use crate::error::Result;
use crate::experiment::{Experiment, model_time};
use crate::trajectory::Trajectories;

/// The file name of the figure, without extension.
pub const TRAJECTORIES_STEM: &str = "trajectories";
/// Grid points per axis of the loss contours, and their number of levels.
const GRID: usize = 72;
const LEVELS: usize = 12;
/// Paths drawn 2 px wide; more are drawn 1 px wide.
const THICK_PATHS: usize = 16;
/// The contour lines' colour (a blue grey: no text or grid line has it).
const CONTOUR: RGBColor = RGBColor(160, 160, 185);

/// Draw the trajectories figure of `t` into `dir` (nothing when the run recorded none).
pub fn write_trajectory_figure(dir: &Path, exp: &Experiment, t: &Trajectories) -> Result<Vec<PathBuf>> {
    if t.is_empty() {
        return Ok(Vec::new());
    }
    Ok(write_figure(dir, &TrajectoryPlot::new(exp, t))?.to_vec())
}

/// The trajectories of one run and its experiment.
pub struct TrajectoryPlot<'a> {
    exp: &'a Experiment,
    t: &'a Trajectories,
    /// Per path: the records drawn (up to the first one out of bounds) and whether it diverged.
    kept: Vec<(usize, bool)>,
}

impl Drawing for TrajectoryPlot<'_> {
    fn stem(&self) -> &str {
        TRAJECTORIES_STEM
    }
    fn size(&self) -> (u32, u32) {
        (WIDTH, if self.t.dim == 1 { 700 } else { 940 })
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        root.fill(&WHITE)?;
        let lines = self.subtitle();
        let (head, body) = root.split_vertically(64 + 34 * lines.len() as u32);
        let (w, _) = head.dim_in_pixel();
        head.draw(&Text::new(self.title(), ((w / 2) as i32, 14), text_style(CAPTION_PX).pos(top_center())))?;
        for (k, line) in lines.into_iter().enumerate() {
            let y = 56 + 34 * k as i32;
            head.draw(&Text::new(line, ((w / 2) as i32, y), text_style(DESC_PX).pos(top_center())))?;
        }
        if self.t.dim == 1 {
            self.draw_over_time(&body)?
        } else {
            self.draw_plane(&body)?
        }
        root.present()
    }
}

impl<'a> TrajectoryPlot<'a> {
    pub fn new(exp: &'a Experiment, t: &'a Trajectories) -> Self {
        // The kernel's own test: |x_i| <= the bound in f32 (a NaN fails it).
        let bound = exp.run.divergence_bound as f32;
        let within = |v: f32| v.abs() <= bound;
        let kept = (0..t.paths)
            .map(|p| {
                let out = (0..t.records()).find(|&r| (0..t.dim).any(|i| !within(t.at(r, p, i))));
                out.map_or((t.records(), false), |r| (r, true))
            })
            .collect();
        TrajectoryPlot { exp, t, kept }
    }

    fn title(&self) -> String {
        let model = self.exp.model.name.name();
        let who = if self.exp.name == model { model.to_string() } else { format!("{} ({model})", self.exp.name) };
        let paths =
            if self.t.paths == 1 { "the first path".to_string() } else { format!("the first {} paths", self.t.paths) };
        if self.t.dim == 1 {
            format!("{who}: x0 of {paths} at every record")
        } else {
            format!("{who}: {paths} in the (x0, x1) plane")
        }
    }

    /// The lines under the title: the records, the divergences, and for the plane what is drawn.
    fn subtitle(&self) -> Vec<String> {
        let diverged = self.kept.iter().filter(|k| k.1).count();
        let mut first = match self.t.steps.last() {
            Some(last) => format!("records at steps 0 to {last}, every {}", self.exp.record.every),
            None => "no record yet".to_string(),
        };
        if diverged > 0 {
            first.push_str(&format!("; {diverged} diverged (✕: the last record within the bound)"));
        }
        let mut lines = vec![first];
        if self.t.dim >= 2 {
            let rest = if self.t.dim > 2 { " (x2, … at the paths' mean last state)" } else { "" };
            lines.push(format!("○ start x0, ● last record; grey lines: contours of f{rest}"));
        }
        lines
    }

    /// The colour and width of path p's line: 2 px (drawn solid) up to [`THICK_PATHS`] paths.
    fn pen(&self, p: usize) -> ShapeStyle {
        let w = if self.t.paths <= THICK_PATHS { 2 } else { 1 };
        PALETTE[p % PALETTE.len()].stroke_width(w)
    }

    /// Coordinate i of every drawn state.
    fn values(&self, i: usize) -> impl Iterator<Item = f64> + '_ {
        self.kept.iter().enumerate().flat_map(move |(p, &(n, _))| (0..n).map(move |r| f64::from(self.t.at(r, p, i))))
    }

    fn draw_over_time<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let per_step = self.exp.record_time_per_step();
        let times: Vec<f64> = self.t.steps.iter().map(|&k| model_time(k, per_step)).collect();
        let x = match (times.first(), times.last()) {
            (Some(&a), Some(&b)) if b > a => a..b,
            (Some(&a), _) => a..a + 1.0,
            _ => 0.0..1.0,
        };
        let y = value_range(self.values(0), false);
        let mut chart = builder(area).build_cartesian_2d(x.clone(), y.clone())?;
        mesh(&mut chart, &time_desc(self.exp), "x0", x, y)?;
        for (p, &(n, diverged)) in self.kept.iter().enumerate() {
            let pts: Vec<(f64, f64)> = (0..n).map(|r| (times[r], f64::from(self.t.at(r, p, 0)))).collect();
            chart.draw_series(LineSeries::new(pts.iter().copied(), self.pen(p)))?;
            if let (true, Some(&end)) = (diverged, pts.last()) {
                chart.draw_series(std::iter::once(Cross::new(end, 7, self.pen(p))))?;
            }
        }
        Ok(())
    }

    fn draw_plane<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let x0 = &self.exp.x0;
        let x = value_range(self.values(0).chain([x0[0]]), false);
        let y = value_range(self.values(1).chain([x0[1]]), false);
        let mut chart = builder(area).build_cartesian_2d(x.clone(), y.clone())?;
        mesh(&mut chart, "x0", "x1", x.clone(), y.clone())?;
        for segs in self.contours(x, y) {
            chart.draw_series(segs.into_iter().map(|s| PathElement::new(s.to_vec(), CONTOUR.stroke_width(1))))?;
        }
        for (p, &(n, diverged)) in self.kept.iter().enumerate() {
            let pts: Vec<(f64, f64)> =
                (0..n).map(|r| (f64::from(self.t.at(r, p, 0)), f64::from(self.t.at(r, p, 1)))).collect();
            chart.draw_series(LineSeries::new(pts.iter().copied(), self.pen(p)))?;
            let Some(&end) = pts.last() else { continue };
            if diverged {
                chart.draw_series(std::iter::once(Cross::new(end, 7, self.pen(p))))?;
            } else {
                chart.draw_series(std::iter::once(Circle::new(end, 4, PALETTE[p % PALETTE.len()].filled())))?;
            }
        }
        chart.draw_series(std::iter::once(Circle::new((x0[0], x0[1]), 8, BLACK.stroke_width(2))))?;
        Ok(())
    }

    /// The loss contours over the plane `x × y`, one list of segments per level: the other
    /// coordinates at the mean of the paths' last drawn states (x0 where none is drawn).
    fn contours(&self, x: Range<f64>, y: Range<f64>) -> Vec<Vec<[(f64, f64); 2]>> {
        let d = self.t.dim;
        let last: Vec<usize> = self.kept.iter().enumerate().filter(|k| k.1.0 > 0).map(|(p, _)| p).collect();
        let rest: Vec<f64> = (0..d)
            .map(|i| {
                if last.is_empty() {
                    return self.exp.x0[i];
                }
                let sum: f64 = last.iter().map(|&p| f64::from(self.t.at(self.kept[p].0 - 1, p, i))).sum();
                sum / last.len() as f64
            })
            .collect();
        let f = self.exp.objective.loss_fn();
        let grid = Grid::sample(x, y, GRID, |a, b| {
            let mut point = rest.clone();
            point[0] = a;
            point[1] = b;
            f(&point)
        });
        grid.quantile_levels(LEVELS).into_iter().map(|level| grid.contour(level)).collect()
    }
}

/// A chart with the common margins and label areas; the figure's title is above it.
fn builder<'a, 'b, DB: DrawingBackend>(area: &'a DrawingArea<DB, Shift>) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin(16).x_label_area_size(56).y_label_area_size(96);
    b
}
