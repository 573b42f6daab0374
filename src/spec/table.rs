//! Reading one table of the document: keys, names, numbers and per-coordinate vectors, each
//! checked against its [`Domain`] with the value shown as the file wrote it.

use super::doc::Val;
use crate::error::{Error, Result};
use crate::experiment::Domain;

/// Names joined for a message ("a, b, c").
pub(super) fn names(list: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    list.into_iter().map(|s| s.as_ref().to_string()).collect::<Vec<_>>().join(", ")
}

/// [`Error::Invalid`] with the value as written.
pub(super) fn bad(field: &str, value: &Val, expected: impl Into<String>) -> Error {
    Error::invalid(field, value, expected)
}

fn missing(origin: &str, key: &str, expected: impl Into<String>) -> Error {
    Error::Missing { path: origin.to_string(), key: key.to_string(), expected: expected.into() }
}

/// One table of the document, with its dotted prefix for messages.
pub(super) struct Table<'a> {
    pub origin: &'a str,
    pub prefix: &'static str,
    pub entries: &'a [(String, Val)],
}

impl<'a> Table<'a> {
    pub fn field(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_string() } else { format!("{}.{key}", self.prefix) }
    }

    /// The value of `key`; JSON `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&'a Val> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| !matches!(v, Val::Null))
    }

    pub fn require(&self, key: &str, expected: &str) -> Result<&'a Val> {
        self.get(key).ok_or_else(|| missing(self.origin, &self.field(key), expected))
    }

    pub fn check_keys(&self, valid: &[&str]) -> Result<()> {
        match self.entries.iter().find(|(k, _)| !valid.contains(&k.as_str())) {
            Some((key, _)) => {
                Err(Error::UnknownKey { path: self.origin.to_string(), key: self.field(key), valid: names(valid) })
            }
            None => Ok(()),
        }
    }

    /// The sub-table `key` (`[key]`); `None` when absent.
    pub fn sub(&self, key: &'static str, valid: &[&str]) -> Result<Option<Table<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Table(entries)) => {
                let t = Table { origin: self.origin, prefix: key, entries };
                t.check_keys(valid)?;
                Ok(Some(t))
            }
            Some(v) => Err(bad(key, v, format!("must be a table with keys: {}", names(valid)))),
        }
    }

    pub fn require_sub(&self, key: &'static str, valid: &[&str]) -> Result<Table<'a>> {
        self.sub(key, valid)?
            .ok_or_else(|| missing(self.origin, key, format!("a table [{key}] with keys: {}", names(valid))))
    }

    /// A string that must be one of `valid`.
    pub fn name_of(&self, valid: &[&str]) -> Result<&'a str> {
        let field = self.field("name");
        let v = self.require("name", &format!("one of: {}", names(valid)))?;
        let Val::Str(s) = v else {
            return Err(bad(&field, v, format!("must be a string, one of: {}", names(valid))));
        };
        if valid.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(Error::UnknownName { field, value: s.clone(), valid: names(valid) })
        }
    }

    /// A real in `domain`.
    pub fn real(&self, key: &str, domain: &Domain<f64>) -> Result<Option<f64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_f64() {
            Some(x) if domain.contains(x) => Ok(Some(x)),
            _ => Err(bad(&self.field(key), v, domain.expected())),
        }
    }

    /// An integer in `domain` (exact-integer floats accepted).
    pub fn int(&self, key: &str, domain: &Domain<i128>) -> Result<Option<i128>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_int() {
            Some(i) if domain.contains(i) => Ok(Some(i)),
            _ => Err(bad(&self.field(key), v, domain.expected())),
        }
    }

    /// A number (broadcast) or an array of numbers, each in `domain`.
    pub fn coords(&self, key: &str, domain: &Domain<f64>) -> Result<Option<Coords>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let field = self.field(key);
        let check = |v: &Val, field: &str| match v.as_f64() {
            Some(x) if domain.contains(x) => Ok(x),
            _ => Err(bad(field, v, domain.expected())),
        };
        match v {
            Val::Array(items) if items.is_empty() => Err(bad(
                &field,
                v,
                format!(
                    "must be a number or a non-empty array of numbers; each {}",
                    domain.expected().trim_start_matches("must be ")
                ),
            )),
            Val::Array(items) => {
                let xs = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| check(x, &format!("{field}[{i}]")))
                    .collect::<Result<Vec<f64>>>()?;
                Ok(Some(Coords { field, val: v.clone(), xs, vector: true }))
            }
            _ => Ok(Some(Coords { field: field.clone(), val: v.clone(), xs: vec![check(v, &field)?], vector: false })),
        }
    }
}

impl Table<'_> {
    /// A matrix written as an array of rows (arrays of numbers), each entry in `domain`.
    pub fn matrix(&self, key: &str, domain: &Domain<f64>) -> Result<Option<Vec<Vec<f64>>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let field = self.field(key);
        let shape = "must be a matrix: an array of rows, each an array of numbers (rows as written)";
        let Val::Array(rows) = v else { return Err(bad(&field, v, shape)) };
        if rows.is_empty() {
            return Err(bad(&field, v, shape));
        }
        rows.iter()
            .enumerate()
            .map(|(i, row)| match row {
                Val::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(j, x)| match x.as_f64() {
                        Some(x) if domain.contains(x) => Ok(x),
                        _ => Err(bad(&format!("{field}[{i}][{j}]"), x, domain.expected())),
                    })
                    .collect(),
                _ => Err(bad(&format!("{field}[{i}]"), row, shape)),
            })
            .collect::<Result<Vec<Vec<f64>>>>()
            .map(Some)
    }
}

/// A per-coordinate field as written: one number (broadcast) or a vector.
pub(super) struct Coords {
    pub field: String,
    pub val: Val,
    pub xs: Vec<f64>,
    pub vector: bool,
}

impl Coords {
    /// A default that broadcasts.
    pub fn scalar(field: &str, x: f64) -> Coords {
        Coords { field: field.to_string(), val: Val::Float(x), xs: vec![x], vector: false }
    }

    /// The field of coordinate `j`: indexed for a vector, bare for a broadcast number.
    pub fn field_of(&self, j: usize) -> String {
        if self.vector { format!("{}[{j}]", self.field) } else { self.field.clone() }
    }

    pub fn expand(self, dim: usize) -> Vec<f64> {
        if self.vector { self.xs } else { vec![self.xs[0]; dim] }
    }
}
