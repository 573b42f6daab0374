//! The resource guard: before a run starts, estimate the host memory, device memory, output size
//! and time it needs, say so on one line, and refuse what cannot fit this machine's memory or
//! disk or would take more than a year at the measured rate, unless forced.
//!
//! Sizes are arithmetic on the plan ([`plan::chunk_size`], [`plan::segments`]' segment length,
//! the record count of [`plan::record_steps`], the `stats` types), never allocations, so a request
//! for 2^40 paths and 2^32 steps is refused at once. What each part counts:
//!
//! * host: the records of every point (a [`RecordStats`] of `dim + 1` [`Moments`] per record
//!   step, all allocated when the run starts, and cloned once more for a snapshot), the record
//!   steps, a chunk's segments and their [`Params`], the histograms (u64 counts), the per-batch
//!   sums, the engine's chunk buffers (the CPU engine's state, partials and histogram words; the
//!   GPU engine's speculative try keeps every segment's readback of a chunk, counted as an upper
//!   bound), the trajectories (`record.trajectories` states of every record, f32, cloned for a
//!   snapshot), and the largest buffer the writers build (`moments.csv`'s text, the `.npy` rows, the
//!   histograms' JSON tree, the figures' rows and raster);
//! * device (GPU engine only): the buffers of `gpu::GpuEngine`'s `ensure`. wgpu does not report a
//!   device's memory, so this is printed, not checked: the state buffer is capped by the engine's
//!   maximum chunk and the adapter's buffer limits;
//! * output: `moments.csv` (~[`CSV_CHARS`] characters per number), the `.npy` files (8 bytes per
//!   number), `histograms.json` (a line per count), `summary.json`, and the figures, whose SVGs
//!   grow with the records (one polyline vertex per record and coordinate shown) and with the
//!   bins (one rectangle per bin and histogram shown); the constants were fitted to measured
//!   files (see `tests/it/resource_guard.rs`, which checks the estimate within a factor of 2);
//! * time: a pilot on the same engine (the run's kernel on at most a chunk of paths for a few
//!   steps, then more steps until it takes [`PILOT_SECONDS`]) gives path-steps per second. A run
//!   whose work (paths × steps × dim × refine over all points) is below [`SMALL_WORK`] takes
//!   seconds on any device and is not timed ("small").

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::experiment::{Experiment, HistRange};
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Params, PartialLayout};
use crate::plan::{self, Engine, Segment};
use crate::stats::{BatchSums, Histogram, Moments, RecordStats, StationaryAcc};

/// Work (path-steps × dim × refine, all points) below which a run is not timed by a pilot: 2^28
/// coordinate-substeps take a few seconds even on a software adapter.
pub const SMALL_WORK: u128 = 1 << 28;
/// How long the timed pilot runs at least.
pub const PILOT_SECONDS: f64 = 0.25;
/// Most paths of the pilot.
const PILOT_MAX_PATHS: u64 = 1 << 20;
/// One year, the longest run allowed without `--force`.
pub const YEAR_SECONDS: f64 = 365.25 * 86400.0;
/// Characters per number in `moments.csv` (`{:e}` of an f64, and a comma; measured 14–20).
pub const CSV_CHARS: u64 = 20;
/// The process before the run: code, threads, allocator (CPU), and a Vulkan driver's own
/// allocations (GPU, measured on lavapipe).
const BASE_CPU: u64 = 6 << 20;
const BASE_GPU: u64 = 128 << 20;
/// The PNG raster of the largest figure (width × height × RGB), its encoder and the font.
const PNG_RASTER: u64 = 6 << 20;
/// The figures' SVG and PNG sizes, fitted to measured files: fixed bytes, bytes per coordinate
/// shown, per record and coordinate (moments), per record (loss), per bin and histogram shown.
const SVG_FIXED: u64 = 42_000;
const SVG_PER_COORD: u64 = 13_000;
const SVG_PER_RECORD_COORD: u64 = 17;
const SVG_PER_RECORD: u64 = 24;
const SVG_PER_BIN_HIST: u64 = 125;
/// The trajectories figure: bytes per vertex (a record of a path), of the contour lines under
/// the paths at d >= 2 (up to ~3000 segments: 260 KB for Rosenbrock's valley), and of its PNG.
const SVG_PER_TRAJECTORY_POINT: u64 = 16;
const SVG_CONTOURS: u64 = 260_000;
const PNG_TRAJECTORIES: u64 = 160_000;
const PNG_FIXED: u64 = 100_000;
const PNG_PER_COORD: u64 = 30_000;
/// `histograms.json`: characters per count besides its digits (indent, comma, newline), and per
/// histogram (name, range, outside counts).
const JSON_PER_COUNT: u64 = 8;
const JSON_PER_HIST: u64 = 200;
/// `summary.json`: fixed and per-coordinate bytes.
const SUMMARY_FIXED: u64 = 3_000;
const SUMMARY_PER_COORD: u64 = 240;
/// A heap allocation's header and rounding.
const ALLOC: u64 = 16;
/// Bytes of one `serde_json::Value` (a count in the histograms' JSON tree).
const JSON_VALUE: u64 = 32;

