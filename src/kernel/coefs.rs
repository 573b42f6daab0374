//! What each kernel's per-coordinate coefficient slots hold: `Coef`'s `p0 .. p8`
//! (`crate::layout::Coef`) mean different things to different kernels, and this file is the one
//! place that says what. The host fills the slots by these names in f64 (`crate::model`), the
//! CPU twin reads them by these names, and the WGSL composer writes one accessor function per
//! slot (`<layout>_<slot>(m, i)`, e.g. `adam_eps(m, i)`) that the shaders call.

use super::Kernel;

/// Number of coefficient slots (`p0 .. p8`).
pub const SLOTS: usize = 9;

/// The slots one or more kernels read: the layout's name (the prefix of its WGSL accessors), the
/// kernels, and each slot's name and index.
#[derive(Debug)]
pub struct Layout {
    pub name: &'static str,
    pub kernels: &'static [Kernel],
    pub slots: &'static [(&'static str, usize)],
}

/// Defines one module of slot constants per layout and the table [`LAYOUTS`] from one list.
macro_rules! layouts {
    ($($(#[$doc:meta])* $layout:ident [$($kernel:ident),+] { $($(#[$sdoc:meta])* $slot:ident = $index:literal,)+ })+) => {
        $($(#[$doc])* pub mod $layout { $($(#[$sdoc])* pub const $slot: usize = $index;)+ })+
        /// Every layout, in the order above.
        pub const LAYOUTS: &[Layout] = &[$(Layout {
            name: stringify!($layout),
            kernels: &[$(Kernel::$kernel),+],
            slots: &[$((stringify!($slot), $index)),+],
        }),+];
    };
}

layouts! {
    /// The SGD SDE: X ← X − Δt ∇f + √(ηΔt) σ ξ (src/model/sgd.rs).
    sgd_sde [SgdSde] {
        /// Δt = η/r.
        DT = 0,
        /// √(ηΔt) σ: σ the noise's standard deviation, over √N for the distributed SDEs.
        NOISE = 1,
    }
    /// Discrete SGD and SignSGD: x ← x − η (g + σ ξ), x ← x − η sign(g + σ ξ).
    discrete [Sgd, Signsgd] {
        /// η.
        ETA = 0,
        /// The noise scale σ (the Student-t scale s for Student-t noise).
        SCALE = 1,
    }
    /// The SignSGD SDE: X ← X − Δt e + √(ηΔt) √(1 − e²) ξ with e = erf(∇f/(√2σ)), or
    /// 2F_ν(∇f/s) − 1 for Student-t noise (src/model/signsgd.rs).
    signsgd_sde [SignsgdSde] {
        /// Δt = η/r.
        DT = 0,
        /// √(ηΔt), over √N for the distributed SDE.
        NOISE = 1,
        /// The factor of the gradient in e's argument: 1/(√2σ), or 1/s for Student-t noise.
        INV_SCALE = 2,
    }
    /// Discrete RMSprop(W) (src/model/adaptive.rs).
    rmsprop [Rmsprop] {
        /// η.
        ETA = 0,
        /// The noise scale σ.
        SCALE = 1,
        /// 1 − β.
        ONE_MINUS_BETA = 2,
        /// ε.
        EPS = 3,
        /// ηθ, the decoupled weight decay per step.
        ETA_DECAY = 4,
    }
    /// Discrete Adam(W).
    adam [Adam] {
        /// η.
        ETA = 0,
        /// The noise scale σ.
        SCALE = 1,
        /// 1 − β₁.
        ONE_MINUS_BETA1 = 2,
        /// 1 − β₂.
        ONE_MINUS_BETA2 = 3,
        /// ε.
        EPS = 4,
        /// ηθ.
        ETA_DECAY = 5,
    }
    /// The RMSprop SDEs (P1; P7 with its own values), V first.
    rmsprop_sde [RmspropSde] {
        /// Δt = η/r.
        DT = 0,
        /// √(ηΔt) σ.
        NOISE = 1,
        /// ρΔt = (1 − β)/r.
        RHO_DT = 2,
        /// ε.
        EPS = 3,
        /// θΔt.
        DECAY_DT = 4,
        /// σ².
        SIGMA_SQ = 5,
    }
    /// The Adam SDEs (P1; P7 with its own values): V first, then X with M_n, then M.
    adam_sde [AdamSde] {
        /// Δt = η/r.
        DT = 0,
        /// ρ₁ √(ηΔt) σ, M's noise.
        M_NOISE = 1,
        /// ρ₁Δt = (1 − β₁)/r.
        RHO1_DT = 2,
        /// ρ₂Δt = (1 − β₂)/r.
        RHO2_DT = 3,
        /// ε.
        EPS = 4,
        /// θΔt.
        DECAY_DT = 5,
        /// σ².
        SIGMA_SQ = 6,
        /// ηρ₁ = 1 − β₁, P1's drift correction (0 with `correction = "none"`).
        DRIFT_CORRECTION = 7,
        /// ηρ₁ √(ηΔt) σ, the correction's noise companion (0 unless `"consistent"`).
        NOISE_COMPANION = 8,
    }
    /// Distributed SGD and SignSGD with N agents: x ← x − η (g + σ Σ_a ξ_a / N), x ← x − η Σ_a
    /// sign(g + σ ξ_a) / N (src/model/distributed.rs).
    agents [Dsgd, Dsignsgd] {
        /// η.
        ETA = 0,
        /// The noise scale σ of each agent.
        SCALE = 1,
        /// 1/N.
        INV_AGENTS = 2,
    }
    /// Distributed compressed SGD: x ← x − η Σ_a C_a(g + σ ξ_a) / N (src/model/compressed.rs).
    dcsgd [Dcsgd] {
        /// η.
        ETA = 0,
        /// The noise scale σ of each agent.
        SCALE = 1,
        /// 1/N.
        INV_AGENTS = 2,
        /// The compressor's parameter: bernoulli's keep threshold T = round(p 2^24), rand-k's k,
        /// qsgd's levels s (unused by natural compression).
        COMP_PARAM = 3,
        /// The compressor's scale: 2^24/T, d/k, 1/s.
        COMP_SCALE = 4,
    }
    /// The DCSGD SDE with bernoulli: X ← X − Δt ∇f + √(base + grad ∇f²) ξ; on sampled data
    /// X ← X − Δt ∇f + data_noise ξ_SGD + √(grad (Σ_ii/B + (∇f)_i²)) z (docs/regression.md).
    bernoulli_sde [BernoulliSde] {
        /// Δt = η/r.
        DT = 0,
        /// (ηΔt/N)(1 + ω) σ² (0 on sampled data).
        BASE_VAR = 1,
        /// (ηΔt/N) ω.
        GRAD_VAR = 2,
        /// On sampled data: √(ηΔt/(NB)), the coefficient of the SGD SDE's variate (0 otherwise).
        DATA_NOISE = 3,
    }
    /// The DCSGD SDE with rand-k: X ← X − Δt ∇f + noise z₁ + grad_noise ∇f (z₂ − z̄₂); on
    /// sampled data X ← X − Δt ∇f + data_noise ξ_SGD + grad_noise (√(Σ_ii/B) z₃ + ∇f (z₂ − z̄₂))
    /// (docs/regression.md).
    randk_sde [RandkSde] {
        /// Δt = η/r.
        DT = 0,
        /// √(ηΔt(1 + ω)/N) σ (0 on sampled data).
        NOISE = 1,
        /// √(ηΔt ω d/((d − 1) N)).
        GRAD_NOISE = 2,
        /// On sampled data: √(ηΔt (1 − ω/(d − 1))/(NB)), the coefficient of the SGD SDE's variate
        /// (0 otherwise).
        DATA_NOISE = 3,
    }
}

/// A coefficient row from (slot, value) pairs; the other slots are 0.
pub fn row<const N: usize>(pairs: [(usize, f64); N]) -> [f64; SLOTS] {
    let mut p = [0.0; SLOTS];
    for (slot, v) in pairs {
        p[slot] = v;
    }
    p
}

/// The layout a kernel reads.
pub fn layout_of(k: Kernel) -> &'static Layout {
    LAYOUTS.iter().find(|l| l.kernels.contains(&k)).expect("every kernel has a layout (tested)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel reads exactly one layout; a layout's slots are distinct and in range.
    #[test]
    fn every_kernel_has_one_layout_of_distinct_slots() {
        for k in Kernel::ALL {
            let n = LAYOUTS.iter().filter(|l| l.kernels.contains(&k)).count();
            assert_eq!(n, 1, "{k:?} is in {n} layouts");
        }
        for l in LAYOUTS {
            for (i, (name, slot)) in l.slots.iter().enumerate() {
                assert!(*slot < SLOTS, "{}::{name} = {slot}", l.name);
                assert!(l.slots[..i].iter().all(|(_, s)| s != slot), "{}::{name} repeats slot {slot}", l.name);
            }
        }
    }
}
