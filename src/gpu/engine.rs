//! The engine's runs: a chunk's segments dispatched with a two-slot staging ring (segment s + 1
//! computes while the host reads segment s back), the speculative try and its rerun, and the
//! state read back.

use std::collections::VecDeque;
use std::sync::mpsc;

use super::GpuEngine;
use super::pipeline::readback_bytes;
use crate::error::{Error, Result};
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Params, Upload};
use crate::plan::{BackendInfo, Engine, Sink};
use crate::shader::Variant;
use crate::trajectory::Watch;

/// Largest chunk on the GPU (paths); the dispatch width stays below 65 535 workgroups.
const MAX_GPU_CHUNK: u64 = 1 << 22;

/// Largest chunk on a software adapter (paths). Each dispatch has fixed costs per path: its state
/// loaded and stored, its first random block, and the workgroup reductions of the partials, whose
/// barriers llvmpipe runs as coroutine switches (37 tree reductions at d = 16). The per-dispatch
/// work cap (src/plan.rs) gives a chunk of n paths at dimension d 2^30 / (n d) steps per dispatch:
/// 64 at 2^20 paths and d = 16, where those costs dominated; at 2^16 paths (256 workgroups, ample
/// for a CPU's cores) d = 16 runs the 1024 steps an invocation may run per dispatch
/// (benches/NOTES.md, "Packed paths on lavapipe").
const MAX_SOFTWARE_CHUNK: u64 = 1 << 16;

impl GpuEngine {
    /// Map a staging buffer after its submission completes and hand the words to `f`.
    pub(super) fn read_staging<T>(
        &self,
        buf: &wgpu::Buffer,
        idx: wgpu::SubmissionIndex,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        buf.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None })
            .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
        rx.recv()
            .map_err(|_| Error::Gpu("readback callback dropped".into()))?
            .map_err(|e| Error::Gpu(format!("mapping the readback buffer: {e}")))?;
        let out = {
            let view = buf.get_mapped_range(..).map_err(|e| Error::Gpu(format!("mapped range: {e}")))?;
            f(&view)
        };
        buf.unmap();
        Ok(out)
    }
}

/// Receives one segment's results (its index, partials, histogram words, watched state words);
/// false stops the run.
type SegmentResult<'a> = dyn FnMut(usize, &[f32], &[u32], &[f32]) -> Result<bool> + 'a;

impl GpuEngine {
    /// Run the segments of one chunk with the full or the speculative advance pipeline, handing
    /// each segment's partials and histogram words (the last word: the speculative failure
    /// flag), and after a record segment the words of `watch`, to `on` in order, two segments
    /// in flight; `on` returning false stops the submissions (the segments in flight finish,
    /// unread). The watched words are copied from the state into the staging buffer behind the
    /// histograms, by the segment's own submission.
    fn dispatch(
        &self,
        k: &KernelConsts,
        v: Variant,
        up: &Upload,
        segs: &[Params],
        watch: &Watch,
        on: &mut SegmentResult<'_>,
    ) -> Result<()> {
        let n_wg = segs.first().map_or(0, |p| (p.n_paths as usize).div_ceil(WG));
        let (pbytes, hbytes) = readback_bytes(k, n_wg, up.groups.len());
        let b = self.bufs.as_ref().expect("buffers were ensured");
        let pipe = &self.pipelines[&(*k, v)];
        let copies = watch.copies(k);
        let watch_words = watch.words(k.dim);
        self.scoped("optsde.advance", |s| {
            s.queue.write_buffer(&b.coef, 0, bytemuck::cast_slice(&up.coef));
            s.queue.write_buffer(&b.tcdf, 0, bytemuck::cast_slice(&up.tcdf));
            s.queue.write_buffer(&b.groups, 0, bytemuck::cast_slice(&up.groups));
            s.queue.write_buffer(&b.objective, 0, bytemuck::cast_slice(&up.objective));
            let mut pending: VecDeque<(usize, wgpu::SubmissionIndex)> = VecDeque::new();
            let mut go = true;
            let mut collect = |seg: usize, idx: wgpu::SubmissionIndex, read: bool| -> Result<bool> {
                s.read_staging(&b.staging[seg % 2], idx, |bytes| {
                    if !read {
                        return Ok(false);
                    }
                    // The mapped view need not be aligned for f32: copy once.
                    let words: Vec<u32> =
                        bytes.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect();
                    let (split, end) = ((pbytes / 4) as usize, ((pbytes + hbytes) / 4) as usize);
                    let part: &[f32] = bytemuck::cast_slice(&words[..split]);
                    let x: &[f32] =
                        if segs[seg].record == 1 { bytemuck::cast_slice(&words[end..end + watch_words]) } else { &[] };
                    on(seg, part, &words[split..end], x)
                })?
            };
            for (i, p) in segs.iter().enumerate() {
                if !go {
                    break;
                }
                s.queue.write_buffer(&b.params, 0, bytemuck::bytes_of(p));
                let mut enc =
                    s.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("optsde.advance") });
                enc.clear_buffer(&b.hist, 0, None);
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("optsde.advance"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&pipe.pipeline);
                    pass.set_bind_group(0, &b.bind_group, &[]);
                    pass.dispatch_workgroups(n_wg as u32, 1, 1);
                }
                let st = &b.staging[i % 2];
                enc.copy_buffer_to_buffer(&b.partials, 0, st, 0, pbytes);
                enc.copy_buffer_to_buffer(&b.hist, 0, st, pbytes, hbytes);
                if p.record == 1 {
                    for &(from, to, len) in &copies {
                        let at = pbytes + hbytes + 4 * to as u64;
                        enc.copy_buffer_to_buffer(&b.state, 4 * from as u64, st, at, 4 * len as u64);
                    }
                }
                pending.push_back((i, s.queue.submit([enc.finish()])));
                if pending.len() == 2 {
                    let (seg, idx) = pending.pop_front().expect("two pending");
                    go = collect(seg, idx, true)?;
                }
            }
            while let Some((seg, idx)) = pending.pop_front() {
                let more = collect(seg, idx, go)?;
                go = go && more;
            }
            Ok(())
        })
    }
}