/// What a run (one point) or a sweep (several points in the same launches) needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// "cpu" or "gpu".
    pub engine: String,
    pub points: usize,
    /// Record steps per point.
    pub records: u64,
    /// Segments (dispatches) per chunk.
    pub segments: u64,
    /// Paths per chunk.
    pub chunk: u64,
    /// Peak host memory.
    pub host_bytes: u64,
    /// The part of `host_bytes` the records take (all points, the snapshot copy included).
    pub record_bytes: u64,
    /// The part of `host_bytes` taken only while files are written (a snapshot's copies, the
    /// writers' buffers, the figures): the rest is held while the paths run.
    pub write_bytes: u64,
    /// Device memory of the GPU engine's buffers; `None` for the CPU engine.
    pub device_bytes: Option<u64>,
    /// Bytes of every file written.
    pub output_bytes: u64,
    /// Optimizer steps × paths over all points.
    pub path_steps: u128,
    /// Measured path-steps per second; `None` for a small run or before the pilot.
    pub path_steps_per_second: Option<f64>,
    /// Estimated run time; `None` as for the rate.
    pub seconds: Option<f64>,
    /// Below [`SMALL_WORK`]: not timed.
    pub small: bool,
}

/// What this machine offers.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Host memory available (`MemAvailable` of `/proc/meminfo`); `None` where unknown.
    pub host_bytes: Option<u64>,
    /// Free space on the file system of the output directory (its nearest existing ancestor);
    /// `None` where unknown.
    pub disk_bytes: Option<u64>,
    /// The longest run ([`YEAR_SECONDS`]).
    pub seconds: f64,
}

impl Limits {
    /// This machine's limits for output written to `out_dir` (which need not exist yet).
    pub fn of_machine(out_dir: &Path) -> Limits {
        Limits { host_bytes: mem_available(), disk_bytes: disk_free(out_dir), seconds: YEAR_SECONDS }
    }
}

/// How [`guard`] behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Figures will be drawn (their files and buffers count).
    pub plots: bool,
    /// Run even when over a limit: the refusal becomes a warning.
    pub force: bool,
    /// Do not print the estimate (warnings still print).
    pub quiet: bool,
}

/// Estimate `points` (one for a plain run) on `engine`, writing to `out_dir`; print the estimate
/// on stderr (unless quiet) and refuse what exceeds this machine ([`check`]). Memory and disk are
/// checked before the pilot, so a run that cannot fit is refused without running anything.
pub fn guard(points: &[Experiment], engine: &mut dyn Engine, out_dir: &Path, opts: &Options) -> Result<Estimate> {
    let limits = Limits::of_machine(out_dir);
    let mut est = sizes(points, engine, opts.plots);
    let mut warnings = check(&est, &limits, opts.force)?;
    if !est.small {
        let rate = pilot_rate(points, engine)?;
        est.path_steps_per_second = Some(rate);
        est.seconds = Some(est.path_steps as f64 / rate);
        warnings = check(&est, &limits, opts.force)?;
    }
    if !opts.quiet {
        eprintln!("estimate    {}", render(&est));
    }
    for w in warnings {
        eprintln!("warning: {w} (running anyway: --force)");
    }
    Ok(est)
}

/// Refuse `est` where it exceeds `limits` (an [`Error::Resources`] naming each excess, the
/// estimate and the limit), unless `force`: then the excesses come back as warnings.
pub fn check(est: &Estimate, limits: &Limits, force: bool) -> Result<Vec<String>> {
    let over = excesses(est, limits);
    if over.is_empty() || force {
        return Ok(over);
    }
    Err(Error::Resources { excess: over.join("; "), estimate: render(est) })
}

