//! Markers drawn at data points: filled shapes, error-bar caps and theory rings.

use plotters::coord::CoordTranslate;
use plotters::prelude::*;

use super::render::Drawn;

/// A marker shape (the series of a sweep cycle through the colours, then the shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Triangle,
    Square,
}

/// Half width of an error bar's caps and radius of a theory ring, in pixels.
pub const CAP: i32 = 6;
pub const RING: i32 = 9;

/// Draw a filled marker centred at `at` (in `area`'s coordinates).
pub fn draw_shape<DB, CT>(area: &DrawingArea<DB, CT>, shape: Shape, at: CT::From, c: RGBColor) -> Drawn<DB>
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
