//! A valid range written once ([`Domain`]), and how messages show the numbers they reject.

use std::borrow::Cow;
use std::fmt::Display;
use std::ops::{Bound, RangeBounds};

use crate::error::{Error, Result};

/// How many elements of a list a message shows before "...".
pub const SHOW_MAX: usize = 8;

/// The valid values of one field and the words that state them in messages ("must be a finite
/// number > 0"). Reals must also be finite. The problem types' constructors check their fields
/// against these, and so does the file reader (`crate::spec`), first, so that its messages show
/// a value as the file wrote it (`eta = 0`, where a constructor shows the number, `0.0`).
#[derive(Clone, Debug, PartialEq)]
pub struct Domain<T> {
    lo: Bound<T>,
    hi: Bound<T>,
    expected: Cow<'static, str>,
}

impl<T: PartialOrd + Copy> Domain<T> {
    pub const fn new(lo: Bound<T>, hi: Bound<T>, expected: &'static str) -> Self {
        Domain { lo, hi, expected: Cow::Borrowed(expected) }
    }

    /// A domain whose wording depends on other fields (`< run.steps = 1000`).
    pub fn worded(lo: Bound<T>, hi: Bound<T>, expected: String) -> Self {
        Domain { lo, hi, expected: Cow::Owned(expected) }
    }

    /// What a message says a valid value is.
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl Domain<f64> {
    pub fn contains(&self, x: f64) -> bool {
        x.is_finite() && (self.lo, self.hi).contains(&x)
    }

    /// `x`, or an error naming `field` and `x`.
    pub fn check(&self, field: &str, x: f64) -> Result<f64> {
        if self.contains(x) { Ok(x) } else { Err(Error::invalid(field, fmt_f64(x), self.expected())) }
    }

    /// Every coordinate, named `field[i]`.
    pub fn check_each(&self, field: &str, xs: &[f64]) -> Result<()> {
        for (i, &x) in xs.iter().enumerate() {
            self.check(&format!("{field}[{i}]"), x)?;
        }
        Ok(())
    }
}

impl Domain<i128> {
    pub fn contains(&self, x: i128) -> bool {
        (self.lo, self.hi).contains(&x)
    }

    /// `x`, or an error naming `field` and `x`.
    pub fn check<T: Into<i128> + Copy>(&self, field: &str, x: T) -> Result<T> {
        if self.contains(x.into()) { Ok(x) } else { Err(Error::invalid(field, x.into(), self.expected())) }
    }
}

/// A real as the file formats write it: `nan`, `inf`, `-inf`, otherwise the shortest form that
/// reads back to the same bits.
pub fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

/// `x` rounded to 15 significant decimal digits, the most every f64 holds exactly: a value
/// computed from decimal inputs (a grid point, k·η) then reads as its decimal intent
/// (`0.7`, not `7.000000000000001e-1`). Not finite: `x` itself.
pub fn round_to_15_digits(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.14e}").parse().unwrap_or(x)
}

/// A list as messages show it: `[a, b, ...]`, at most [`SHOW_MAX`] elements and then the count.
pub fn show_list<T: Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(SHOW_MAX).map(ToString::to_string).collect();
    let more = if items.len() > SHOW_MAX { format!(", ... ({} elements)", items.len()) } else { String::new() };
    format!("[{}{more}]", shown.join(", "))
}

/// A vector of reals as messages show it (see [`show_list`]).
pub fn show_reals(xs: &[f64]) -> String {
    show_list(&xs.iter().map(|&x| fmt_f64(x)).collect::<Vec<_>>())
}
