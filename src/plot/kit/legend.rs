//! Legends: plotters' own box of series labels, and the kit's legends drawn outside the charts
//! (one centred row, or rows wrapped to the figure's width) from entries of a text and a
//! [`Mark`], the sample drawn before it.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::marker::{CAP, RING, Shape, draw_shape};
use super::render::Drawn;
use super::style::{BAND_ALPHA, LEGEND_PX, WIDTH, left_middle, text_style};

/// plotters' box of a chart's series labels, at `pos`.
pub fn legend<'a, DB, X, Y>(chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>, pos: SeriesLabelPosition) -> Drawn<DB>
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

/// Where [`legend`]'s box of `labels` covers no data in a chart whose plotting area is `plot_px`
/// (width, height in pixels) over x in `x` and y from 0 to `top`: the upper corner (left or
/// right) whose strip under the box holds less data, and the y top that lifts the data in that
/// strip below the box (at least `top`). `ink` is the data as (x₀, x₁, y): a bar over [x₀, x₁]
/// or a point (x₀ = x₁) up to height y. With a plotting area too small for the box: the upper
/// right and `top`.
pub fn clear_upper_corner(
    plot_px: (f64, f64),
    labels: &[&str],
    x: Range<f64>,
    top: f64,
    ink: &[(f64, f64, f64)],
) -> (SeriesLabelPosition, f64) {
    let style = text_style(LEGEND_PX);
    let text_w = labels.iter().map(|t| style.font.box_size(t).map_or(10 * t.len() as u32, |b| b.0)).max().unwrap_or(0);
    // plotters' box: 30 px of sample, a 12 px margin each side, 5 px from the plot's edges; its
    // lines 1.25 font sizes apart (rounded up here).
    let box_w = f64::from(text_w) + 30.0 + 24.0 + 5.0;
    let box_h = labels.len() as f64 * 1.3 * f64::from(LEGEND_PX) + 24.0 + 5.0;
    let (fx, fy) = (box_w / plot_px.0, box_h / plot_px.1);
    if !(fx < 1.0 && fy < 0.8) {
        return (SeriesLabelPosition::UpperRight, top);
    }
    let span = x.end - x.start;
    let under = |lo: f64, hi: f64| ink.iter().filter(|q| q.1 >= lo && q.0 <= hi).map(|q| q.2).fold(0.0f64, f64::max);
    let needed = |m: f64| top.max(m / (1.0 - fy));
    let right = needed(under(x.end - fx * span, x.end));
    let left = needed(under(x.start, x.start + fx * span));
    if left < right { (SeriesLabelPosition::UpperLeft, left) } else { (SeriesLabelPosition::UpperRight, right) }
}

/// A legend sample.
#[derive(Clone, Copy)]
pub enum Mark {
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
pub fn legend_strip<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Mark)]) -> Drawn<DB> {
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
pub fn legend_wrapped<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Mark)]) -> Drawn<DB> {
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
pub const LEGEND_MARGIN: i32 = 20;

/// Height of a wrapped legend of `entries` across the figure.
pub fn legend_height(entries: &[(String, Mark)]) -> u32 {
    let (_, rows) = legend_rows(entries, WIDTH as i32 - 2 * LEGEND_MARGIN);
    (LEGEND_ROW * rows.len() as i32 + 8) as u32
}
