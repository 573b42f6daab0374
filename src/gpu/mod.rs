//! The GPU backend: wgpu context (adapter choice), one pipeline per kernel configuration,
//! chunk-sized buffers, and a two-slot staging ring so that segment s + 1 computes while the
//! host reads segment s back. Labels are `optsde.<kernel>`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::kernel::{KernelConsts, WG};
use crate::layout::{Coef, Group, Params, RngParams, Upload, partial_words};
use crate::plan::{BackendInfo, Engine, Sink};
use crate::shader::{self, Variant};

mod eval;

/// Largest chunk on the GPU (paths); the dispatch width stays below 65 535 workgroups.
const MAX_GPU_CHUNK: u64 = 1 << 22;

/// Largest chunk on a software adapter (paths). Each dispatch has fixed costs per path: its state
/// loaded and stored, its first random block, and the workgroup reductions of the partials, whose
/// barriers llvmpipe runs as coroutine switches (37 tree reductions at d = 16). The per-dispatch
/// work cap (src/plan.rs) gives a chunk of n paths at dimension d 2^30 / (n d) steps per dispatch:
/// 64 at 2^20 paths and d = 16, where those costs took half of adam-sde's time; at 2^16 paths (256
/// workgroups, ample for a CPU's cores) d = 16 runs the 1024 steps an invocation may run per
/// dispatch. benches/NOTES.md, "Packed paths": adam-sde d = 16 at 2^20 paths 2.6e8 -> 4.9e8.
const MAX_SOFTWARE_CHUNK: u64 = 1 << 16;

/// The process's one wgpu instance (and so one Vulkan instance), shared by every engine.
/// Engines used to make their own: on an H100 (NVIDIA 580.159.04) two engines created and
/// dropped on different threads at once crashed the process now and then (a segmentation fault
/// in the driver, never on lavapipe); one long-lived instance is also how Vulkan expects to
/// be used.
fn instance() -> &'static wgpu::Instance {
    static INSTANCE: std::sync::OnceLock<wgpu::Instance> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::PRIMARY;
        desc.flags = wgpu::InstanceFlags::from_build_config();
        if std::env::var_os("OPTSDE_GPU_VALIDATION").is_some() {
            desc.flags |= wgpu::InstanceFlags::VALIDATION;
        }
        wgpu::Instance::new(desc.with_env())
    })
}

/// One line per adapter wgpu can see.
pub fn adapters() -> Vec<String> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} — {:?}, {:?}, driver {} {}", i.name, i.backend, i.device_type, i.driver, i.driver_info)
        })
        .collect()
}

struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

struct Buffers {
    /// The kernel and its full (not speculative) variant.
    key: (KernelConsts, Variant),
    n_wg: usize,
    params: wgpu::Buffer,
    coef: wgpu::Buffer,
    state: wgpu::Buffer,
    partials: wgpu::Buffer,
    hist: wgpu::Buffer,
    tcdf: wgpu::Buffer,
    /// Words the `tcdf` buffer holds.
    tcdf_words: usize,
    groups: wgpu::Buffer,
    /// Parameter groups the coef, groups and hist buffers hold.
    n_groups: usize,
    staging: [wgpu::Buffer; 2],
    bind_group: wgpu::BindGroup,
}

/// The environment variable through which the command line sets [`VariantSettings`].
pub const VARIANT_VAR: &str = "OPTSDE_GPU_VARIANT";

/// Kernel variants forced by hand, for measuring them on an adapter (`optsde bench` with
/// `OPTSDE_GPU_VARIANT=pack=2,checks=off`, say). Each field is `None` where the setting leaves
/// the engine's own choice; `Some(None)` is an explicit `auto`. Every variant computes the same
/// values (tests compare them), so the setting changes speed alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariantSettings {
    /// `pack=auto|1|2|4|8`: paths per invocation of the d = 1 loop ([`GpuEngine::set_pack_width`]).
    pub pack: Option<Option<usize>>,
    /// `speculate=auto|on|off` ([`GpuEngine::set_speculation`]).
    pub speculate: Option<Option<bool>>,
    /// `private-hist=auto|on|off` ([`GpuEngine::set_private_hist`]).
    pub private_hist: Option<Option<bool>>,
    /// `coef-regs=auto|on|off` ([`GpuEngine::set_coef_registers`]).
    pub coef_regs: Option<Option<bool>>,
    /// `checks=auto|on|off` ([`GpuEngine::set_runtime_checks`]).
    pub checks: Option<Option<bool>>,
}

