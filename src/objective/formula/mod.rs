//! Losses written as formulas (a helper is building this module).
