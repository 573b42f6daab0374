//! WGSL composition (STYLE habit 3): a kernel `#import`s the files of `shaders/shared/` and is
//! specialised by a few directives (`#if`, `#for`; [`preprocess`]) and by the named constants
//! the composer writes before it ([`compose`](mod@compose)); which variant an adapter runs is
//! [`policy`].
//! Every composed shader is validated with naga, in `cargo test` too, without a GPU; the test
//! `every_composed_kernel_is_written_out` (tests/it/shaders.rs) writes each variant of the
//! advance kernel to `target/shaders/` to be read.

pub mod compose;
pub mod policy;
pub mod preprocess;

pub use compose::{advance_source, compose, formula_eval_source, resolve, rng_words_source, tdist_eval_source};
pub use policy::{
    COEF_REGS_MAX_DIM, PACK_WIDTHS, PRIVATE_HIST_MAX_WORDS, SOFTWARE_PACK, UNROLL_MAX_VARIATES, Variant, coef_regs,
    default_pack, fast4_written_out, pack_for, packable, private_hist_fits, private_hist_for, runtime_checks,
    speculable, uses_local_hist,
};

use crate::error::{Error, Result};

/// Parse and validate WGSL with naga; errors carry naga's report.
pub fn validate(src: &str) -> Result<naga::Module> {
    let module = naga::front::wgsl::parse_str(src).map_err(|e| Error::Gpu(e.emit_to_string(src)))?;
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
        .validate(&module)
        .map_err(|e| Error::Gpu(format!("{e:?}")))?;
    Ok(module)
}