impl VariantSettings {
    /// Parse comma-separated `key=value` pairs (an empty string sets nothing). An unknown key or
    /// value is an error that names it and the valid ones.
    pub fn parse(spec: &str) -> Result<Self> {
        const KEYS: &str = "pack, speculate, private-hist, coef-regs, checks";
        let mut v = VariantSettings::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) =
                item.split_once('=').map(|(k, v)| (k.trim(), v.trim())).ok_or_else(|| Error::Invalid {
                    field: VARIANT_VAR.into(),
                    value: format!("\"{item}\""),
                    expected: format!("comma-separated key=value pairs; keys: {KEYS}"),
                })?;
            let bad = |expected: &str| Error::Invalid {
                field: format!("{VARIANT_VAR} {key}"),
                value: format!("\"{value}\""),
                expected: expected.into(),
            };
            let switch = || -> Result<Option<bool>> {
                match value {
                    "on" => Ok(Some(true)),
                    "off" => Ok(Some(false)),
                    "auto" => Ok(None),
                    _ => Err(bad("auto, on or off")),
                }
            };
            match key {
                "pack" => {
                    v.pack = Some(match value {
                        "auto" => None,
                        _ => match value.parse::<usize>() {
                            Ok(w) if shader::PACK_WIDTHS.contains(&w) => Some(w),
                            _ => {
                                return Err(bad(&format!(
                                    "auto or paths per invocation, one of {:?}",
                                    shader::PACK_WIDTHS
                                )));
                            }
                        },
                    })
                }
                "speculate" => v.speculate = Some(switch()?),
                "private-hist" => v.private_hist = Some(switch()?),
                "coef-regs" => v.coef_regs = Some(switch()?),
                "checks" => v.checks = Some(switch()?),
                _ => {
                    return Err(Error::UnknownName {
                        field: format!("{VARIANT_VAR} key"),
                        value: key.into(),
                        valid: KEYS.into(),
                    });
                }
            }
        }
        Ok(v)
    }
}

/// The wgpu engine.
pub struct GpuEngine {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: BackendInfo,
    limits: wgpu::Limits,
    software: bool,
    /// Advance pipelines by kernel and variant.
    pipelines: HashMap<(KernelConsts, Variant), Pipeline>,
    /// Where the advance kernel keeps the coefficients: `None` chooses by adapter and d
    /// ([`shader::coef_regs`]); tests force either variant.
    coef_regs: Option<bool>,
    /// Paths per invocation that the d = 1 loop is asked to pack: `None` chooses by adapter
    /// ([`shader::default_pack`], then [`shader::pack_for`]); tests and `OPTSDE_GPU_VARIANT`
    /// force a width.
    pack: Option<usize>,
    /// Whether chunks are tried with the speculative kernel first: `None` on software adapters
    /// wherever it applies ([`shader::speculable`]); tests and `OPTSDE_GPU_VARIANT` force it.
    speculate: Option<bool>,
    /// Whether invocations count the histogram in private memory: `None` chooses by kernel and
    /// packing ([`shader::private_hist_for`]); tests force either variant.
    private_hist: Option<bool>,
    /// Whether wgpu compiles the advance kernels with its runtime checks: `None` chooses by
    /// kernel and adapter ([`shader::runtime_checks`]); tests and `OPTSDE_GPU_VARIANT` force it.
    checks: Option<bool>,
    /// Kernels whose speculative run failed once: this engine runs them in full since.
    spec_failed: HashSet<KernelConsts>,
    /// Chunks tried speculatively, and those run again in full after their try failed.
    spec_tried: u64,
    spec_reruns: u64,
    bufs: Option<Buffers>,
}

