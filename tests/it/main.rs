//! The integration tests, one binary (the crate links once): one module per concern, beside
//! `common` (helpers, and `per_engine!`, which makes a backend-generic test one test per engine:
//! `<module>::<test>::cpu` and `::gpu`) and `tolerance` (the tolerance tiers and their reasons).

mod common;
mod tolerance;

mod adaptive;
mod backends;
mod bench_baselines;
mod bench_cli;
mod cli;
mod compare;
mod compare_plots;
mod compare_rotated;
mod compressed;
mod coupled_outputs;
mod curvature;
mod dense_large;
mod distributed;
mod divergence;
mod env_vars;
mod first_contact;
mod formula;
mod formula_runs;
mod heavy_tails;
mod landscapes;
mod math_kernels;
mod physics;
mod plots;
mod provenance;
mod regression;
mod regression_compressed;
mod regression_rotated;
mod resource_guard;
mod risk_cli;
mod risk_ode;
mod risk_plot;
mod rng_stats;
mod schedules;
mod shaders;
mod source_layout;
mod spec_validation;
mod student_t;
mod sweep;
mod sweep_plots;
mod trajectories;
mod trust;
mod value_stability;
