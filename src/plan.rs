//! Backend-neutral orchestration (STYLE habit 2): the host decides what to upload, which
//! segments to dispatch on which chunk of paths and what to read back; an [`Engine`] (GPU or
//! CPU) executes exactly that and hands back per-segment partials and histogram counts.
//!
//! A run is a sequence of chunks of at most `chunk` paths (global path indices
//! `[offset, offset + n)`); each chunk runs all its segments, so memory is bounded by the
//! chunk and results merge exactly across chunks. Segments end at record steps and are split
//! further so one dispatch never runs too long or overflows a 32-bit histogram count.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::{Experiment, HistRange, RecordBasis};
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Params, PartialLayout, Upload};
use crate::model::upload;
use crate::stats::{
    BatchSums, Divergence, Histogram, Histogram2d, RecordStats, StationarityCheck, StationaryAcc, StationaryEstimate,
    add_pair_blocks, pair_histograms,
};
use crate::trajectory::{Trajectories, Watch, watch_chunk};

/// Which engine ran, for summary.json.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackendInfo {
    /// "gpu" or "cpu".
    pub kind: String,
    /// Adapter name (GPU) or CPU model.
    pub adapter: String,
    /// Driver name and version (GPU) or thread count (CPU).
    pub driver: String,
    /// Graphics API (Vulkan, Metal, Dx12) or "rayon".
    pub api: String,
}

/// Called after each segment with the segment index, its partials (workgroups ×
/// [`crate::layout::partial_words`]), its histogram counts ([`KernelConsts::hist_words`]) and,
/// after a record segment, the state words of the chunk's [`Watch`] ([`Watch::words`]; empty
/// otherwise).
pub type Sink<'a> = dyn FnMut(usize, &[f32], &[u32], &[f32]) -> Result<()> + 'a;

/// An executor of plans: the GPU backend or its CPU twin.
pub trait Engine {
    fn info(&self) -> BackendInfo;
    /// Largest chunk (a multiple of [`WG`]) this engine can hold for dimension `dim`.
    fn max_chunk(&self, dim: usize) -> u64;
    /// Run `segs` (all for the same chunk, in order) and stream each segment's results, with
    /// the words of `watch` read from the state after each record segment.
    fn run_chunk(
        &mut self,
        k: &KernelConsts,
        up: &Upload,
        segs: &[Params],
        watch: &Watch,
        sink: &mut Sink<'_>,
    ) -> Result<()>;
    /// The state buffer after the last `run_chunk` (workgroups × dim × WG words).
    fn read_state(&mut self) -> Result<Vec<f32>>;
}

/// Paths used to fix `range = "auto"`.
pub const PILOT_PATHS: u64 = 4096;
/// Coordinate-substeps per dispatch before a segment is split.
const MAX_WORK_PER_DISPATCH: u64 = 1 << 30;
/// Coordinate-substeps one invocation runs per dispatch. Software rasterisers cap loop
/// iterations (llvmpipe stops loops after 65 535 trips and the paths come out non-finite), and
/// desktop GPUs have watchdogs: long segments are split.
const MAX_ITERATIONS_PER_INVOCATION: u64 = 1 << 14;
/// Histogram counts per dispatch stay below this (u32 on the device).
const MAX_COUNT_PER_DISPATCH: u64 = 1 << 31;

/// Everything a run produces.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub backend: BackendInfo,
    pub records: Vec<RecordStats>,
    pub stationary: StationaryEstimate,
    /// The two halves of the stationary window compared.
    pub stationarity: StationarityCheck,
    pub histograms: Vec<Histogram>,
    /// The 2-D histograms of `[stationary] pairs`.
    pub histograms2d: Vec<Histogram2d>,
    /// The states of the first `record.trajectories` paths at the records (none when 0).
    pub trajectories: Trajectories,
    /// Diverged paths among those that reached the last record with any paths.
    pub diverged: u64,
    /// When the diverged paths diverged.
    pub divergence: Divergence,
    pub chunk: u64,
    pub wall_seconds: f64,
    /// False for a checkpoint taken during the run.
    pub complete: bool,
    /// Paths whose chunk has finished every step (the records say how far the others got).
    pub paths_done: u64,
    /// The process's peak resident memory when the result was taken (Linux `VmHWM`; `None`
    /// elsewhere): what a run held at most, chunk buffers included.
    pub peak_memory_bytes: Option<u64>,
}

