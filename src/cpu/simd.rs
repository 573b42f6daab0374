//! Which vector instructions the CPU kernels run on: detected at run time, and the workgroup
//! body compiled once per vector unit.

use super::LANES;
use super::advance::{Ctx, workgroup};
use crate::kernel::KernelConsts;
use crate::layout::Params;

/// Lanes whose Threefry rounds the AVX2 kernel runs together: the four words of 16 lanes fill 8
/// of AVX2's 16 vector registers, while those of all [`LANES`] (32 registers) spilled every
/// round. AVX-512 (32 registers of 16 lanes) and the baseline take all lanes at once.
#[cfg(target_arch = "x86_64")]
const AVX2_THREEFRY_LANES: usize = 16;

/// A workgroup's body (`workgroup`) compiled for one vector unit.
pub(super) type WorkgroupFn =
    fn(&KernelConsts, &Params, &Ctx<'_>, usize, &mut [f32], &mut [f32], &mut [u32], &mut [u32]);

/// The vector instructions the CPU kernels are compiled for on this CPU, detected at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorUnit {
    /// AVX-512 (F, VL, DQ, BW): 32 registers of 16 lanes.
    Avx512,
    /// AVX2 with FMA: 16 registers of 8 lanes.
    Avx2,
    /// The target's baseline (SSE2 on x86-64, NEON on aarch64).
    Baseline,
}

impl VectorUnit {
    /// The widest this CPU has.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                return VectorUnit::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return VectorUnit::Avx2;
            }
        }
        VectorUnit::Baseline
    }

    /// Its name in the bench table, bench.json and the CPU backend's driver string.
    pub fn name(self) -> &'static str {
        match self {
            VectorUnit::Avx512 => "AVX-512",
            VectorUnit::Avx2 => "AVX2",
            VectorUnit::Baseline => "baseline",
        }
    }
}

/// The workgroup body compiled for the widest vector unit this CPU has ([`VectorUnit`]). No
/// fast-math: every variant computes bit-identical results.
pub(super) fn select_workgroup<const M: u32, const FMA: bool>() -> WorkgroupFn {
    match VectorUnit::detect() {
        // SAFETY: the features were detected at run time.
        #[cfg(target_arch = "x86_64")]
        VectorUnit::Avx512 => {
            |k, p, c, w, st, part, h, h2| unsafe { workgroup_avx512::<M, FMA>(k, p, c, w, st, part, h, h2) }
        }
        // SAFETY: the features were detected at run time.
        #[cfg(target_arch = "x86_64")]
        VectorUnit::Avx2 => {
            |k, p, c, w, st, part, h, h2| unsafe { workgroup_avx2::<M, FMA>(k, p, c, w, st, part, h, h2) }
        }
        _ => workgroup::<M, FMA, LANES>,
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2")]
fn workgroup_avx512<const M: u32, const FMA: bool>(
    k: &KernelConsts,
    params: &Params,
    ctx: &Ctx<'_>,
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    workgroup::<M, FMA, LANES>(k, params, ctx, wid, st, part, hist, hist2)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2")]
fn workgroup_avx2<const M: u32, const FMA: bool>(
    k: &KernelConsts,
    params: &Params,
    ctx: &Ctx<'_>,
    wid: usize,
    st: &mut [f32],
    part: &mut [f32],
    hist: &mut [u32],
    hist2: &mut [u32],
) {
    workgroup::<M, FMA, AVX2_THREEFRY_LANES>(k, params, ctx, wid, st, part, hist, hist2)
}