/// What in `est` exceeds `limits`, one phrase each.
pub fn excesses(est: &Estimate, limits: &Limits) -> Vec<String> {
    let mut over = Vec::new();
    if let Some(avail) = limits.host_bytes
        && est.host_bytes > avail
    {
        let mut s = format!("host memory ~{} > {} available", bytes(est.host_bytes), bytes(avail));
        if est.record_bytes > est.host_bytes / 4 {
            let _ = write!(
                s,
                " ({} records per point take {}: a larger record.every (--record-every) records fewer steps)",
                est.records,
                bytes(est.record_bytes)
            );
        }
        over.push(s);
    }
    if let Some(free) = limits.disk_bytes
        && est.output_bytes > free
    {
        over.push(format!("output ~{} > {} free on disk", bytes(est.output_bytes), bytes(free)));
    }
    if let Some(s) = est.seconds
        && s > limits.seconds
    {
        over.push(format!(
            "time ~{} at {:.2e} path-steps/s > the one-year limit",
            duration(s),
            est.path_steps_per_second.unwrap_or(f64::NAN)
        ));
    }
    over
}

/// The estimate in one line: `2.1 GiB host, 48 MiB device, 430 MiB of output, ~3 h 20 min at
/// 8.9e7 path-steps/s (pilot)`.
pub fn render(est: &Estimate) -> String {
    let mut s = format!("{} host", bytes(est.host_bytes));
    if let Some(d) = est.device_bytes {
        let _ = write!(s, ", {} device", bytes(d));
    }
    let _ = write!(s, ", {} of output", bytes(est.output_bytes));
    match (est.seconds, est.path_steps_per_second) {
        (Some(t), Some(r)) => {
            let _ = write!(s, ", ~{} at {r:.2e} path-steps/s (pilot)", duration(t));
        }
        _ if est.small => s.push_str(", small run (not timed)"),
        _ => s.push_str(", time not measured"),
    }
    s
}

/// Everything but the time: memory and output sizes of `points` on `engine`.
pub fn sizes(points: &[Experiment], engine: &dyn Engine, plots: bool) -> Estimate {
    let exp = &points[0];
    let p = points.len() as u64;
    let d = exp.dim as u64;
    let bins = u64::from(exp.stationary.bins);
    let k = KernelConsts::new(exp, exp.stationary.bins);
    let kind = engine.info().kind;
    let gpu = kind == "gpu";
    let chunk = plan::chunk_size(exp, engine);
    let n_wg = chunk / WG as u64;
    let records = plan::record_count(exp.run.steps, exp.record.every);
    let segments = plan::segment_count(exp, chunk, true);
    let cols = 5 + 2 * d;
    let size = |n: usize| n as u64;

    // The plan's state.
    let record = size(size_of::<RecordStats>()) + ALLOC + (d + 1) * size(size_of::<Moments>());
    let records_all = p * records * record;
    let hist = size(size_of::<Histogram>()) + ALLOC + bins * 8;
    let hists_all = p * (d + 1) * hist;
    // The covariance's pair sums: one per batch, six accumulators per point.
    let pairs = k.cross_pairs() as u64;
    let batch = size(size_of::<BatchSums>()) + 3 * ALLOC + (2 * d + 1 + pairs) * 8;
    let stat = size(size_of::<StationaryAcc>()) + (d + 1) * 8 * 8 + pairs * 6 * 8;
    let seg = size(size_of::<Segment>()) + size(size_of::<Params>());
    // The trajectories: every record's x of the first paths of each point, and its step.
    let traj = u64::from(exp.record.trajectories).min(exp.run.paths);
    let traj_point = if traj > 0 { records * (traj * d * 4 + 8) } else { 0 };
    let traj_all = p * traj_point;
    let plan_state = 8 * records + segments * seg + n_wg * batch + p * stat + records_all + hists_all + traj_all;

    // The engine's buffers.
    let state = chunk * k.slots() as u64 * d * 4;
    let partials = n_wg * PartialLayout::of(&k).words() as u64 * 4;
    let hist_words = k.hist_words() as u64 * p * 4 + 4;
    // The watched words of a record segment: the first paths of the points that start in a chunk.
    let watched = if traj > 0 { chunk.div_ceil(exp.run.paths).min(p) * traj * d * 4 } else { 0 };
    // The objective buffer (a dense H or a formula's parameters per point), held by the upload.
    let objective = p * k.objective_words() as u64 * 4;
    let engine_host = objective
        + if gpu {
            segments.saturating_mul(partials + hist_words + watched) + 2 * (partials + hist_words + watched)
        } else {
            state + partials + hist_words + watched
        };
    let device = gpu.then(|| {
        let coef = p * d * size(size_of::<crate::layout::Coef>()) + p * size(size_of::<crate::layout::Group>());
        state + partials + hist_words + 2 * (partials + hist_words + watched) + coef + objective + (64 << 10)
    });

    // The writers: a snapshot clones every point's records and histograms, then the largest
    // buffer of one point's files.
    let csv = records * cols * CSV_CHARS;
    let npy = records * (size(size_of::<Vec<f64>>()) + ALLOC + 3 * 8 * cols);
    let json = (d + 1) * bins * (JSON_VALUE + JSON_PER_COUNT + 8 + 8 * 4);
    let figs = if plots {
        records * (8 * cols + 64) + svg_bytes(exp, records).max(traj_svg_bytes(exp, records)) + PNG_RASTER
    } else {
        0
    };
    let writers = records_all + hists_all + traj_all + csv.max(npy).max(json).max(figs).max(traj_point);

    let base = if gpu { BASE_GPU } else { BASE_CPU };
    let host = base + plan_state + engine_host + writers;

    let mut output = p * point_output(exp, records, plots);
    if p > 1 {
        output += (p + 1) * (5 + 2 * d) * CSV_CHARS + if plots { SVG_FIXED + p * 200 + PNG_FIXED } else { 0 };
    }
    let path_steps = u128::from(exp.run.paths) * u128::from(exp.run.steps) * u128::from(p);
    let work = path_steps * u128::from(d) * u128::from(exp.run.refine);
    Estimate {
        engine: kind,
        points: points.len(),
        records,
        segments,
        chunk,
        host_bytes: host,
        record_bytes: 2 * records_all,
        write_bytes: writers,
        device_bytes: device,
        output_bytes: output,
        path_steps,
        path_steps_per_second: None,
        seconds: None,
        small: work < SMALL_WORK,
    }
}