/// The process's peak resident set size so far, from `/proc/self/status` (`VmHWM`, in kB);
/// `None` where that file does not exist (not Linux) or lacks the line.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Snapshots of a running experiment, so an interrupted run keeps what it computed: the
/// statistics gathered so far (finished chunks, plus the current chunk up to its last finished
/// segment) are handed to `write`. Every statistic keeps its own count, so a snapshot is a
/// valid, smaller run. The first snapshot comes early (at the first record after step 0, or
/// after [`FIRST_SNAPSHOT`] or `every`, whichever is sooner), the next ones every `every`.
pub struct Checkpoint<'a> {
    pub every: std::time::Duration,
    /// Receives one snapshot per point of the study (one for a plain run).
    pub write: &'a mut dyn FnMut(&[RunResult]) -> Result<()>,
    /// Polled after every segment: once set (by a signal handler, say), the run writes a last
    /// snapshot and stops with [`Error::Interrupted`].
    pub stop: Option<&'a AtomicBool>,
}

/// The longest wait for a run's first snapshot.
pub const FIRST_SNAPSHOT: std::time::Duration = std::time::Duration::from_secs(2);

/// One dispatch of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Initialise the state from x0 (only the chunk's first, zero-step segment).
    pub init: bool,
    pub k_begin: u64,
    pub k_end: u64,
    pub record: bool,
}

/// Record steps: 0, every, 2 every, ..., and the last step.
pub fn record_steps(steps: u64, every: u64) -> Vec<u64> {
    let mut r: Vec<u64> = (0..=steps).step_by(every as usize).collect();
    if *r.last().unwrap() != steps {
        r.push(steps);
    }
    r
}

/// The number of steps [`record_steps`] lists, without listing them.
pub fn record_count(steps: u64, every: u64) -> u64 {
    steps / every + 1 + u64::from(!steps.is_multiple_of(every))
}

/// The most optimizer steps one dispatch of a chunk runs: the work and iteration limits, and
/// when `sampling` the histogram count limit.
pub fn max_segment_steps(exp: &Experiment, chunk: u64, sampling: bool) -> u64 {
    // Work per path and step: the noise variates it takes (d · draws, or more on sampled data).
    let per_path = KernelConsts::new(exp, 1).variates_per_substep() * u64::from(exp.run.refine);
    let per_step = chunk * per_path;
    let max_steps = (MAX_WORK_PER_DISPATCH / per_step.max(1)).min(MAX_ITERATIONS_PER_INVOCATION / per_path).max(1);
    if sampling {
        let max_samples = (MAX_COUNT_PER_DISPATCH / chunk.max(1)).max(1);
        return max_steps.min(max_samples.saturating_mul(exp.stationary.every));
    }
    max_steps
}

/// The number of segments [`segments`] lists, without listing them (the resource estimate
/// counts them for runs whose list would not fit in memory).
pub fn segment_count(exp: &Experiment, chunk: u64, sampling: bool) -> u64 {
    let longest = max_segment_steps(exp, chunk, sampling);
    let (steps, every) = (exp.run.steps, exp.record.every);
    let count = 1 + (steps / every) * every.div_ceil(longest) + (steps % every).div_ceil(longest);
    count + u64::from(sampling && split_is_inserted(exp, longest))
}

/// Whether [`segments`] inserts the [`stationary_split`] (no segment end lies within a quarter of
/// the window from its middle), from the segment ends' arithmetic: in the record interval
/// `(r, r']` they are `r + j·longest` and `r'`.
fn split_is_inserted(exp: &Experiment, longest: u64) -> bool {
    let (start, steps, every) = (exp.stationary.start, exp.run.steps, exp.record.every);
    if steps < start + 2 {
        return false;
    }
    let (mid, quarter) = (start + (steps - start) / 2, (steps - start) / 4);
    let (lo, hi) = ((mid - quarter).max(start + 1), (mid + quarter).min(steps - 1));
    let r = (lo - 1) / every * every;
    let next_end = (r + (lo - r).div_ceil(longest) * longest).min((r + every).min(steps));
    next_end > hi
}

