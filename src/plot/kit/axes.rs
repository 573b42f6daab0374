//! Charts and their axes: the common chart layout, the mesh with its labels, tick positions and
//! texts, and when an axis is logarithmic and over which range.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use super::render::Drawn;
use super::style::{CAPTION_PX, DESC_PX, TICK_PX, text_style};
use crate::experiment::{Experiment, TimeAxis};
use crate::theory::fmt_sig;

/// The records' time axis of `exp`: "t = kη (η = 0.001)", or kη² for the P7 SDEs, or k/d
/// (`[record] time = "k/d"`).
pub fn time_desc(exp: &Experiment) -> String {
    if exp.record.time == TimeAxis::PerDimension {
        return format!("t = k/d  (k = optimizer step, d = {})", exp.dim);
    }
    let k = if exp.model.name.is_malladi() { "t = kη²" } else { "t = kη" };
    format!("{k}  (k = optimizer step, η = {})", fmt_sig(exp.model.eta))
}

/// A chart with the common caption, margins and label areas.
pub fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(caption, text_style(CAPTION_PX)).margin(16).x_label_area_size(56).y_label_area_size(96);
    b
}

/// Axes with descriptions, compact tick labels and the common fonts.
pub fn mesh<DB, X, Y>(
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

/// Tick text: three significant digits, and 0 for rounding noise around zero.
pub fn tick_format(range: Range<f64>) -> impl Fn(&f64) -> String {
    let tiny = 1e-9 * (range.end - range.start).abs();
    move |v: &f64| if v.abs() <= tiny { "0".to_string() } else { fmt_sig(*v) }
}

/// Ticks of a log axis: the densest of 1–9, 1-2-5, 1-3 or 1 × 10^k with at most ten in `y`.
pub fn log_ticks(y: Range<f64>) -> Vec<f64> {
    log_ticks_at_most(y, 10)
}

/// [`log_ticks`] with at most `max` ticks (at least 1).
pub fn log_ticks_at_most(y: Range<f64>, max: usize) -> Vec<f64> {
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

/// Log y when every value after the start is positive and they (with the theory value) span at
/// least a factor of 10.
pub fn log_scale(values: impl Iterator<Item = f64>, theory: Option<f64>) -> bool {
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
pub fn value_range(values: impl Iterator<Item = f64>, log: bool) -> Range<f64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_axis_names_its_unit() {
        let file = |time: &str| {
            let text = format!(
                "[model]\nname = 'sgd'\neta = 0.01\n[objective]\nname = 'linear-regression'\nk = [1.0]\n[noise]\n\
                 name = 'gaussian'\nsigma = 0.5\n[run]\npaths = 64\nsteps = 10\n[record]\ntime = '{time}'\n"
            );
            Experiment::from_str(&text, "toml", "t.toml", "t", &Default::default()).unwrap()
        };
        assert_eq!(time_desc(&file("k/d")), "t = k/d  (k = optimizer step, d = 1)");
        assert_eq!(time_desc(&file("model")), "t = kη  (k = optimizer step, η = 0.01)");
    }
}
