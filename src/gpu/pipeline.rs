//! Pipelines (one per kernel configuration and variant, validated by naga first) and the
//! buffers of a chunk, with the engine's error scope around each.

use super::GpuEngine;
use crate::error::{Error, Result};
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Coef, Group, Params, PartialLayout};
use crate::shader::{self, Variant};

pub(super) struct Pipeline {
    pub(super) pipeline: wgpu::ComputePipeline,
    pub(super) layout: wgpu::BindGroupLayout,
}

pub(super) struct Buffers {
    /// The kernel and its full (not speculative) variant.
    pub(super) key: (KernelConsts, Variant),
    pub(super) n_wg: usize,
    pub(super) params: wgpu::Buffer,
    pub(super) coef: wgpu::Buffer,
    pub(super) state: wgpu::Buffer,
    pub(super) partials: wgpu::Buffer,
    pub(super) hist: wgpu::Buffer,
    pub(super) tcdf: wgpu::Buffer,
    /// Words the `tcdf` buffer holds.
    pub(super) tcdf_words: usize,
    pub(super) groups: wgpu::Buffer,
    /// Parameter groups the coef, groups and hist buffers hold.
    pub(super) n_groups: usize,
    pub(super) objective: wgpu::Buffer,
    /// Words the `objective` buffer holds.
    pub(super) objective_words: usize,
    /// Watched state words (`crate::trajectory::Watch`) the staging buffers hold behind the
    /// partials and histograms.
    pub(super) watch_words: usize,
    pub(super) staging: [wgpu::Buffer; 2],
    pub(super) bind_group: wgpu::BindGroup,
}

/// Bytes of the per-workgroup partials of `n_wg` workgroups, and of the histograms of `n_groups`
/// parameter groups followed by one word: the speculative kernel's failure flag (the last word
/// of the histogram buffer, shaders/advance.wgsl).
pub(super) fn readback_bytes(k: &KernelConsts, n_wg: usize, n_groups: usize) -> (u64, u64) {
    ((n_wg * PartialLayout::of(k).words() * 4) as u64, (k.hist_words() * n_groups * 4 + 4) as u64)
}