/// Segments of one chunk: a zero-step initial segment (records step 0), then one segment per
/// record interval, split so that no dispatch exceeds the work and count limits. When
/// `sampling`, a segment also ends at [`stationary_split`], so the stationary samples of the two
/// halves of the window can be told apart.
pub fn segments(exp: &Experiment, chunk: u64, sampling: bool) -> Vec<Segment> {
    let max_steps = max_segment_steps(exp, chunk, sampling);
    let mut segs = vec![Segment { init: true, k_begin: 0, k_end: 0, record: true }];
    let recs = record_steps(exp.run.steps, exp.record.every);
    for w in recs.windows(2) {
        let mut a = w[0];
        while a < w[1] {
            let b = (a + max_steps).min(w[1]);
            segs.push(Segment { init: false, k_begin: a, k_end: b, record: b == w[1] });
            a = b;
        }
    }
    if sampling && let Some(m) = inserted_split(exp, &segs) {
        let i = segs.iter().position(|s| s.k_begin < m && m < s.k_end).unwrap_or(0);
        let s = segs[i];
        segs[i] = Segment { k_end: m, record: false, ..s };
        segs.insert(i + 1, Segment { k_begin: m, ..s });
    }
    segs
}

/// The step that divides the stationary window `[start, steps]` into the two halves that the
/// stationarity check compares: the segment end closest to the window's middle, when one lies
/// within a quarter of the window from it; otherwise the middle itself (and [`segments`] ends a
/// segment there). `None` when the window is shorter than two steps.
pub fn stationary_split(exp: &Experiment, segs: &[Segment]) -> Option<u64> {
    let (start, steps) = (exp.stationary.start, exp.run.steps);
    if steps < start + 2 {
        return None;
    }
    let (mid, quarter) = (start + (steps - start) / 2, (steps - start) / 4);
    segs.iter()
        .map(|s| s.k_end)
        .filter(|&k| k > start && k < steps && k.abs_diff(mid) <= quarter)
        .min_by_key(|&k| (k.abs_diff(mid), k))
        .or(Some(mid))
}

/// The split step when no segment ends near the middle of the window (then [`segments`] adds one).
fn inserted_split(exp: &Experiment, segs: &[Segment]) -> Option<u64> {
    let m = stationary_split(exp, segs)?;
    (!segs.iter().any(|s| s.k_end == m)).then_some(m)
}

/// Kernel parameters of one segment of one chunk.
pub fn params_for(exp: &Experiment, offset: u64, n: u64, seg: &Segment, sampling: bool, group_paths: u64) -> Params {
    let kc = KernelConsts::new(exp, 1);
    let m0 = seg.k_begin * u64::from(exp.run.refine) * kc.variates_per_substep();
    let (_, _, gsq) = crate::model::time_rates(exp);
    let (stat_start, stat_every) = if sampling {
        (exp.stationary.start as u32, exp.stationary.every.min(u64::from(u32::MAX)) as u32)
    } else {
        (u32::MAX, 1)
    };
    Params {
        path_lo: offset as u32,
        path_hi: (offset >> 32) as u32,
        n_paths: n as u32,
        k_begin: seg.k_begin as u32,
        k_end: seg.k_end as u32,
        m0_lo: m0 as u32,
        m0_hi: (m0 >> 32) as u32,
        seed_lo: exp.run.seed as u32,
        seed_hi: (exp.run.seed >> 32) as u32,
        refine: exp.run.refine,
        init: u32::from(seg.init),
        record: u32::from(seg.record),
        stat_start,
        stat_every,
        gsq: gsq as f32,
        group_paths: group_paths as u32,
    }
}

