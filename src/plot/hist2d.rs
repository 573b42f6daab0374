//! The `hist2d` figure (`[stationary] pairs`): one panel per coordinate pair, its 2-D stationary
//! histogram as a density (darker blue for more samples per bin, white for none) over the box of
//! the two coordinates' histogram ranges, with contour lines of the loss on that plane drawn
//! under it (the density is translucent) (levels at quantiles of its values on a grid, `kit::Grid`); the other coordinates
//! are held at the stationary mean, which the figure says.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::kit::{CAPTION_PX, DESC_PX, Drawing, Drawn, Grid, WIDTH, mesh, text_style, top_center, write_figure};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::stats::Histogram2d;

/// The file name of the figure, without extension.
pub const HIST2D_STEM: &str = "hist2d";
/// Grid points per axis of the loss contours, and their number of levels.
const GRID: usize = 72;
const LEVELS: usize = 10;
/// The contour lines' colour (an orange: no density shade has it).
const CONTOUR: RGBColor = RGBColor(200, 120, 60);
/// The density's darkest shade.
const DENSE: (f64, f64, f64) = (20.0, 50.0, 140.0);
/// Panels per row.
const COLUMNS: usize = 2;
/// A panel's height in pixels.
const PANEL_PX: u32 = 760;

/// Draw the 2-D histograms of a run into `dir` (nothing when it has none); `mean` holds the
/// other coordinates of each panel's plane.
pub fn write_hist2d_figure(dir: &Path, exp: &Experiment, hists: &[Histogram2d], mean: &[f64]) -> Result<Vec<PathBuf>> {
    if hists.is_empty() {
        return Ok(Vec::new());
    }
    Ok(write_figure(dir, &Hist2dPlot { exp, hists, mean })?.to_vec())
}

/// The 2-D histograms of one run.
pub struct Hist2dPlot<'a> {
    pub exp: &'a Experiment,
    pub hists: &'a [Histogram2d],
    pub mean: &'a [f64],
}

impl Drawing for Hist2dPlot<'_> {
    fn stem(&self) -> &str {
        HIST2D_STEM
    }
    fn size(&self) -> (u32, u32) {
        let rows = self.hists.len().div_ceil(COLUMNS) as u32;
        (WIDTH, 140 + rows * PANEL_PX)
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        root.fill(&WHITE)?;
        let (head, body) = root.split_vertically(140);
        let (w, _) = head.dim_in_pixel();
        let model = self.exp.model.name.name();
        let title = format!("{}: stationary density of coordinate pairs", self.exp.name);
        let title = if self.exp.name == model { title } else { format!("{title} ({model})") };
        head.draw(&Text::new(title, ((w / 2) as i32, 14), text_style(CAPTION_PX).pos(top_center())))?;
        let rest = if self.exp.dim > 2 { "; the other coordinates at their stationary mean" } else { "" };
        let line = format!("blue: samples per bin (darker: more); orange lines: contours of f{rest}");
        head.draw(&Text::new(line, ((w / 2) as i32, 62), text_style(DESC_PX).pos(top_center())))?;
        let rows = self.hists.len().div_ceil(COLUMNS);
        let cols = self.hists.len().min(COLUMNS);
        for (h, area) in self.hists.iter().zip(body.split_evenly((rows, cols))) {
            self.panel(h, &area)?;
        }
        root.present()
    }
}

impl Hist2dPlot<'_> {
    fn panel<DB: DrawingBackend>(&self, h: &Histogram2d, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let (x, y) = (h.lo[0]..h.hi[0], h.lo[1]..h.hi[1]);
        let mut b = ChartBuilder::on(area);
        b.margin(16).x_label_area_size(56).y_label_area_size(96);
        let mut chart = b.build_cartesian_2d(x.clone(), y.clone())?;
        mesh(&mut chart, &format!("x{}", h.x), &format!("x{}", h.y), x.clone(), y.clone())?;
        let [bx, by] = h.bins.map(|b| b as usize);
        let (wx, wy) = ((x.end - x.start) / bx as f64, (y.end - y.start) / by as f64);
        let max = h.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        for segs in self.contours(h) {
            chart.draw_series(segs.into_iter().map(|s| PathElement::new(s.to_vec(), CONTOUR.stroke_width(2))))?;
        }
        // The density over the contours, translucent so that they show through.
        chart.draw_series(h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(k, &c)| {
            let (a, b) = ((k / by) as f64, (k % by) as f64);
            let corner = (x.start + a * wx, y.start + b * wy);
            Rectangle::new([corner, (corner.0 + wx, corner.1 + wy)], shade(c as f64 / max).mix(0.8).filled())
        }))?;
        Ok(())
    }

    /// The loss contours on the plane of pair `h` over its box.
    fn contours(&self, h: &Histogram2d) -> Vec<Vec<[(f64, f64); 2]>> {
        let f = self.exp.objective.loss_fn();
        let grid = Grid::sample(h.lo[0]..h.hi[0], h.lo[1]..h.hi[1], GRID, |a, b| {
            let mut point = self.mean.to_vec();
            point[h.x] = a;
            point[h.y] = b;
            f(&point)
        });
        grid.quantile_levels(LEVELS).into_iter().map(|level| grid.contour(level)).collect()
    }
}

/// The colour of a bin holding share `t` ∈ (0, 1] of the fullest bin's samples: white to
/// [`DENSE`] by √t, so that the tails stay visible.
fn shade(t: f64) -> RGBColor {
    let s = t.clamp(0.0, 1.0).sqrt();
    let mix = |d: f64| (255.0 + (d - 255.0) * s).round() as u8;
    RGBColor(mix(DENSE.0), mix(DENSE.1), mix(DENSE.2))
}
