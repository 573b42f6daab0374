//! The process's wgpu instance, the adapters it sees, and the device an engine opens.

use std::collections::{HashMap, HashSet};

use super::GpuEngine;
use crate::error::{Error, Result};
use crate::plan::BackendInfo;

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
        if crate::env::gpu_validation() {
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

    /// Whether the adapter is a software rasteriser running on the CPU (llvmpipe, WARP, ...).
    pub fn is_software(&self) -> bool {
        self.software
    }
}
