//! Test kernels that evaluate shared WGSL functions on host-given inputs, so the tests can
//! compare them with their CPU twins bit for bit.

use super::GpuEngine;
use super::pipeline::Pipeline;
use crate::error::{Error, Result};
use crate::layout::RngParams;
use crate::noise::TParams;
use crate::shader;

/// Uniform of `shaders/tdist_eval.wgsl` (struct `TdistParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct TdistParams {
    nu: f32,
    sqrt_nu: f32,
    two_over_nu: f32,
    tab: f32,
    n_z: u32,
    n_w: u32,
    pad0: u32,
    pad1: u32,
}

const _: () = assert!(size_of::<TdistParams>() == 32);

/// What [`GpuEngine::eval_tdist`] returns: (A, 1 − A²) per z, and one sample per word pair.
pub type TdistOutput = (Vec<(f32, f32)>, Vec<f32>);

/// Workgroup size of `tdist_eval`.
const TDIST_WG: u64 = 64;

impl GpuEngine {
    /// GPU twin of [`crate::noise::t_sign_moments`] at every z of `zs` (for `t`, `tab` and the
    /// concatenated tables `table`) and of [`crate::noise::student_t`] for every word pair of
    /// `words` (radius hi, radius lo, angle word; the fourth is unused).
    pub fn eval_tdist(
        &mut self,
        t: &TParams,
        tab: f32,
        table: &[f32],
        zs: &[f32],
        words: &[[u32; 4]],
    ) -> Result<TdistOutput> {
        use wgpu::BufferUsages as U;
        let n = zs.len().max(words.len()) as u64;
        let groups = n.div_ceil(TDIST_WG);
        if groups > u64::from(self.limits.max_compute_workgroups_per_dimension) {
            return Err(Error::Gpu(format!("eval_tdist: {n} inputs exceed one dispatch of {groups} workgroups")));
        }
        let pipe = self.compute_pipeline("optsde.tdist_eval", &shader::tdist_eval_source()?, "tdist_eval")?;
        let p = TdistParams {
            nu: t.nu,
            sqrt_nu: t.sqrt_nu,
            two_over_nu: t.two_over_nu,
            tab,
            n_z: zs.len() as u32,
            n_w: words.len() as u32,
            pad0: 0,
            pad1: 0,
        };
        let mbytes = (zs.len() * 8) as u64;
        let sbytes = (words.len() * 4) as u64;
        self.scoped("optsde.tdist_eval", |s| {
            let upload = |label: &str, data: &[u8]| {
                let b = s.buffer(label, data.len() as u64, U::STORAGE | U::COPY_DST);
                if !data.is_empty() {
                    s.queue.write_buffer(&b, 0, data);
                }
                b
            };
            let params = s.buffer("optsde.tdist_params", size_of::<TdistParams>() as u64, U::UNIFORM | U::COPY_DST);
            s.queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
            let tcdf = upload("optsde.tcdf", bytemuck::cast_slice(table));
            let zbuf = upload("optsde.tdist_z", bytemuck::cast_slice(zs));
            let wbuf = upload("optsde.tdist_words", bytemuck::cast_slice(words));
            let moments = s.buffer("optsde.tdist_moments", mbytes, U::STORAGE | U::COPY_SRC);
            let samples = s.buffer("optsde.tdist_samples", sbytes, U::STORAGE | U::COPY_SRC);
            let staging = s.buffer("optsde.staging", mbytes + sbytes, U::MAP_READ | U::COPY_DST);
            let buffers = [&params, &tcdf, &zbuf, &wbuf, &moments, &samples];
            let mut enc = s.dispatch_once("optsde.tdist_eval", &pipe, &buffers, groups.max(1) as u32);
            if mbytes > 0 {
                enc.copy_buffer_to_buffer(&moments, 0, &staging, 0, mbytes);
            }
            if sbytes > 0 {
                enc.copy_buffer_to_buffer(&samples, 0, &staging, mbytes, sbytes);
            }
            let idx = s.queue.submit([enc.finish()]);
            s.read_staging(&staging, idx, |b| {
                // The mapped view need not be aligned for f32: decode word by word.
                let f: Vec<f32> = b[..(mbytes + sbytes) as usize]
                    .chunks_exact(4)
                    .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let m = zs.len() * 2;
                (f[..m].chunks_exact(2).map(|c| (c[0], c[1])).collect(), f[m..].to_vec())
            })
        })
    }
}

