//! Compiled formulas, shared by the process: each distinct (formula, d, parameter
//! declarations) is compiled once ([`compile`]), and a kernel names its formula by
//! [`Formula::key`] (`crate::objective::Stage::Formula`), which [`by_key`] resolves for the WGSL
//! composer and the CPU twin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::formula::{Formula, FormulaError, ParamShape};

type Declared = (String, Option<usize>, Vec<(String, bool)>);

#[derive(Default)]
struct Registry {
    by_text: HashMap<Declared, Arc<Formula>>,
    by_key: HashMap<u64, Arc<Formula>>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// `loss` compiled for `dim` with the parameters `params` (once per process for each distinct
/// input), and registered under its key.
pub fn compile(loss: &str, dim: Option<usize>, params: &[(String, ParamShape)]) -> Result<Arc<Formula>, FormulaError> {
    let declared: Declared =
        (loss.to_string(), dim, params.iter().map(|(n, s)| (n.clone(), *s == ParamShape::Vector)).collect());
    if let Some(f) = registry().lock().expect("the formula registry").by_text.get(&declared) {
        return Ok(f.clone());
    }
    let f = Arc::new(Formula::compile(loss, dim, params)?);
    let mut r = registry().lock().expect("the formula registry");
    r.by_key.insert(f.key(), f.clone());
    r.by_text.insert(declared, f.clone());
    Ok(f)
}

/// The registered formula with this key (every kernel's formula was compiled, and so
/// registered, when its experiment was validated).
pub fn by_key(key: u64) -> Option<Arc<Formula>> {
    registry().lock().expect("the formula registry").by_key.get(&key).cloned()
}
