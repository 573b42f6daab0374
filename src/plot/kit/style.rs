//! The kit's look: the figure width, the text sizes and font family, the colours, and text
//! styles and anchors.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every figure in pixels.
pub const WIDTH: u32 = 1000;
/// The font family of every text (DejaVu Sans in the PNGs, see `render`).
pub const FONT: &str = "sans-serif";
/// Text sizes as plotters takes them: the line height, 1.24 em (so the SVGs say
/// `font-size="15.3"` for 19): the smallest text is 15 px.
pub const CAPTION_PX: u32 = 25;
pub const DESC_PX: u32 = 21;
pub const TICK_PX: u32 = 19;
pub const LEGEND_PX: u32 = 19;

/// Tableau's ten-colour palette, first eight (distinct for the usual colour blindness).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
/// The simulation's colour (the palette's first).
pub const SIM: RGBColor = RGBColor(31, 119, 180);
/// Opacity of the ± 2 SE bands of the compare figure.
pub const BAND_ALPHA: f64 = 0.2;
/// The closed forms' colour.
pub const THEORY: RGBColor = RGBColor(200, 20, 20);

/// The text style of `px` pixels (see [`CAPTION_PX`]).
pub fn text_style(px: u32) -> TextStyle<'static> {
    (FONT, f64::from(px)).into_font().color(&BLACK)
}

/// The text style of `px` (or smaller, down to [`TICK_PX`]) in which `text` fits `width`.
pub fn fitted_style(text: &str, width: i32, px: u32) -> TextStyle<'static> {
    let mut px = px;
    while px > TICK_PX && text_style(px).font.box_size(text).is_ok_and(|(w, _)| w as i32 > width) {
        px -= 1;
    }
    text_style(px)
}

/// The anchor of a title: centred, hanging from its top.
pub fn top_center() -> Pos {
    Pos::new(HPos::Center, VPos::Top)
}

/// The anchor of a legend's text: its left end, centred vertically.
pub fn left_middle() -> Pos {
    Pos::new(HPos::Left, VPos::Center)
}
