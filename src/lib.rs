//! optsde: ensembles of stochastic-optimizer SDEs (and the optimizers themselves) on the GPU
//! through WGSL compute shaders, with a bit-compatible CPU twin.
//!
//! The pieces: [`spec`] turns an experiment file into a validated [`experiment::Experiment`];
//! [`plan`] decides chunks and segments and merges results in [`stats`] (and keeps the first
//! paths' states, [`trajectory`]); an [`plan::Engine`] ([`cpu::CpuEngine`] or `gpu::GpuEngine`)
//! runs the kernels; [`output`] writes the files;
//! [`plot`] draws them with the closed forms of [`theory`]; [`guard`] estimates a run's memory,
//! output and time before it starts and refuses what this machine cannot hold.
//! [`compare`] runs an optimizer next to its SDEs (weak error, its order in η); [`scale`] checks
//! the scaling rules by simulation; [`bench`](mod@bench) times a fixed suite against Python baselines.

pub mod backend;
pub mod bench;
pub mod compare;
pub mod cpu;
pub mod env;
pub mod error;
pub mod experiment;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod guard;
pub mod interrupt;
pub mod kernel;
pub mod layout;
pub mod math;
pub mod model;
pub mod noise;
pub mod objective;
pub mod output;
pub mod plan;
pub mod plot;
pub mod provenance;
pub mod regression;
pub mod rng;
pub mod scale;
pub mod shader;
pub mod spec;
pub mod stats;
pub mod theory;
pub mod trajectory;

pub use error::{Error, Result};
