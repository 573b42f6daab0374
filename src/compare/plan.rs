//! What a comparison will run: the optimizer and the SDEs of the file's family, the options
//! (`--etas`, `--refine`), and every experiment derived from the file's and validated before
//! anything runs.

use super::report::num;
use crate::error::{Error, Result};
use crate::experiment::{Experiment, ModelKind};

/// The optimizer of `kind`'s family and the SDEs of that family (docs/sgd.md to docs/compressed.md), or `None` for a
/// model compare does not know.
pub fn family(kind: ModelKind) -> Option<(ModelKind, &'static [ModelKind])> {
    use ModelKind as M;
    Some(match kind {
        M::Sgd | M::SgdSde => (M::Sgd, &[M::SgdSde]),
        M::Signsgd | M::SignsgdSde => (M::Signsgd, &[M::SignsgdSde]),
        M::Signhsgd => (M::Signsgd, &[M::Signhsgd]),
        M::Rmsprop | M::RmspropSde | M::RmspropMalladiSde => (M::Rmsprop, &[M::RmspropSde, M::RmspropMalladiSde]),
        M::Adam | M::AdamSde | M::AdamMalladiSde => (M::Adam, &[M::AdamSde, M::AdamMalladiSde]),
        M::Dsgd | M::DsgdSde => (M::Dsgd, &[M::DsgdSde]),
        M::Dsignsgd | M::DsignsgdSde => (M::Dsignsgd, &[M::DsignsgdSde]),
        M::Dcsgd | M::DcsgdSde => (M::Dcsgd, &[M::DcsgdSde]),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Default Euler–Maruyama substeps per optimizer step for the SDEs of a comparison.
pub const DEFAULT_COMPARE_REFINE: u32 = 8;

/// Options of [`plan_compare`].
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// Learning rates; empty: the file's η only.
    pub etas: Vec<f64>,
    /// EM substeps per optimizer step for the SDE runs.
    pub refine: u32,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { etas: Vec::new(), refine: DEFAULT_COMPARE_REFINE }
    }
}

/// Parse `--etas a,b,c`.
pub fn parse_etas(s: &str) -> Result<Vec<f64>> {
    const EXPECTED: &str = "must be a comma-separated list of distinct finite numbers > 0, e.g. 4e-3,2e-3,1e-3";
    let etas = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|_| Error::invalid("--etas", s, EXPECTED)))
        .collect::<Result<Vec<f64>>>()?;
    check_etas(&etas)?;
    Ok(etas)
}

fn check_etas(etas: &[f64]) -> Result<()> {
    let show = || etas.iter().map(|x| num(*x)).collect::<Vec<_>>().join(",");
    for &x in etas {
        if !(x.is_finite() && x > 0.0) {
            return Err(Error::invalid(
                "--etas",
                show(),
                format!("contains {x}; every eta must be a finite number > 0"),
            ));
        }
    }
    for (i, x) in etas.iter().enumerate() {
        if etas[..i].contains(x) {
            return Err(Error::invalid("--etas", show(), format!("repeats {x}; the etas must be distinct")));
        }
    }
    Ok(())
}

/// One learning rate of a comparison: the optimizer and its SDEs, all validated.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareCase {
    pub eta: f64,
    pub optimizer: Experiment,
    pub sdes: Vec<Experiment>,
}

/// Everything a comparison will run.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparePlan {
    /// The file's experiment.
    pub base: Experiment,
    pub optimizer: ModelKind,
    pub sdes: Vec<ModelKind>,
    pub refine: u32,
    pub cases: Vec<CompareCase>,
    /// What was left out and why.
    pub notes: Vec<String>,
}

/// Validate the options and derive (and validate) every experiment of the comparison.
pub fn plan_compare(exp: &Experiment, opts: &CompareOptions) -> Result<ComparePlan> {
    check_etas(&opts.etas)?;
    if opts.refine == 0 {
        return Err(Error::invalid("--refine", 0, "must be an integer >= 1 (EM substeps per optimizer step)"));
    }
    let kind = exp.model.name;
    // On sampled data signSGD's SDE is signHSGD (the sign SDE's erf needs a fixed noise law).
    let family_kind =
        if kind == ModelKind::Signsgd && exp.objective.samples_data() { ModelKind::Signhsgd } else { kind };
    let Some((optimizer, all_sdes)) = family(family_kind) else {
        return Err(Error::invalid(
            "model.name",
            format!("\"{}\"", kind.name()),
            "has no optimizer/SDE pair that compare knows (sgd, signsgd, rmsprop, adam, dsgd, dsignsgd, dcsgd and their SDEs, \
             signhsgd)",
        ));
    };
    let mut notes = Vec::new();
    let mut sdes = Vec::new();
    let theta = exp.model.adaptive.map_or(0.0, |a| a.weight_decay);
    for &s in all_sdes {
        if s.is_malladi() && theta != 0.0 {
            notes.push(format!(
                "{} left out: the SDE of Malladi et al. (docs/adaptive.md) has no weight decay, and this file has \
                 model.weight_decay = {theta}",
                s.name()
            ));
        } else if s.is_compressed() && !exp.model.compressor.has_sde() {
            return Err(Error::invalid(
                "compressor.name",
                format!("\"{}\"", exp.model.compressor.name()),
                "has no SDE (docs/compressed.md: the closed-form covariance exists for identity, bernoulli and \
                 rand-k), so compare has no SDE to put next to dcsgd; use one of those compressors",
            ));
        } else {
            sdes.push(s);
        }
    }
    let etas = if opts.etas.is_empty() { vec![exp.model.eta] } else { opts.etas.clone() };
    let mut cases = Vec::new();
    for &eta in &etas {
        let make = |k: ModelKind| {
            exp.at_eta(eta).and_then(|at| at.with_model(k, opts.refine)).map_err(|e| {
                if eta == exp.model.eta {
                    Error::invalid(
                        "model.name",
                        format!("\"{}\" (derived from the file's {} for compare)", k.name(), kind.name()),
                        format!("cannot run this file's problem: {e}"),
                    )
                } else {
                    let beta = if exp.model.adaptive.is_some() {
                        format!(" and 1 - beta_i × {:.4e} to keep rho_i", eta / exp.model.eta)
                    } else {
                        String::new()
                    };
                    Error::invalid(
                        "--etas",
                        num(eta),
                        format!(
                            "gives an invalid {} experiment (steps × {:.4e} to keep the SDE time{beta}): {e}",
                            k.name(),
                            exp.model.eta / eta,
                        ),
                    )
                }
            })
        };
        let optimizer = make(optimizer)?;
        let sdes = sdes.iter().map(|&k| make(k)).collect::<Result<Vec<_>>>()?;
        cases.push(CompareCase { eta, optimizer, sdes });
    }
    Ok(ComparePlan { base: exp.clone(), optimizer, sdes, refine: opts.refine, cases, notes })
}
