//! A figure as SVG text and as PNG bytes, written next to the data files.
//!
//! Text is set in DejaVu Sans, embedded from the `dejavu` crate and rasterised by `ab_glyph`, so
//! PNGs need no system fonts or fontconfig; the SVGs name the `sans-serif` family.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::FONT;
use crate::error::{Error, Result};
use crate::output::files::write_atomic;

/// What drawing on a plotters backend returns.
pub type Drawn<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that renders on any plotters backend.
pub trait Drawing {
    /// The file name without extension (for messages).
    fn stem(&self) -> &str;
    /// (width, height) in pixels.
    fn size(&self) -> (u32, u32);
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB>;
}

/// A figure as SVG text.
pub fn render_svg(d: &impl Drawing) -> Result<String> {
    register_font(d.stem())?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, d.size()).into_drawing_area();
        d.draw_on(&root).map_err(|e| draw_error(d.stem(), "svg", e))?;
    }
    Ok(out)
}

/// A figure as PNG bytes (8-bit RGB).
pub fn render_png(d: &impl Drawing) -> Result<Vec<u8>> {
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
pub fn write_figure(dir: &Path, d: &impl Drawing) -> Result<[PathBuf; 2]> {
    let svg = format!("{}.svg", d.stem());
    write_atomic(dir, &svg, render_svg(d)?.as_bytes())?;
    let png = format!("{}.png", d.stem());
    write_atomic(dir, &png, &render_png(d)?)?;
    Ok([dir.join(svg), dir.join(png)])
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
