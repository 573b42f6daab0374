//! What a scaling check will run: the options (`--rule`, `--kappa`, `--threshold`) checked, and
//! the base and scaled experiments derived from the file's and validated.

use super::rule::Rule;
use crate::compare::report::num;
use crate::error::{Error, Result};
use crate::experiment::{Compressor, Experiment, ModelKind, Noise};

/// Default `--threshold`: steps to reach 1.1 × the stationary loss (docs/oracles.md S9).
pub const DEFAULT_THRESHOLD: f64 = 1.1;

/// Options of [`plan_scale`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleOptions {
    pub rule: Rule,
    /// The factor κ; may be left out for `dcsgd` (κ = 1 + ω).
    pub kappa: Option<f64>,
    pub threshold: f64,
}

/// The two experiments of a scaling check, validated, and the rule's predictions.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePlan {
    pub rule: Rule,
    pub kappa: f64,
    pub threshold: f64,
    pub base: Experiment,
    pub scaled: Experiment,
    pub predicted_loss_ratio: f64,
    pub predicted_steps_ratio: f64,
    pub notes: Vec<String>,
}

/// Validate the options and build the base and scaled experiments.
pub fn plan_scale(exp: &Experiment, opts: &ScaleOptions) -> Result<ScalePlan> {
    let rule = opts.rule;
    if let Some(k) = opts.kappa
        && !(k.is_finite() && k > 0.0)
    {
        return Err(Error::invalid("--kappa", k, "must be a finite number > 0 (the scaling factor)"));
    }
    let t = opts.threshold;
    if !(t.is_finite() && t > 1.0) {
        return Err(Error::invalid(
            "--threshold",
            t,
            "must be a finite number > 1 (the multiple of the stationary loss whose first crossing is timed)",
        ));
    }
    let kind = exp.model.name;
    if !rule.models().contains(&kind) {
        let fits: Vec<&str> = Rule::ALL.into_iter().filter(|r| r.models().contains(&kind)).map(Rule::name).collect();
        let hint = if fits.is_empty() {
            format!("no rule applies to {}", kind.name())
        } else {
            format!("for {} use --rule {}", kind.name(), fits.join(" or --rule "))
        };
        let models: Vec<&str> = rule.models().into_iter().map(ModelKind::name).collect();
        return Err(Error::invalid(
            "--rule",
            rule.name(),
            format!(
                "does not apply to the file's model {}: the {} rule ({}) is for {}; {hint}",
                kind.name(),
                rule.name(),
                rule.section(),
                models.join(", ")
            ),
        ));
    }
    let theta = exp.model.adaptive.map_or(0.0, |a| a.weight_decay);
    if rule == Rule::Sqrt && theta != 0.0 {
        return Err(Error::invalid(
            "--rule",
            "sqrt",
            format!(
                "does not apply with model.weight_decay = {theta}: the square-root rule (docs/adaptive.md) has no \
                 weight-decay part; use --rule adamw (docs/adaptive.md, theta -> kappa theta)"
            ),
        ));
    }
    let omega = exp.model.compressor.omega(exp.dim);
    let kappa = match (rule, opts.kappa) {
        (Rule::Dcsgd, None) => 1.0 + omega,
        (Rule::Dcsgd, Some(k)) if ((k - (1.0 + omega)) / (1.0 + omega)).abs() > 1e-9 => {
            return Err(Error::invalid(
                "--kappa",
                k,
                format!(
                    "does not match the dcsgd rule, whose factor is fixed by the compressor: kappa = 1 + omega = {} \
                     ({} in d = {}); leave --kappa out or set it to that",
                    num(1.0 + omega),
                    exp.model.compressor.name(),
                    exp.dim
                ),
            ));
        }
        (_, Some(k)) => k,
        (_, None) => {
            return Err(Error::invalid(
                "--kappa",
                "(missing)",
                format!("is required for --rule {}: a finite number > 0", rule.name()),
            ));
        }
    };
    let (predicted_loss_ratio, predicted_steps_ratio) = rule.predicted(kappa);
    let mut notes = Vec::new();
    let mut base = Ok(exp.clone());
    let scaled = match rule {
        Rule::Signsgd => {
            notes.push(
                "the 1/kappa^2 steps ratio is phase 3's (near the minimum, docs/signsgd.md); a start in phase 1 \
                 (|grad f / sigma| > 3/2) adds steps that shrink only as 1/kappa"
                    .into(),
            );
            exp.with_eta(exp.model.eta * kappa).and_then(|e| e.with_noise_divided_by(kappa))
        }
        Rule::Adamw | Rule::Sqrt => {
            let (eta_f, noise_f, beta_f) =
                if rule == Rule::Adamw { (kappa, kappa, kappa * kappa) } else { (kappa.sqrt(), kappa.sqrt(), kappa) };
            exp.with_eta(exp.model.eta * eta_f)
                .and_then(|e| e.with_noise_divided_by(noise_f))
                .and_then(|e| e.with_one_minus_beta_scaled(beta_f))
                .and_then(|e| e.with_eps_divided_by(eta_f))
                .and_then(|e| if rule == Rule::Adamw { e.with_weight_decay_scaled(kappa) } else { Ok(e) })
        }
        Rule::Dcsgd => {
            base = exp.with_compressor(Compressor::Identity);
            if omega == 0.0 {
                notes
                    .push("the compressor is the identity (omega = 0): base and scaled are the same experiment".into());
            }
            exp.with_noise_divided_by(kappa.sqrt())
        }
        Rule::Dsignsgd => {
            let n = f64::from(exp.model.agents) * kappa;
            if (n - n.round()).abs() > 1e-9 * n.max(1.0) || n.round() < 1.0 {
                return Err(Error::invalid(
                    "--kappa",
                    kappa,
                    format!(
                        "does not give an integer number of agents: the dsignsgd rule maps model.agents = {} to \
                         kappa N = {}; choose kappa with kappa N a positive integer",
                        exp.model.agents,
                        num(n)
                    ),
                ));
            }
            let agents = n.round().min(f64::from(u32::MAX)) as u32;
            exp.with_eta(exp.model.eta * kappa).and_then(|e| e.with_agents(agents))
        }
    };
    if matches!(exp.noise, Noise::StudentT { .. }) && rule != Rule::Dsignsgd {
        notes.push(
            "Student-t noise: the batch change is applied to the scale (a mean of t samples is not t-distributed)"
                .into(),
        );
    }
    let wrap = |e: Error| {
        Error::invalid(
            "--kappa",
            num(kappa),
            format!("gives an invalid scaled experiment (--rule {}): {e}", rule.name()),
        )
    };
    let scaled = scaled.and_then(|e| e.with_steps_scaled(predicted_steps_ratio)).map_err(wrap)?;
    let base = base?;
    Ok(ScalePlan { rule, kappa, threshold: t, base, scaled, predicted_loss_ratio, predicted_steps_ratio, notes })
}
