//! The drawing kit the figures share. Its surface is what this file re-exports; the figure
//! modules (`run`, `sweep`, `compare`) draw with these and nothing else of each other's.
//!
//! | concern | file |
//! |---------|------|
//! | a figure as SVG/PNG, written next to the data ([`Drawing`]) | `render` |
//! | sizes, fonts, colours, text styles and anchors | `style` |
//! | chart layout, mesh, ticks, log or linear scales and ranges | `axes` |
//! | legends and their samples ([`Mark`]) | `legend` |
//! | markers: shapes, error-bar caps, theory rings | `marker` |
//! | contour lines of a function on a grid ([`Grid`]) | `contour` |

mod axes;
mod contour;
mod legend;
mod marker;
mod render;
mod style;

pub use axes::{chart_builder, log_scale, log_ticks, log_ticks_at_most, mesh, tick_format, time_desc, value_range};
pub use contour::Grid;
pub use legend::{Mark, clear_upper_corner, legend, legend_height, legend_strip, legend_wrapped};
pub use marker::{CAP, RING, Shape, draw_shape};
pub use render::{Drawing, Drawn, render_png, render_svg, write_figure};
pub use style::{
    BAND_ALPHA, CAPTION_PX, DESC_PX, PALETTE, SIM, THEORY, TICK_PX, WIDTH, fitted_style, text_style, top_center,
};
