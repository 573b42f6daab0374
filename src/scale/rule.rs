//! The scaling rules: how each changes the hyperparameters with κ, the models it applies to,
//! and its predicted stationary-loss and steps ratios.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::ModelKind;

/// A scaling rule: how hyperparameters change with a factor κ, and what it predicts.
///
/// Each prediction follows from the time scalings (docs/statistics.md, "Scaling rules"). With τ the
/// model time per optimizer step (η for P1-type SDEs, η² for P7's, docs/objective-and-noise.md) and
/// a the relaxation rate per unit of model time near the minimum, progress per *step* is aτ, so the
/// steps needed to reach a loss level scale as 1/(aτ); the steps ratio scaled/base is
/// (a τ)_base/(a τ)_scaled.
///
/// * `signsgd` (docs/signsgd.md): η → κη, B → κ²B (σ → σ/κ). Phase 3 (docs/signsgd.md): a = √(2/π) h/σ
///   → κa, τ = η → κη: steps ratio **1/κ²**; stationary E f = (η/4)√(π/2) Σσ_i: ratio **1**.
///   In phase 1 (|∇f/σ| > 3/2) the drift is sign(∇f), a speed of 1 per unit time, so a start far
///   from the minimum adds steps that shrink only as 1/κ; the measured ratio lies between.
///   Applies to signsgd, signsgd-sde, dsignsgd, dsignsgd-sde.
/// * `adamw` (docs/adaptive.md): η → κη, σ → σ/κ, 1 − β_i → κ²(1 − β_i), ε → ε/κ, θ → κθ. The P1 SDE
///   is mapped onto itself in law by the time change s = κt (docs/adaptive.md, "Scaling rules"): every
///   rate per unit time grows by κ and τ by κ, steps ratio **1/κ²**; stationary E f (docs/adaptive.md)
///   (κη/4) Σ h(σ/κ)/(h + κθσ/κ): ratio **1** (docs/oracles.md S9). Applies to rmsprop, rmsprop-sde, adam,
///   adam-sde (the P7 SDEs: use `sqrt`).
/// * `sqrt` (Malladi et al., docs/adaptive.md): B → κB: σ → σ/√κ, η → √κη, 1 − β_i → κ(1 − β_i),
///   ε → ε/√κ. P7's SDE has σ₀ = ση, c_i = (1 − β_i)/η², ε₀ = εη, all unchanged, so the SDE is
///   the same and τ = η² grows by κ: steps ratio **1/κ**. (In P1 terms: P → P/√κ, ρ → √κρ, so
///   rates per unit time grow by √κ and τ = η by √κ: again 1/κ.) Stationary E f (docs/adaptive.md,
///   θ = 0, ε → 0) (η/4) Σσ_i: ratio **1**. Applies to all six adaptive models without weight
///   decay (the rule has no θ part).
/// * `dcsgd` (docs/compressed.md): compression with variance parameter ω costs a factor 1 + ω in samples.
///   The base is the file's problem with the identity compressor (DSGD); the scaled experiment is
///   the file's compressed model with B → (1 + ω)B, chosen over N → (1 + ω)N because it needs no
///   integer agent count: σ → σ/√(1 + ω) (Student-t: the scale). κ is fixed by the compressor,
///   κ = 1 + ω. Drift −∇f and τ = η are unchanged: steps ratio **1**; stationary E f (docs/compressed.md
///   item 1) η(1 + ω)Tr Σ/(4N) → η Tr Σ/(4N), DSGD's: ratio **1**, up to a relative
///   O(ηωh/N) from the multiplicative compression noise.
/// * `dsignsgd` (docs/distributed.md): η → κη, N → κN (κN must be an integer). The drift −erf(·) does not
///   depend on N and τ = η grows by κ: steps ratio **1/κ**; stationary E f (docs/distributed.md)
///   (η/4N)√(π/2) Tr Σ^{1/2}: ratio **1**. Applies to dsignsgd, dsignsgd-sde.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Signsgd,
    Adamw,
    Sqrt,
    Dcsgd,
    Dsignsgd,
}

impl Rule {
    /// All rules, in the order listed in messages.
    pub const ALL: [Rule; 5] = [Rule::Signsgd, Rule::Adamw, Rule::Sqrt, Rule::Dcsgd, Rule::Dsignsgd];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Signsgd => "signsgd",
            Rule::Adamw => "adamw",
            Rule::Sqrt => "sqrt",
            Rule::Dcsgd => "dcsgd",
            Rule::Dsignsgd => "dsignsgd",
        }
    }

    /// The documentation page it comes from.
    pub fn section(self) -> &'static str {
        match self {
            Rule::Signsgd => "docs/signsgd.md",
            Rule::Adamw => "docs/adaptive.md",
            Rule::Sqrt => "docs/adaptive.md",
            Rule::Dcsgd => "docs/compressed.md",
            Rule::Dsignsgd => "docs/distributed.md",
        }
    }

    /// The models it applies to.
    pub fn models(self) -> Vec<ModelKind> {
        use ModelKind as M;
        match self {
            Rule::Signsgd => vec![M::Signsgd, M::SignsgdSde, M::Dsignsgd, M::DsignsgdSde],
            Rule::Adamw => vec![M::Rmsprop, M::RmspropSde, M::Adam, M::AdamSde],
            Rule::Sqrt => ModelKind::ALL.into_iter().filter(|m| m.is_adam() || m.is_rmsprop()).collect(),
            Rule::Dcsgd => vec![M::Dcsgd, M::DcsgdSde],
            Rule::Dsignsgd => vec![M::Dsignsgd, M::DsignsgdSde],
        }
    }

    /// What the rule changes, for reports.
    pub fn changes(self) -> &'static str {
        match self {
            Rule::Signsgd => "eta -> kappa eta, B -> kappa^2 B (sigma -> sigma/kappa)",
            Rule::Adamw => {
                "eta -> kappa eta, B -> kappa^2 B (sigma -> sigma/kappa), 1 - beta_i -> kappa^2 (1 - beta_i), \
                 eps -> eps/kappa, weight_decay -> kappa weight_decay"
            }
            Rule::Sqrt => {
                "B -> kappa B (sigma -> sigma/sqrt(kappa)), eta -> sqrt(kappa) eta, 1 - beta_i -> kappa (1 - beta_i), \
                 eps -> eps/sqrt(kappa)"
            }
            Rule::Dcsgd => {
                "base: the identity compressor (DSGD); scaled: the file's compressor with eta kept and \
                 B -> (1 + omega) B (sigma -> sigma/sqrt(1 + omega)); kappa = 1 + omega"
            }
            Rule::Dsignsgd => "eta -> kappa eta, N -> kappa N (agents)",
        }
    }

    /// Predicted (stationary-loss ratio, steps ratio), scaled over base.
    pub fn predicted(self, kappa: f64) -> (f64, f64) {
        match self {
            Rule::Signsgd | Rule::Adamw => (1.0, 1.0 / (kappa * kappa)),
            Rule::Sqrt | Rule::Dsignsgd => (1.0, 1.0 / kappa),
            Rule::Dcsgd => (1.0, 1.0),
        }
    }
}

impl std::str::FromStr for Rule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Rule::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| Error::UnknownName {
            field: "--rule".into(),
            value: s.into(),
            valid: Rule::ALL.map(Rule::name).join(", "),
        })
    }
}