/// The chunk size a run uses.
pub fn chunk_size(exp: &Experiment, engine: &dyn Engine) -> u64 {
    let wg = WG as u64;
    let want = exp.run.chunk.unwrap_or_else(|| exp.run.paths.div_ceil(wg) * wg);
    want.min(engine.max_chunk(exp.dim)).max(wg)
}

/// A histogram range `(lo, hi)`.
pub type Range = (f64, f64);

/// Histogram ranges of the coordinates and of the loss, for each point of a study (one for a
/// plain run).
///
/// `range = [lo, hi]` applies to every coordinate; the loss range is then [0, max over the box]
/// so every state inside the box lands in a bin. `range = "auto"` runs a pilot of the first
/// [`PILOT_PATHS`] paths of every point to `stationary.start` (the same paths, random numbers
/// and kernel as the run, all points in one launch, so the ranges depend neither on chunking
/// nor on the other points) and takes mean ± 6 sd per coordinate and [0, mean + 8 sd] for the
/// loss.
pub fn hist_ranges(points: &[Experiment], engine: &mut dyn Engine) -> Result<Vec<(Vec<Range>, Range)>> {
    let exp = &points[0];
    let fixed =
        |exp: &Experiment, lo: f64, hi: f64| (vec![(lo, hi); exp.dim], exp.objective.loss_range_over_box(lo, hi));
    if let HistRange::Fixed { lo, hi } = exp.stationary.range {
        return Ok(points.iter().map(|e| fixed(e, lo, hi)).collect());
    }
    let pilots: Vec<Experiment> =
        points.iter().map(|e| e.truncated(e.run.paths.min(PILOT_PATHS), e.stationary.start)).collect();
    let n = pilots[0].run.paths;
    // Group size: whole workgroups (for one point the group is the whole pilot).
    let ppg = if points.len() > 1 { n.div_ceil(WG as u64) * WG as u64 } else { 0 };
    let total = if points.len() > 1 { ppg * points.len() as u64 } else { n };
    let dummy = vec![(0.0, 1.0); exp.dim];
    // The pilot needs no pair sums or 2-D histograms.
    let k = KernelConsts { cross: false, pairs: Default::default(), ..KernelConsts::new(exp, 1) };
    let groups: Vec<_> = pilots.iter().map(|p| (p, &dummy[..], (0.0, 1.0))).collect();
    let up = upload(&groups, 1);
    let segs: Vec<Params> = segments(&pilots[0], total.div_ceil(WG as u64) * WG as u64, false)
        .iter()
        .map(|s| params_for(&pilots[0], 0, total, s, false, ppg))
        .collect();
    let lay = PartialLayout::of(&k);
    let last = segs.len() - 1;
    let mut recs: Vec<RecordStats> = points.iter().map(|_| RecordStats::new(exp.stationary.start, exp.dim)).collect();
    engine.run_chunk(&k, &up, &segs, &Watch::NONE, &mut |s, part, _, _| {
        if s == last {
            for (w, p) in part.chunks(lay.words()).enumerate().take(total.div_ceil(WG as u64) as usize) {
                let g = (w as u64 * WG as u64).checked_div(ppg).unwrap_or(0) as usize;
                recs[g].add_partial(&lay, p);
            }
        }
        Ok(())
    })?;
    Ok(points
        .iter()
        .zip(&recs)
        .map(|(e, rec)| {
            let center = e.objective.center();
            let ranges = (0..e.dim)
                .map(|i| {
                    let m = rec.q[i];
                    let sd = m.var().sqrt();
                    let mean = if m.n > 0.0 { m.mean } else { center[i] };
                    let half = if sd > 0.0 && sd.is_finite() { 6.0 * sd } else { (mean - center[i]).abs().max(1.0) };
                    (mean - half, mean + half)
                })
                .collect();
            let l = rec.q[e.dim];
            (ranges, e.objective.auto_loss_range(l.mean, l.var().sqrt()))
        })
        .collect())
}

/// Run an experiment on an engine. `progress` receives the optimizer path-steps done so far.
pub fn run(exp: &Experiment, engine: &mut dyn Engine, progress: &mut dyn FnMut(u128)) -> Result<RunResult> {
    run_with_checkpoints(exp, engine, progress, None)
}