impl Engine for GpuEngine {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    fn max_chunk(&self, dim: usize) -> u64 {
        let by_buffer =
            self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size) / (4 * 3 * dim as u64);
        let by_dispatch = u64::from(self.limits.max_compute_workgroups_per_dimension) * WG as u64;
        let cap = if self.software { MAX_SOFTWARE_CHUNK } else { MAX_GPU_CHUNK };
        let paths = by_buffer.min(by_dispatch).min(cap);
        (paths / WG as u64).max(1) * WG as u64
    }

    fn run_chunk(
        &mut self,
        k: &KernelConsts,
        up: &Upload,
        segs: &[Params],
        watch: &Watch,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        let Some(first) = segs.first() else { return Ok(()) };
        let n_wg = (first.n_paths as usize).div_ceil(WG);
        let v = self.variant(k, first, self.speculates(k, segs));
        self.ensure(k, v, n_wg, up.tcdf.len(), up.groups.len(), up.objective.len(), watch.words(k.dim))?;
        if v.spec {
            self.spec_tried += 1;
            // Keep the segments' results until the chunk is known to be exact; stop at the first
            // failed segment.
            let mut kept: Vec<(Vec<f32>, Vec<u32>, Vec<f32>)> = Vec::with_capacity(segs.len());
            let mut failed = false;
            self.dispatch(k, v, up, segs, watch, &mut |_, part, hist, x| {
                let (&flag, hist) = hist.split_last().expect("the flag word");
                if flag != 0 {
                    failed = true;
                    return Ok(false);
                }
                kept.push((part.to_vec(), hist.to_vec(), x.to_vec()));
                Ok(true)
            })?;
            if !failed {
                for (seg, (part, hist, x)) in kept.iter().enumerate() {
                    sink(seg, part, hist, x)?;
                }
                return Ok(());
            }
            self.spec_failed.insert(*k);
            self.spec_reruns += 1;
        }
        self.dispatch(k, Variant { spec: false, ..v }, up, segs, watch, &mut |seg, part, hist, x| {
            sink(seg, part, &hist[..hist.len() - 1], x)?;
            Ok(true)
        })
    }

    fn read_state(&mut self) -> Result<Vec<f32>> {
        use wgpu::BufferUsages as U;
        let b = self.bufs.as_ref().ok_or_else(|| Error::Gpu("read_state before any run".into()))?;
        let bytes = b.state.size();
        let staging = self.buffer("optsde.state_readback", bytes, U::MAP_READ | U::COPY_DST);
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("optsde.state_readback") });
        enc.copy_buffer_to_buffer(&b.state, 0, &staging, 0, bytes);
        let idx = self.queue.submit([enc.finish()]);
        self.read_staging(&staging, idx, |v| {
            v.chunks_exact(4).map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect()
        })
    }
}
