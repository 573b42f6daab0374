//! `objective.basis` with `basis_seed`: the eigenbasis Q of a quadratic given by `eigenvalues`,
//! or of a regression's data covariance. A section reader of `super::validate` and
//! `super::regression`.

use super::doc::Val;
use super::table::{Table, bad};
use crate::error::Result;
use crate::experiment::{BASIS_SEED, Basis, MATRIX_ENTRY};

/// `objective.basis` (with `basis_seed`), where given: `"random"` (Haar, from `basis_seed`,
/// by default 0) or the orthonormal matrix Q, rows as written.
pub(super) fn basis(t: &Table<'_>) -> Result<Option<Basis>> {
    let Some(given) = t.get("basis") else {
        return match t.get("basis_seed") {
            Some(v) => Err(bad("objective.basis_seed", v, "applies only to basis = \"random\", which is not given")),
            None => Ok(None),
        };
    };
    Ok(Some(match given {
        Val::Str(s) if s == "random" => {
            Basis::Random { seed: t.int("basis_seed", &BASIS_SEED)?.map_or(0, |s| s as u64) }
        }
        v @ Val::Str(_) => {
            return Err(bad(
                "objective.basis",
                v,
                "must be \"random\" or the orthonormal matrix Q (rows as written; its columns are the eigenvectors)",
            ));
        }
        _ => {
            if let Some(v) = t.get("basis_seed") {
                return Err(bad("objective.basis_seed", v, "applies only to basis = \"random\""));
            }
            Basis::Given { q: t.matrix("basis", &MATRIX_ENTRY)?.expect("given") }
        }
    }))
}
