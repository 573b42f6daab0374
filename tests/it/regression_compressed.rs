//! `dcsgd` with a compressor on the `linear-regression` objective (docs/regression.md): each
//! agent compresses its sampled gradient with words from the compressor stream keyed by the
//! optimizer step, and the server averages. Both backends bit for bit; E P against the exact
//! second-moment recursion of an unbiased coordinate-wise compressor.

use crate::backends::compare_states;
use crate::common;
use crate::regression::{dcsgd_excess_risk, records_match, sde_excess_risk};
use crate::tolerance::Z;

use common::{exp, gpu, per_engine};
use optsde::cpu::{Arith, CpuEngine};
use optsde::plan::{Engine, states_after};
use optsde::spec::{Experiment, Objective};

/// `dcsgd` with `agents` agents and the `[compressor]` lines `compressor` on diag K = `k`
/// (a TOML array), batch 2, σ_ε = 0.5.
fn compressed(compressor: &str, agents: u32, eta: f64, k: &str, run: &str) -> Experiment {
    exp(&format!(
        "[model]\nname = 'dcsgd'\neta = {eta}\nagents = {agents}\n[compressor]\n{compressor}\n[objective]\n\
         name = 'linear-regression'\nk = {k}\ntarget = {{ seed = 3 }}\nbatch = 2\n[noise]\nname = 'gaussian'\n\
         sigma = 0.5\n[run]\n{run}\n"
    ))
}

/// Every compressor on sampled data, on both backends: the per-path states after 60 steps of
/// 3 agents at d = 4, bit for bit on a software adapter; also with a rotated K.
#[test]
fn every_compressor_agrees_on_sampled_data() {
    let Some(mut g) = gpu() else { return };
    let arith = Arith::of_adapter(g.is_software());
    let compressors =
        ["name = 'bernoulli'\np = 0.5", "name = 'rand-k'\nk = 2", "name = 'qsgd'\nlevels = 4", "name = 'natural'"];
    for c in compressors {
        for basis in ["", "basis = 'random'\nbasis_seed = 2\n"] {
            let run = "paths = 1000\nsteps = 60";
            let x = compressed(c, 3, 0.02, &format!("[0.5, 1.0, 1.5, 2.0]\n{basis}"), run);
            let a = states_after(&x, &mut g, 1000, 60).unwrap();
            let b = states_after(&x, &mut CpuEngine::with_arith(arith), 1000, 60).unwrap();
            let name = format!("dcsgd {c} {basis}");
            let same = compare_states(&name, &a, &b, 1000, g.is_software());
            if g.is_software() {
                assert_eq!(same, a.len(), "{name}: states not bit-identical on lavapipe");
            }
        }
    }
}

/// `dcsgd` with Bernoulli p = 0.25 (each agent sends a quarter of its coordinates, scaled by 4),
/// 3 agents, batch 2, d = 8: E P at each of the 11 records against the recursion
/// ([`dcsgd_excess_risk`]) within
/// [`Z::MANY`] SE (8192 paths). The compressor's variance term η²(1/p − 1)E g_i²/N quadruples
/// the stationary risk's noise part against plain DSGD's.
fn dcsgd_with_bernoulli_follows_its_recursion(name: &str, e: &mut dyn Engine) {
    let ks = "[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 2.0]";
    let x = compressed("name = 'bernoulli'\np = 0.25", 3, 0.05, ks, "paths = 8192\nsteps = 200\n[record]\nevery = 20");
    let Objective::LinearRegression { k, target, .. } = &x.objective else { panic!("a regression") };
    let r0: Vec<f64> = target.iter().zip(&x.x0).map(|(t, x0)| x0 - t).collect();
    let oracle = dcsgd_excess_risk(k, &r0, 0.05, 3.0, 2.0, 0.25, 0.25, 200);
    records_match(&format!("{name} dcsgd bernoulli d=8"), &x, e, &oracle, Z::MANY);
}
per_engine!(dcsgd_with_bernoulli_follows_its_recursion);

/// `dcsgd-sde` on sampled data with bernoulli p = 0.25 and with rand-k k = 2 of d = 8 (ω = 3
/// each), 3 agents, batch 2, refine 2: E P at each of the 11 records against the EM chain's
/// recursion ([`sde_excess_risk`] with compression) within [`Z::MANY`] SE (8192 paths). The
/// compression terms (ω = 3) raise the noise part of the risk about fourfold against dsgd-sde's.
fn compressed_sdes_follow_their_em_recursion(name: &str, e: &mut dyn Engine) {
    let ks = "[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 2.0]";
    for c in ["name = 'bernoulli'\np = 0.25", "name = 'rand-k'\nk = 2"] {
        let x = exp(&format!(
            "[model]\nname = 'dcsgd-sde'\neta = 0.05\nagents = 3\n[compressor]\n{c}\n[objective]\n\
             name = 'linear-regression'\nk = {ks}\ntarget = {{ seed = 3 }}\nbatch = 2\n[noise]\nname = 'gaussian'\n\
             sigma = 0.5\n[run]\npaths = 8192\nsteps = 200\nrefine = 2\n[record]\nevery = 20\n"
        ));
        let Objective::LinearRegression { k, target, .. } = &x.objective else { panic!("a regression") };
        let r0: Vec<f64> = target.iter().zip(&x.x0).map(|(t, x0)| x0 - t).collect();
        let oracle = sde_excess_risk(k, &r0, 0.05, 2, 1.0 / 6.0, (3.0, 1.0), 0.25, 200);
        records_match(&format!("{name} dcsgd-sde {c} d=8"), &x, e, &oracle, Z::MANY);
    }
}
per_engine!(compressed_sdes_follow_their_em_recursion);