/// The SVG figures of one point: loss, moments (polylines of every record), hist (rectangles).
fn svg_bytes(exp: &Experiment, records: u64) -> u64 {
    let shown = exp.dim.min(crate::plot::MAX_COORDS) as u64;
    let bins = u64::from(exp.stationary.bins);
    SVG_FIXED
        + shown * SVG_PER_COORD
        + records * (SVG_PER_RECORD + shown * SVG_PER_RECORD_COORD)
        + shown * bins * SVG_PER_BIN_HIST
}

/// The SVG of the trajectories figure (none without trajectories): one vertex per record and path.
fn traj_svg_bytes(exp: &Experiment, records: u64) -> u64 {
    let traj = u64::from(exp.record.trajectories).min(exp.run.paths);
    let contours = if exp.dim >= 2 { SVG_CONTOURS } else { 0 };
    if traj == 0 { 0 } else { SVG_FIXED + contours + records * traj * SVG_PER_TRAJECTORY_POINT }
}

/// The files of one point (a run's directory).
fn point_output(exp: &Experiment, records: u64, plots: bool) -> u64 {
    let d = exp.dim as u64;
    let bins = u64::from(exp.stationary.bins);
    let cols = 5 + 2 * d;
    let summary = SUMMARY_FIXED + SUMMARY_PER_COORD * d;
    let moments = records * cols * CSV_CHARS + 128 + records * cols * 8;
    // A count's digits: those of the mean count of a bin (paths × stationary samples / bins).
    let samples = (exp.run.steps - exp.stationary.start) / exp.stationary.every + 1;
    let mean_count = (u128::from(exp.run.paths) * u128::from(samples) / u128::from(bins)).max(1);
    let digits = u64::from(mean_count.ilog10()) + 1;
    let json = (d + 1) * (JSON_PER_HIST + bins * (JSON_PER_COUNT + digits));
    let npy = 3 * 128 + (d + 1) * (8 * bins + 8 * (bins + 1) + 16);
    let traj = u64::from(exp.record.trajectories).min(exp.run.paths);
    let trajectories = if traj > 0 { 2 * 128 + records * (traj * d * 4 + 8) } else { 0 };
    let figures = if plots {
        let traj_png = if traj > 0 { PNG_TRAJECTORIES } else { 0 };
        svg_bytes(exp, records)
            + traj_svg_bytes(exp, records)
            + PNG_FIXED
            + traj_png
            + PNG_PER_COORD * exp.dim.min(crate::plot::MAX_COORDS) as u64
    } else {
        0
    };
    summary + moments + json + npy + trajectories + figures
}