impl GpuEngine {
    /// Raw words and normals of a (path × block) grid: GPU twin of `cpu::rng_words`.
    pub fn rng_words(&mut self, p: &RngParams) -> Result<(Vec<u32>, Vec<f32>)> {
        use wgpu::BufferUsages as U;
        let pipe = self.compute_pipeline("optsde.rng_words", &shader::rng_words_source()?, "rng_words")?;
        let n = (p.n_paths * p.n_blocks) as u64;
        let bytes = n * 16;
        self.scoped("optsde.rng_words", |s| {
            let params = s.buffer("optsde.rng_params", 32, U::UNIFORM | U::COPY_DST);
            let words = s.buffer("optsde.words", bytes, U::STORAGE | U::COPY_SRC);
            let normals = s.buffer("optsde.normals", bytes, U::STORAGE | U::COPY_SRC);
            let staging = s.buffer("optsde.staging", 2 * bytes, U::MAP_READ | U::COPY_DST);
            s.queue.write_buffer(&params, 0, bytemuck::bytes_of(p));
            let mut enc =
                s.dispatch_once("optsde.rng_words", &pipe, &[&params, &words, &normals], n.div_ceil(64) as u32);
            enc.copy_buffer_to_buffer(&words, 0, &staging, 0, bytes);
            enc.copy_buffer_to_buffer(&normals, 0, &staging, bytes, bytes);
            let idx = s.queue.submit([enc.finish()]);
            s.read_staging(&staging, idx, |b| {
                let b = b.to_vec();
                (
                    bytemuck::cast_slice(&b[..bytes as usize]).to_vec(),
                    bytemuck::cast_slice(&b[bytes as usize..]).to_vec(),
                )
            })
        })
    }
}

impl GpuEngine {
    /// An encoder holding one dispatch of `groups` workgroups of `pipe`, with `buffers` bound at
    /// 0, 1, … in order; the caller adds its copies and submits it.
    pub(super) fn dispatch_once(
        &self,
        label: &str,
        pipe: &Pipeline,
        buffers: &[&wgpu::Buffer],
        groups: u32,
    ) -> wgpu::CommandEncoder {
        let bg = self.bind_group(label, &pipe.layout, buffers);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(label), timestamp_writes: None });
            pass.set_pipeline(&pipe.pipeline);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
        enc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host uniform matches naga's layout of the WGSL struct (STYLE habit 4).
    #[test]
    fn tdist_params_match_naga_layout() {
        let module = shader::validate(&shader::tdist_eval_source().unwrap()).unwrap();
        let (span, members) = module
            .types
            .iter()
            .find_map(|(_, ty)| match &ty.inner {
                naga::TypeInner::Struct { members, span } if ty.name.as_deref() == Some("TdistParams") => Some((
                    *span,
                    members.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset)).collect::<Vec<_>>(),
                )),
                _ => None,
            })
            .expect("struct TdistParams in tdist_eval.wgsl");
        assert_eq!(span as usize, size_of::<TdistParams>(), "TdistParams size");
        let host = [
            ("nu", std::mem::offset_of!(TdistParams, nu)),
            ("sqrt_nu", std::mem::offset_of!(TdistParams, sqrt_nu)),
            ("two_over_nu", std::mem::offset_of!(TdistParams, two_over_nu)),
            ("tab", std::mem::offset_of!(TdistParams, tab)),
            ("n_z", std::mem::offset_of!(TdistParams, n_z)),
            ("n_w", std::mem::offset_of!(TdistParams, n_w)),
            ("pad0", std::mem::offset_of!(TdistParams, pad0)),
            ("pad1", std::mem::offset_of!(TdistParams, pad1)),
        ];
        assert_eq!(members.len(), host.len(), "TdistParams members: {members:?}");
        for ((name, off), (hname, hoff)) in members.iter().zip(host) {
            assert_eq!((name.as_str(), *off as usize), (hname, hoff), "TdistParams member");
        }
    }
}