/// [`run`], handing snapshots to `checkpoint` while it goes, so an interrupted run keeps what it
/// computed up to the last snapshot.
pub fn run_with_checkpoints(
    exp: &Experiment,
    engine: &mut dyn Engine,
    progress: &mut dyn FnMut(u128),
    checkpoint: Option<Checkpoint<'_>>,
) -> Result<RunResult> {
    let mut r = run_study(std::slice::from_ref(exp), engine, progress, checkpoint)?;
    Ok(r.remove(0))
}

/// Run the points of a study (a sweep: experiments that share the kernel constants, the run,
/// record and stationary settings, and differ in coefficients) in the same launches: point g
/// owns the global paths `[g P, (g + 1) P)` (P = `run.paths`, a multiple of the workgroup size
/// when there is more than one point), reads its own coefficient group on the device, and draws
/// the random numbers of paths `[0, P)`: every point is bit for bit the separate run it replaces
/// (common random numbers across points). One [`RunResult`] per point.
pub fn run_study(
    points: &[Experiment],
    engine: &mut dyn Engine,
    progress: &mut dyn FnMut(u128),
    mut checkpoint: Option<Checkpoint<'_>>,
) -> Result<Vec<RunResult>> {
    let t0 = Instant::now();
    let mut last_snapshot: Option<Instant> = None;
    let exp = &points[0];
    let n_points = points.len();
    let dim = exp.dim;
    let ranges = hist_ranges(points, engine)?;
    let bins = exp.stationary.bins;
    let k = KernelConsts::new(exp, bins);
    let groups: Vec<_> = points.iter().zip(&ranges).map(|(e, (r, l))| (e, &r[..], *l)).collect();
    let up = upload(&groups, bins);
    let ppg = if n_points > 1 { exp.run.paths } else { 0 };
    let total = exp.run.paths * n_points as u64;
    let chunk = chunk_size(exp, engine);
    let segs = segments(exp, chunk, true);
    let split = stationary_split(exp, &segs);
    let lay = PartialLayout::of(&k);
    let pw = lay.words();
    let hs = bins as usize + 2;
    let hw = k.hist_words();
    let group_of = |path: u64| path.checked_div(ppg).unwrap_or(0) as usize;
    // Paths of point g inside [a, b).
    let overlap = |g: usize, a: u64, b: u64| -> u64 {
        let (lo, hi) = (g as u64 * exp.run.paths, (g as u64 + 1) * exp.run.paths);
        b.min(hi).saturating_sub(a.max(lo))
    };

    // Records are added as the first chunk reaches them, so memory holds what was recorded.
    let rec_steps = record_steps(exp.run.steps, exp.record.every);
    let mut records: Vec<Vec<RecordStats>> = vec![Vec::new(); n_points];
    let cov = exp.stationary.cov;
    let eigen = |e: &Experiment| (e.record.basis == RecordBasis::Hessian).then(|| e.objective.eigenbasis()).flatten();
    let mut stat: Vec<_> = points.iter().map(|e| StationaryAcc::new(dim, cov).with_eigenbasis(eigen(e))).collect();
    // The stationary samples of each half of the window ([`stationary_split`]).
    let mut halves = vec![[StationaryAcc::new(dim, false), StationaryAcc::new(dim, false)]; n_points];
    let mut divergence = vec![Divergence::default(); n_points];
    // The first paths of each point (`record.trajectories`; the pilots of `crate::guard` may
    // have fewer paths).
    let n_traj = u64::from(exp.record.trajectories).min(exp.run.paths) as usize;
    let mut trajectories = vec![Trajectories::new(n_traj, dim); n_points];
    let mut names: Vec<String> = (0..dim).map(|i| format!("x{i}")).collect();
    names.push("loss".into());
    let mut hists2d: Vec<Vec<Histogram2d>> = ranges.iter().map(|(r, _)| pair_histograms(&k, r)).collect();
    let mut hists: Vec<Vec<Histogram>> = ranges
        .iter()
        .map(|(r, loss_range)| {
            names
                .iter()
                .enumerate()
                .map(|(q, name)| {
                    let (lo, hi) = if q < dim { r[q] } else { *loss_range };
                    Histogram { name: name.clone(), lo, hi, counts: vec![0; bins as usize], underflow: 0, overflow: 0 }
                })
                .collect()
        })
        .collect();
    let check = |halves: &[StationaryAcc; 2], e: &Experiment| {
        StationarityCheck::new(
            split,
            &halves[0].estimate(&e.objective.center()),
            &halves[1].estimate(&e.objective.center()),
        )
    };

    let mut done: u128 = 0;
    let mut offset = 0u64;
    while offset < total {
        let n = chunk.min(total - offset);
        let n_wg = n.div_ceil(WG as u64) as usize;
        let params: Vec<Params> = segs.iter().map(|s| params_for(exp, offset, n, s, true, ppg)).collect();
        let mut batches = vec![BatchSums::new(dim, lay.cross); n_wg];
        let mut half_batches = vec![[BatchSums::new(dim, 0), BatchSums::new(dim, 0)]; n_wg];
        let mut rec_idx = 0usize;
        let backend = engine.info();
        let (watch, watched) = watch_chunk(n_traj, exp.run.paths, n_points, offset, n);
        let tw = watch.words(dim) / watched.len().max(1);
        engine.run_chunk(&k, &up, &params, &watch, &mut |s, part, hist, x| {
            let seg = &segs[s];
            if part.len() < n_wg * pw || hist.len() < hw * n_points || (seg.record && x.len() < tw * watched.len()) {
                return Err(Error::Gpu(format!("segment {s}: short readback ({} partial words)", part.len())));
            }
            if seg.record && records[0].len() == rec_idx {
                for recs in &mut records {
                    recs.push(RecordStats::new(rec_steps[rec_idx], dim));
                }
            }
            let half = usize::from(split.is_some_and(|m| seg.k_end > m));
            for (w, p) in part.chunks(pw).take(n_wg).enumerate() {
                let g = group_of(offset + (w * WG) as u64);
                if seg.record {
                    records[g][rec_idx].add_partial(&lay, p);
                }
                batches[w].add_partial(&lay, p);
                half_batches[w][half].add_partial(&lay, p);
                divergence[g].add_partial(&lay, p);
            }
            if seg.record {
                for (g, recs) in records.iter_mut().enumerate() {
                    recs[rec_idx].paths += overlap(g, offset, offset + n);
                }
                for (j, &g) in watched.iter().enumerate() {
                    trajectories[g].push(rec_steps[rec_idx], &x[j * tw..(j + 1) * tw]);
                }
                rec_idx += 1;
            }
            for (g, hg) in hists.iter_mut().enumerate() {
                for (q, h) in hg.iter_mut().enumerate() {
                    h.add_block(&hist[g * hw + q * hs..g * hw + (q + 1) * hs]);
                }
                add_pair_blocks(&k, &mut hists2d[g], &hist[g * hw..(g + 1) * hw]);
            }
            done += u128::from(n) * u128::from(seg.k_end - seg.k_begin);
            progress(done);
            let Some(cp) = checkpoint.as_mut() else { return Ok(()) };
            let stop = cp.stop.is_some_and(|f| f.load(Ordering::SeqCst));
            let due = match last_snapshot {
                Some(t) => t.elapsed() >= cp.every,
                None => (seg.record && seg.k_end > 0) || t0.elapsed() >= cp.every.min(FIRST_SNAPSHOT),
            };
            if !(stop || due) {
                return Ok(());
            }
            let (mut snaps, mut snap_halves) = (stat.clone(), halves.clone());
            fold_batches(&mut snaps, &mut snap_halves, &batches, &half_batches, &group_of, offset);
            let peak = peak_memory_bytes();
            let results: Vec<RunResult> = (0..n_points)
                .map(|g| RunResult {
                    backend: backend.clone(),
                    stationary: snaps[g].estimate(&points[g].objective.center()),
                    stationarity: check(&snap_halves[g], &points[g]),
                    records: records[g].clone(),
                    histograms: hists[g].clone(),
                    histograms2d: hists2d[g].clone(),
                    trajectories: trajectories[g].clone(),
                    diverged: diverged_of(&records[g]),
                    divergence: divergence[g],
                    chunk,
                    wall_seconds: t0.elapsed().as_secs_f64(),
                    complete: false,
                    paths_done: overlap(g, 0, offset),
                    peak_memory_bytes: peak,
                })
                .collect();
            (cp.write)(&results)?;
            last_snapshot = Some(Instant::now());
            if stop {
                let reached = &records[0][rec_idx.saturating_sub(1)];
                return Err(Error::Interrupted { step: reached.step, paths: reached.paths });
            }
            Ok(())
        })?;
        fold_batches(&mut stat, &mut halves, &batches, &half_batches, &group_of, offset);
        offset += n;
    }
    let backend = engine.info();
    let wall = t0.elapsed().as_secs_f64();
    let peak = peak_memory_bytes();
    Ok((0..n_points)
        .map(|g| RunResult {
            backend: backend.clone(),
            stationary: stat[g].estimate(&points[g].objective.center()),
            stationarity: check(&halves[g], &points[g]),
            diverged: diverged_of(&records[g]),
            divergence: divergence[g],
            records: std::mem::take(&mut records[g]),
            histograms: std::mem::take(&mut hists[g]),
            histograms2d: std::mem::take(&mut hists2d[g]),
            trajectories: std::mem::take(&mut trajectories[g]),
            chunk,
            wall_seconds: wall,
            complete: true,
            paths_done: exp.run.paths,
            peak_memory_bytes: peak,
        })
        .collect())
}