/// The pilot experiment: `exp`'s kernel on `paths` paths for `steps` steps, recording as often,
/// sampling the histograms over the same fraction of the steps, with a fixed range (no range
/// pilot).
fn pilot(exp: &Experiment, paths: u64, steps: u64) -> Experiment {
    let mut e = exp.truncated(paths, steps);
    // Segments as long as the run's (a record interval at most), so their cost counts.
    e.record.every = exp.record.every.min(steps);
    let start = u128::from(steps) * u128::from(exp.stationary.start) / u128::from(exp.run.steps);
    e.stationary.start = (start as u64).min(steps - 1);
    e.stationary.range = HistRange::Fixed { lo: -1.0, hi: 1.0 };
    e
}

/// Path-steps per second of `points`' kernel on `engine`: a warm-up (compiles the GPU pipelines,
/// which the run then reuses), a short run, then longer runs until one takes [`PILOT_SECONDS`]
/// more than the short one (or reaches the run's steps). The rate is the marginal one between
/// them, so what every run pays once (buffers, a pipeline for its segment lengths, histograms),
/// which dominates a short run on a software adapter, does not count as if paid per step.
pub fn pilot_rate(points: &[Experiment], engine: &mut dyn Engine) -> Result<f64> {
    let exp = &points[0];
    let total = exp.run.paths.saturating_mul(points.len() as u64);
    let paths = total.min(plan::chunk_size(exp, engine)).min(PILOT_MAX_PATHS);
    let mut time = |steps: u64| -> Result<f64> {
        let t0 = Instant::now();
        plan::run(&pilot(exp, paths, steps), engine, &mut |_| {})?;
        Ok(t0.elapsed().as_secs_f64().max(1e-6))
    };
    let s0 = 4u64.min(exp.run.steps);
    time(s0)?;
    let t0 = time(s0)?;
    let mut steps = s0;
    while steps < exp.run.steps {
        // 16 times the steps, or the steps that the last run's marginal time says fill the budget.
        steps = (steps * 16).min(exp.run.steps);
        let t = time(steps)?;
        let dt = t - t0;
        if dt >= PILOT_SECONDS || steps == exp.run.steps {
            return Ok(if dt > 0.0 { (paths * (steps - s0)) as f64 / dt } else { (paths * steps) as f64 / t });
        }
        let per_step = dt.max(1e-6) / (steps - s0) as f64;
        steps = steps.max((1.5 * PILOT_SECONDS / per_step) as u64 / 16).min(exp.run.steps);
    }
    Ok((paths * steps) as f64 / t0)
}

/// `MemAvailable` of `/proc/meminfo` in bytes (Linux); `None` elsewhere.
pub fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.trim_start_matches("MemAvailable:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Free bytes (for an unprivileged user) on the file system that holds `dir`, or its nearest
/// existing ancestor (an output directory is created only when the run writes).
#[cfg(unix)]
pub fn disk_free(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let existing =
        dir.ancestors().map(|a| if a.as_os_str().is_empty() { Path::new(".") } else { a }).find(|a| a.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes the struct; zeroed is a valid value of its plain integer fields.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `s` a valid, writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    // The field types differ between platforms (u32 on some, u64 on others).
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Some(u64::from(s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
}

#[cfg(not(unix))]
pub fn disk_free(_dir: &Path) -> Option<u64> {
    None
}

/// `1.5 GiB`, `48 MiB`, `12 KiB`, `100 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// `< 1 s`, `42 s`, `3 min 20 s`, `3 h 20 min`, `4 d 6 h`, `1.5e5 years`.
pub fn duration(s: f64) -> String {
    let (m, h, d) = (60.0, 3600.0, 86400.0);
    match s {
        s if s < 1.0 => "< 1 s".into(),
        s if s < m => format!("{s:.0} s"),
        s if s < h => format!("{:.0} min {:.0} s", (s / m).floor(), s % m),
        s if s < d => format!("{:.0} h {:.0} min", (s / h).floor(), (s % h / m).floor()),
        s if s < YEAR_SECONDS => format!("{:.0} d {:.0} h", (s / d).floor(), (s % d / h).floor()),
        s => format!("{:.1e} years", s / YEAR_SECONDS),
    }
}
