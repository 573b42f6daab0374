//! The untyped document: both formats deserialize into [`Val`], and all checks walk it, so TOML
//! and JSON get the same messages (field path, value as written, valid range). Overrides and
//! sweep points are applied to the document, before anything is checked.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::experiment::{BackendChoice, SHOW_MAX, fmt_f64, show_list};

/// A parsed TOML/JSON value, keys in file order.
#[derive(Clone, Debug)]
pub(super) enum Val {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// A TOML date/time (never valid here; kept so the message can show it).
    Datetime(String),
    Array(Vec<Val>),
    Table(Vec<(String, Val)>),
}

/// The key under which toml's deserializer hands over a date/time.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("null"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => f.write_str(&fmt_f64(*x)),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Datetime(s) => f.write_str(s),
            Val::Array(items) => f.write_str(&show_list(items)),
            Val::Table(entries) => {
                f.write_str("{ ")?;
                for (i, (k, v)) in entries.iter().take(SHOW_MAX).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                if entries.len() > SHOW_MAX {
                    f.write_str(", ...")?;
                }
                f.write_str(" }")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML/JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val, D::Error> {
        Val::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val, E> {
        Ok(Val::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
        Ok(Val::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
        Ok(Val::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Val, E> {
        Ok(Val::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Val, E> {
        i128::try_from(v).map(Val::Int).map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
        Ok(Val::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
        Ok(Val::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val, E> {
        Ok(Val::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Val>()? {
            items.push(v);
        }
        Ok(Val::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        let mut entries: Vec<(String, Val)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Val>()?;
            if key == TOML_DATETIME_KEY {
                return Ok(Val::Datetime(match value {
                    Val::Str(s) => s,
                    other => other.to_string(),
                }));
            }
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            entries.push((key, value));
        }
        Ok(Val::Table(entries))
    }
}

impl Val {
    pub(super) fn as_f64(&self) -> Option<f64> {
        match *self {
            Val::Int(i) => Some(i as f64),
            Val::Float(x) => Some(x),
            _ => None,
        }
    }

    /// Integers, and floats that are exact integers (`1e6`).
    pub(super) fn as_int(&self) -> Option<i128> {
        match *self {
            Val::Int(i) => Some(i),
            Val::Float(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e30 => Some(x as i128),
            _ => None,
        }
    }
}

/// An experiment file's text, its format (TOML, or JSON by the `.json` extension), its path for
/// messages and its default name (the file stem).
pub(super) struct SpecFile {
    pub text: String,
    pub format: &'static str,
    pub origin: String,
    pub name: String,
}

impl SpecFile {
    pub fn read(path: &Path) -> Result<SpecFile> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "cannot read experiment file",
            path: path.to_path_buf(),
            source,
        })?;
        let is_json = path.extension().is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("json"));
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Ok(SpecFile {
            text,
            format: if is_json { "json" } else { "toml" },
            origin: path.display().to_string(),
            name: name.unwrap_or_else(|| "experiment".to_string()),
        })
    }
}

/// A document's top-level table: its entries in file order.
pub(super) type Entries = Vec<(String, Val)>;

/// Parse `text` as `format` ("toml" or "json") into a document, whose top level must be a table;
/// `origin` names the text in messages.
pub(super) fn parse(text: &str, format: &str, origin: &str) -> Result<Entries> {
    let root = match format {
        "toml" => toml::from_str::<Val>(text)
            .map_err(|e| Error::Syntax { path: origin.to_string(), message: e.to_string().trim_end().to_string() })?,
        "json" => serde_json::from_str::<Val>(text).map_err(|e| {
            let mut message = e.to_string();
            if !message.contains(" line ") {
                message = format!("{message} at line {} column {}", e.line(), e.column());
            }
            Error::Syntax { path: origin.to_string(), message }
        })?,
        other => {
            return Err(Error::UnknownName { field: "format".into(), value: other.into(), valid: "toml, json".into() });
        }
    };
    match root {
        Val::Table(entries) => Ok(entries),
        other => Err(Error::Syntax {
            path: origin.to_string(),
            message: format!("the top level must be a table/object, found {other}"),
        }),
    }
}

/// Command-line overrides applied before validation, so they are validated like file values.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `run.paths` (`--paths`).
    pub paths: Option<u64>,
    /// `run.steps` (`--steps`).
    pub steps: Option<u64>,
    /// `run.seed` (`--seed`).
    pub seed: Option<u64>,
    /// `run.backend` (`--backend`).
    pub backend: Option<BackendChoice>,
    /// `run.refine` (`--refine`).
    pub refine: Option<u64>,
    /// `stationary.start` (`--start`).
    pub start: Option<u64>,
    /// `record.every` (`--record-every`).
    pub record_every: Option<u64>,
}

impl Overrides {
    /// Replace (or add) the overridden keys.
    pub(super) fn apply(&self, doc: &mut Entries) {
        let int = |n: u64| Val::Int(n.into());
        let set = [
            ("run", "paths", self.paths.map(int)),
            ("run", "steps", self.steps.map(int)),
            ("run", "seed", self.seed.map(int)),
            ("run", "backend", self.backend.map(|b| Val::Str(b.name().to_string()))),
            ("run", "refine", self.refine.map(int)),
            ("stationary", "start", self.start.map(int)),
            ("record", "every", self.record_every.map(int)),
        ];
        for (table, key, val) in set {
            if let Some(val) = val {
                set_key(doc, table, key, val);
            }
        }
    }

    /// `e` with a hint where the overrides caused it: a `--steps` at or below the file's
    /// `stationary.start` names `--start` (and `--record-every`, whose stride the file may have
    /// fitted to its own steps).
    pub(super) fn explain(&self, e: Error) -> Error {
        match e {
            Error::Invalid { field, value, expected }
                if field == "stationary.start" && self.steps.is_some() && self.start.is_none() =>
            {
                let expected = format!(
                    "{expected} (run.steps comes from --steps: lower stationary.start in the file, or give --start N \
                     with N < --steps, and --record-every to keep the number of records)"
                );
                Error::Invalid { field, value, expected }
            }
            Error::SweepPoint { point, source } => Error::SweepPoint { point, source: Box::new(self.explain(*source)) },
            other => other,
        }
    }
}

/// Set `table.key = val` in the document (creating the table when absent). A `table` that is
/// not a table is left alone, so that validation reports it.
pub(super) fn set_key(doc: &mut Entries, table: &str, key: &str, val: Val) {
    let t = match doc.iter().position(|(k, _)| k == table) {
        Some(i) => &mut doc[i].1,
        None => {
            doc.push((table.to_string(), Val::Table(Vec::new())));
            &mut doc.last_mut().expect("just pushed").1
        }
    };
    let Val::Table(fields) = t else { return };
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = val,
        None => fields.push((key.to_string(), val)),
    }
}