impl GpuEngine {
    /// Open the first high-performance adapter of a primary backend (Vulkan, Metal, DX12).
    pub fn new() -> Result<Self> {
        let inst = instance();
        let adapter = pollster::block_on(inst.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        }))
        .map_err(|e| Error::NoAdapter { detail: e.to_string() })?;
        let ai = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("optsde.device"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("cannot open device on {}: {e}", ai.name)))?;
        Ok(GpuEngine {
            device,
            queue,
            info: BackendInfo {
                kind: "gpu".into(),
                adapter: ai.name.clone(),
                driver: format!("{} {}", ai.driver, ai.driver_info).trim().to_string(),
                api: format!("{:?}", ai.backend),
            },
            limits,
            software: ai.device_type == wgpu::DeviceType::Cpu,
            pipelines: HashMap::new(),
            coef_regs: None,
            pack: None,
            speculate: None,
            private_hist: None,
            checks: None,
            spec_failed: HashSet::new(),
            spec_tried: 0,
            spec_reruns: 0,
            bufs: None,
        })
    }

    /// Force the advance kernel to keep the per-coordinate coefficients in registers (`Some(true)`)
    /// or read them from their buffer (`Some(false)`); `None` restores the choice by adapter and
    /// d. Both variants compute the same values; tests compare each with the CPU twin.
    pub fn set_coef_registers(&mut self, regs: Option<bool>) {
        self.coef_regs = regs;
    }

    /// Pack `width` paths per invocation (one of [`shader::PACK_WIDTHS`]) wherever the kernel
    /// allows it, or as the adapter suggests (`None`, [`shader::default_pack`]). Every width computes the same per-path
    /// values; tests compare each with the CPU twin.
    pub fn set_pack_width(&mut self, width: Option<usize>) -> Result<()> {
        if let Some(w) = width.filter(|w| !shader::PACK_WIDTHS.contains(w)) {
            return Err(Error::Invalid {
                field: "pack".into(),
                value: w.to_string(),
                expected: format!("paths per invocation, one of {:?}", shader::PACK_WIDTHS),
            });
        }
        self.pack = width;
        Ok(())
    }

    /// Compile the advance kernels with wgpu's runtime checks (`Some(true)`), without them
    /// (`Some(false)`: no clamps on array and buffer indices and no counters that bound every
    /// loop, `wgpu::ShaderRuntimeChecks`), or as [`shader::runtime_checks`] chooses by kernel and
    /// adapter (`None`). Both give the same per-path states and records; tests compare them.
    pub fn set_runtime_checks(&mut self, on: Option<bool>) {
        self.checks = on;
    }

    /// Try speculative runs where they apply ([`shader::speculable`]) on software adapters
    /// (`None`), on any adapter (`Some(true)`), or never (`Some(false)`). Both give the same
    /// results; tests compare them.
    pub fn set_speculation(&mut self, on: Option<bool>) {
        self.speculate = on;
        self.spec_failed.clear();
    }

    /// Count the stationary histogram per invocation wherever it fits (`Some(true)`), never
    /// (`Some(false)`), or where [`shader::private_hist_for`] says (`None`). Both give the same
    /// counts; tests compare them.
    pub fn set_private_hist(&mut self, on: Option<bool>) {
        self.private_hist = on;
    }

    /// Apply a variant setting such as `pack=2,checks=off` (the `OPTSDE_GPU_VARIANT` variable of
    /// the command line, [`VariantSettings::parse`]) and name it in [`Engine::info`]'s driver.
    pub fn apply_variant(&mut self, spec: &str) -> Result<()> {
        self.apply_settings(&VariantSettings::parse(spec)?, spec)
    }

    /// Apply settings already parsed from `spec` (named in [`Engine::info`]'s driver).
    pub fn apply_settings(&mut self, v: &VariantSettings, spec: &str) -> Result<()> {
        if let Some(w) = v.pack {
            self.set_pack_width(w)?;
        }
        if let Some(on) = v.speculate {
            self.set_speculation(on);
        }
        if let Some(on) = v.private_hist {
            self.set_private_hist(on);
        }
        if let Some(on) = v.coef_regs {
            self.set_coef_registers(on);
        }
        if let Some(on) = v.checks {
            self.set_runtime_checks(on);
        }
        if !spec.trim().is_empty() {
            self.info.driver = format!("{} [{VARIANT_VAR}={}]", self.info.driver, spec.trim());
        }
        Ok(())
    }

    /// Chunks tried with the speculative kernel so far, and those of them that ran again in full
    /// because the try met a path it could not advance exactly.
    pub fn speculation_counts(&self) -> (u64, u64) {
        (self.spec_tried, self.spec_reruns)
    }

    /// Whether this chunk is tried speculatively first: the kernel allows it, it starts from x0
    /// (its first segment initialises the state, so a failed try is simply run again) and no
    /// speculative run of this kernel has failed on this engine.
    fn speculates(&self, k: &KernelConsts, segs: &[Params]) -> bool {
        self.speculate.unwrap_or(self.software)
            && shader::speculable(k)
            && segs.first().is_some_and(|p| p.init == 1)
            && !self.spec_failed.contains(k)
    }

    /// The variant of kernel `k` for a chunk whose first segment is `p` (speculative: see
    /// [`Self::speculates`]).
    fn variant(&self, k: &KernelConsts, p: &Params, spec: bool) -> Variant {
        let pack = shader::pack_for(k, self.pack.unwrap_or_else(|| shader::default_pack(self.software)), p);
        Variant {
            coef_regs: self.coef_regs.unwrap_or_else(|| shader::coef_regs(k, self.software)),
            pack,
            spec,
            private_hist: self
                .private_hist
                .map_or_else(|| shader::private_hist_for(k, pack), |on| on && shader::private_hist_fits(k)),
            checks: self.checks.unwrap_or_else(|| shader::runtime_checks(k, self.software)),
        }
    }

    /// Whether the adapter is a software rasteriser running on the CPU (llvmpipe, WARP, ...).
    pub fn is_software(&self) -> bool {
        self.software
    }

    fn scoped<T>(&self, what: &str, f: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f(self);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("{what}: {e}")));
        }
        out
    }

    fn compute_pipeline(&self, label: &str, src: &str, entry: &str) -> Result<Pipeline> {
        self.compute_pipeline_with(label, src, entry, None, true)
    }

    /// A pipeline with an explicit bind-group layout (`storage[b]` = Some(read_only) for each
    /// storage binding b, binding 0 the uniform), so that bindings a configuration of the
    /// kernel does not touch still belong to the layout; `checks`: with wgpu's runtime checks
    /// (see [`Self::set_runtime_checks`]).
    fn compute_pipeline_with(
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
                // SAFETY: the kernels are composed by this crate from its own fixed sources
                // (shaders/*.wgsl, src/shader.rs): every array and buffer index is in range by
                // construction and every loop is bounded by a step or coordinate count, which is
                // what wgpu's checks would otherwise enforce (see `set_runtime_checks`).
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

    fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage,
            mapped_at_creation: false,
        })
    }

    /// The advance pipelines of kernel `k` in variant `v` (and its full variant if `v` is
    /// speculative) and buffers for `n_wg` workgroups; every variant's bind group layout is the
    /// same (explicit), so both use one bind group.
    fn ensure(&mut self, k: &KernelConsts, v: Variant, n_wg: usize, tcdf_words: usize, n_groups: usize) -> Result<()> {
        let full = Variant { spec: false, ..v };
        let key = (*k, full);
        for variant in [full, v] {
            if !self.pipelines.contains_key(&(*k, variant)) {
                // Bindings 1..6: coef (read), state, partials, hist (read-write), tcdf, groups (read).
                let storage = [true, false, false, false, true, true];
                let src = shader::advance_source(k, &variant)?;
                let p =
                    self.compute_pipeline_with("optsde.advance", &src, "advance", Some(&storage), variant.checks)?;
                self.pipelines.insert((*k, variant), p);
            }
        }
        if self
            .bufs
            .as_ref()
            .is_some_and(|b| b.key == key && b.n_wg >= n_wg && b.tcdf_words >= tcdf_words && b.n_groups == n_groups)
        {
            return Ok(());
        }
        use wgpu::BufferUsages as U;
        let (pbytes, hbytes) = readback_bytes(k, n_wg, n_groups);
        let sbytes = (n_wg * k.slots() * k.dim * WG * 4) as u64;
        if sbytes > self.limits.max_storage_buffer_binding_size || sbytes > self.limits.max_buffer_size {
            return Err(Error::Gpu(format!("state of {sbytes} bytes exceeds the adapter's buffer limits")));
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
        let staging = [0, 1].map(|_| self.buffer("optsde.staging", pbytes + hbytes, U::MAP_READ | U::COPY_DST));
        let layout = &self.pipelines[&key].layout;
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("optsde.advance"),
            layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: coef.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: state.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: partials.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: hist.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 5, resource: tcdf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 6, resource: groups.as_entire_binding() },
            ],
        });
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
            staging,
            bind_group,
        });
        Ok(())
    }

    /// Map a staging buffer after its submission completes and hand the words to `f`.
    fn read_staging<T>(&self, buf: &wgpu::Buffer, idx: wgpu::SubmissionIndex, f: impl FnOnce(&[u8]) -> T) -> Result<T> {
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
            let bg = s.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("optsde.rng_words"),
                layout: &pipe.layout,
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: words.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: normals.as_entire_binding() },
                ],
            });
            let mut enc =
                s.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("optsde.rng_words") });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("optsde.rng_words"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&pipe.pipeline);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(n.div_ceil(64) as u32, 1, 1);
            }
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