/// Add a chunk's per-workgroup batch sums (whole window and per half), whose first path is
/// `offset`, to the accumulators of the points they belong to.
fn fold_batches(
    stat: &mut [StationaryAcc],
    halves: &mut [[StationaryAcc; 2]],
    batches: &[BatchSums],
    half_batches: &[[BatchSums; 2]],
    group_of: &dyn Fn(u64) -> usize,
    offset: u64,
) {
    for (w, (b, hb)) in batches.iter().zip(half_batches).enumerate() {
        let g = group_of(offset + (w * WG) as u64);
        stat[g].add_batch(b);
        halves[g][0].add_batch(&hb[0]);
        halves[g][1].add_batch(&hb[1]);
    }
}

/// Diverged paths at the last record that any path has reached.
fn diverged_of(records: &[RecordStats]) -> u64 {
    records.iter().rev().find(|r| r.paths > 0).map_or(0, |r| r.diverged())
}

/// Per-path states after `steps` optimizer steps, for the first `n` paths: every state slot
/// (x, then the EMAs), coordinate-major: `out[(slot * dim + i) * n + p]`. For backend
/// comparisons in tests and tools.
pub fn states_after(exp: &Experiment, engine: &mut dyn Engine, n: u64, steps: u64) -> Result<Vec<f32>> {
    let e = exp.truncated(n, steps);
    let dim = exp.dim;
    let k = KernelConsts::new(exp, 1);
    let dummy = vec![(0.0, 1.0); dim];
    let up = upload(&[(&e, &dummy[..], (0.0, 1.0))], 1);
    let chunk = n.div_ceil(WG as u64) * WG as u64;
    let params: Vec<Params> = segments(&e, chunk, false).iter().map(|s| params_for(&e, 0, n, s, false, 0)).collect();
    engine.run_chunk(&k, &up, &params, &Watch::NONE, &mut |_, _, _, _| Ok(()))?;
    let raw = engine.read_state()?;
    let rows = exp.model.name.slots() * dim;
    let mut out = vec![0.0f32; rows * n as usize];
    for p in 0..n as usize {
        let (w, t) = (p / WG, p % WG);
        for row in 0..rows {
            out[row * n as usize + p] = raw[(w * rows + row) * WG + t];
        }
    }
    Ok(out)
}
