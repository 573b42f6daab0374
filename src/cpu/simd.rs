//! Which vector instructions the CPU kernels run on, detected at run time (`super::advance`
//! compiles the workgroup body once per vector unit).

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