impl GpuEngine {
    pub(super) fn scoped<T>(&self, what: &str, f: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f(self);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("{what}: {e}")));
        }
        out
    }

    pub(super) fn compute_pipeline(&self, label: &str, src: &str, entry: &str) -> Result<Pipeline> {
        self.compute_pipeline_with(label, src, entry, None, true)
    }

    /// A pipeline with an explicit bind-group layout (`storage[b]` = Some(read_only) for each
    /// storage binding b, binding 0 the uniform), so that bindings a configuration of the
    /// kernel does not touch still belong to the layout; `checks`: with wgpu's runtime checks
    /// (see [`Self::set_runtime_checks`]).
    pub(super) fn compute_pipeline_with(
        &self,
        label: &str,
        src: &str,
        entry: &str,
        storage: Option<&[bool]>,
        checks: bool,
    ) -> Result<Pipeline> {
        shader::validate(src)?;
        self.scoped(label, |s| {
            let desc =
                wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(src.into()) };
            let module = if checks {
                s.device.create_shader_module(desc)
            } else {
                // SAFETY: what wgpu's checks would enforce holds by construction of this crate's
                // kernels (in-range indices, bounded loops; `crate::shader::runtime_checks`).
                unsafe { s.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
            };
            let explicit = storage.map(|ro| {
                let buffer = |ty| wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None };
                let mut entries = vec![wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: buffer(wgpu::BufferBindingType::Uniform),
                    count: None,
                }];
                for (b, &read_only) in ro.iter().enumerate() {
                    entries.push(wgpu::BindGroupLayoutEntry {
                        binding: b as u32 + 1,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: buffer(wgpu::BufferBindingType::Storage { read_only }),
                        count: None,
                    });
                }
                let bgl = s.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(label),
                    entries: &entries,
                });
                let pl = s.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some(label),
                    bind_group_layouts: &[Some(&bgl)],
                    immediate_size: 0,
                });
                (bgl, pl)
            });
            let pipeline = s.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: explicit.as_ref().map(|(_, pl)| pl),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
            let layout = match explicit {
                Some((bgl, _)) => bgl,
                None => pipeline.get_bind_group_layout(0),
            };
            Ok(Pipeline { pipeline, layout })
        })
    }

    /// A bind group of `buffers`, bound whole at bindings 0, 1, … in order.
    pub(super) fn bind_group(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(label), layout, entries: &entries })
    }

    pub(super) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage,
            mapped_at_creation: false,
        })
    }

    /// The advance pipelines of kernel `k` in variant `v` (and its full variant if `v` is
    /// speculative) and buffers for `n_wg` workgroups, with room for `watch_words` watched state
    /// words in the staging buffers; every variant's bind group layout is the same (explicit), so
    /// both use one bind group.
    pub(super) fn ensure(
        &mut self,
        k: &KernelConsts,
        v: Variant,
        n_wg: usize,
        tcdf_words: usize,
        n_groups: usize,
        objective_words: usize,
        watch_words: usize,
    ) -> Result<()> {
        let full = Variant { spec: false, ..v };
        let key = (*k, full);
        for variant in [full, v] {
            if !self.pipelines.contains_key(&(*k, variant)) {
                // Bindings 1..7: coef (read), state, partials, hist (read-write), tcdf, groups,
                // objective (read).
                let storage = [true, false, false, false, true, true, true];
                let src = shader::advance_source(k, &variant)?;
                let p =
                    self.compute_pipeline_with("optsde.advance", &src, "advance", Some(&storage), variant.checks)?;
                self.pipelines.insert((*k, variant), p);
            }
        }
        if self.bufs.as_ref().is_some_and(|b| {
            b.key == key
                && b.n_wg >= n_wg
                && b.tcdf_words >= tcdf_words
                && b.n_groups == n_groups
                && b.objective_words >= objective_words
                && b.watch_words >= watch_words
        }) {
            return Ok(());
        }
        use wgpu::BufferUsages as U;
        let (pbytes, hbytes) = readback_bytes(k, n_wg, n_groups);
        let sbytes = (n_wg * k.slots() * k.dim * WG * 4) as u64;
        if sbytes > self.limits.max_storage_buffer_binding_size || sbytes > self.limits.max_buffer_size {
            return Err(Error::Gpu(format!("state of {sbytes} bytes exceeds the adapter's buffer limits")));
        }
        // Dense matrices (a dense Hessian, a rotated regression's K and data factor) of every
        // sweep point in one chunk.
        let obytes = (objective_words * 4) as u64;
        if obytes > self.limits.max_storage_buffer_binding_size || obytes > self.limits.max_buffer_size {
            return Err(Error::Gpu(format!(
                "the objective's words of {n_groups} parameter groups ({obytes} bytes: d x d matrices at d = {}) \
                 exceed the adapter's buffer limit of {} bytes; run fewer sweep points per file, or the cpu backend",
                k.dim,
                self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size)
            )));
        }
        let params = self.buffer("optsde.params", std::mem::size_of::<Params>() as u64, U::UNIFORM | U::COPY_DST);
        let coef = self.buffer(
            "optsde.coef",
            (n_groups * k.dim * std::mem::size_of::<Coef>()) as u64,
            U::STORAGE | U::COPY_DST,
        );
        let groups =
            self.buffer("optsde.groups", (n_groups * std::mem::size_of::<Group>()) as u64, U::STORAGE | U::COPY_DST);
        let state = self.buffer("optsde.state", sbytes, U::STORAGE | U::COPY_SRC);
        let partials = self.buffer("optsde.partials", pbytes, U::STORAGE | U::COPY_SRC);
        let hist = self.buffer("optsde.hist", hbytes, U::STORAGE | U::COPY_SRC | U::COPY_DST);
        let tcdf = self.buffer("optsde.tcdf", (tcdf_words * 4) as u64, U::STORAGE | U::COPY_DST);
        let objective = self.buffer("optsde.objective", (objective_words * 4) as u64, U::STORAGE | U::COPY_DST);
        let staging_bytes = pbytes + hbytes + 4 * watch_words as u64;
        let staging = [0, 1].map(|_| self.buffer("optsde.staging", staging_bytes, U::MAP_READ | U::COPY_DST));
        let layout = &self.pipelines[&key].layout;
        let bind_group = self.bind_group(
            "optsde.advance",
            layout,
            &[&params, &coef, &state, &partials, &hist, &tcdf, &groups, &objective],
        );
        self.bufs = Some(Buffers {
            key,
            n_wg,
            params,
            coef,
            state,
            partials,
            hist,
            tcdf,
            tcdf_words,
            groups,
            n_groups,
            objective,
            objective_words,
            watch_words,
            staging,
            bind_group,
        });
        Ok(())
    }
}
