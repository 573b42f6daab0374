//! The integration tests, one binary (the crate links once): one module per concern.

mod common;
mod tolerance;

mod adaptive;
mod backends;
mod bench_cli;
mod cli;
mod compare;
mod compare_plots;
mod compressed;
mod distributed;
mod divergence;
mod heavy_tails;
mod math_kernels;
mod physics;
mod plots;
mod rng_stats;
mod shaders;
mod spec_validation;
mod student_t;
mod sweep;
mod sweep_plots;
mod value_stability;