/// Bytes of the per-workgroup partials of `n_wg` workgroups, and of the histograms of `n_groups`
/// parameter groups followed by one word: the speculative kernel's failure flag (the last word
/// of the histogram buffer, shaders/advance.wgsl).
fn readback_bytes(k: &KernelConsts, n_wg: usize, n_groups: usize) -> (u64, u64) {
    ((n_wg * partial_words(k.dim) * 4) as u64, (k.hist_words() * n_groups * 4 + 4) as u64)
}

/// Receives one segment's results (its index, partials, histogram words); false stops the run.
type SegmentResult<'a> = dyn FnMut(usize, &[f32], &[u32]) -> Result<bool> + 'a;

impl GpuEngine {
    /// Run the segments of one chunk with the full or the speculative advance pipeline, handing
    /// each segment's partials and histogram words (the last word: the speculative failure
    /// flag) to `on` in order, two segments in flight; `on` returning false stops the
    /// submissions (the segments in flight finish, unread).
    fn dispatch(
        &self,
        k: &KernelConsts,
        v: Variant,
        up: &Upload,
        segs: &[Params],
        on: &mut SegmentResult<'_>,
    ) -> Result<()> {
        let n_wg = segs.first().map_or(0, |p| (p.n_paths as usize).div_ceil(WG));
        let (pbytes, hbytes) = readback_bytes(k, n_wg, up.groups.len());
        let b = self.bufs.as_ref().expect("buffers were ensured");
        let pipe = &self.pipelines[&(*k, v)];
        self.scoped("optsde.advance", |s| {
            s.queue.write_buffer(&b.coef, 0, bytemuck::cast_slice(&up.coef));
            s.queue.write_buffer(&b.tcdf, 0, bytemuck::cast_slice(&up.tcdf));
            s.queue.write_buffer(&b.groups, 0, bytemuck::cast_slice(&up.groups));
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
                    let split = (pbytes / 4) as usize;
                    let part: &[f32] = bytemuck::cast_slice(&words[..split]);
                    on(seg, part, &words[split..])
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

    fn run_chunk(&mut self, k: &KernelConsts, up: &Upload, segs: &[Params], sink: &mut Sink<'_>) -> Result<()> {
        let Some(first) = segs.first() else { return Ok(()) };
        let n_wg = (first.n_paths as usize).div_ceil(WG);
        let v = self.variant(k, first, self.speculates(k, segs));
        self.ensure(k, v, n_wg, up.tcdf.len(), up.groups.len())?;
        if v.spec {
            self.spec_tried += 1;
            // Keep the segments' results until the chunk is known to be exact; stop at the first
            // failed segment.
            let mut kept: Vec<(Vec<f32>, Vec<u32>)> = Vec::with_capacity(segs.len());
            let mut failed = false;
            self.dispatch(k, v, up, segs, &mut |_, part, hist| {
                let (&flag, hist) = hist.split_last().expect("the flag word");
                if flag != 0 {
                    failed = true;
                    return Ok(false);
                }
                kept.push((part.to_vec(), hist.to_vec()));
                Ok(true)
            })?;
            if !failed {
                for (seg, (part, hist)) in kept.iter().enumerate() {
                    sink(seg, part, hist)?;
                }
                return Ok(());
            }
            self.spec_failed.insert(*k);
            self.spec_reruns += 1;
        }
        self.dispatch(k, Variant { spec: false, ..v }, up, segs, &mut |seg, part, hist| {
            sink(seg, part, &hist[..hist.len() - 1])?;
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
