//! The `formula_eval` test kernel: a compiled formula's loss, gradient and HVP at host-given
//! points on the GPU, so that tests can compare them with the CPU's lane interpreter bit for
//! bit (tests/it/formula.rs).

use super::GpuEngine;
use crate::error::{Error, Result};
use crate::objective::formula::Formula;
use crate::shader;

/// Workgroup size of `formula_eval`.
const FORMULA_WG: u64 = 64;

/// What [`GpuEngine::eval_formula`] returns for each point.
#[derive(Clone, Debug, PartialEq)]
pub struct FormulaValues {
    pub loss: f32,
    pub gradient: Vec<f32>,
    pub hvp: Vec<f32>,
}

impl GpuEngine {
    /// `formula`'s loss, gradient and H·v at each (x, v) of `points` (each of length d), with
    /// parameter words `params` ([`Formula::pack_params`]).
    pub fn eval_formula(
        &mut self,
        formula: &Formula,
        params: &[f32],
        points: &[(Vec<f32>, Vec<f32>)],
    ) -> Result<Vec<FormulaValues>> {
        let d = formula.dim();
        let n = points.len();
        let groups = (n as u64).div_ceil(FORMULA_WG);
        if groups > u64::from(self.limits.max_compute_workgroups_per_dimension) {
            return Err(Error::Gpu(format!("eval_formula: {n} points exceed one dispatch")));
        }
        if points.iter().any(|(x, v)| x.len() != d || v.len() != d) || params.len() != formula.param_words() {
            return Err(Error::Gpu(format!(
                "eval_formula: points need {d} coordinates and {} parameter words",
                formula.param_words()
            )));
        }
        self.eval_formula_wgsl(d, &formula.wgsl(), params, points)
    }

    /// [`Self::eval_formula`] for any WGSL `functions` with the signatures of
    /// [`Formula::wgsl`]'s, for dimension `d` (tests probe intermediate values with it).
    pub fn eval_formula_wgsl(
        &mut self,
        d: usize,
        functions: &str,
        params: &[f32],
        points: &[(Vec<f32>, Vec<f32>)],
    ) -> Result<Vec<FormulaValues>> {
        use wgpu::BufferUsages as U;
        let n = points.len();
        let groups = (n as u64).div_ceil(FORMULA_WG);
        if groups > u64::from(self.limits.max_compute_workgroups_per_dimension) {
            return Err(Error::Gpu(format!("eval_formula: {n} points exceed one dispatch")));
        }
        if points.iter().any(|(x, v)| x.len() != d || v.len() != d) {
            return Err(Error::Gpu(format!("eval_formula: points need {d} coordinates")));
        }
        let src = shader::formula_eval_source(d, functions)?;
        // An explicit layout: a formula without parameters leaves `prm` unused.
        let pipe =
            self.compute_pipeline_with("optsde.formula_eval", &src, "formula_eval", Some(&[true, true, false]), true)?;
        let mut flat: Vec<f32> = points.iter().flat_map(|(x, _)| x.iter().copied()).collect();
        flat.extend(points.iter().flat_map(|(_, v)| v.iter().copied()));
        let stride = 1 + 2 * d;
        let obytes = (n * stride * 4) as u64;
        // Bindings may not be empty: pad the parameter words to one.
        let prm: Vec<f32> = if params.is_empty() { vec![0.0] } else { params.to_vec() };
        self.scoped("optsde.formula_eval", |s| {
            let upload = |label: &str, data: &[u8]| {
                let b = s.buffer(label, data.len() as u64, U::STORAGE | U::COPY_DST);
                if !data.is_empty() {
                    s.queue.write_buffer(&b, 0, data);
                }
                b
            };
            let uni = s.buffer("optsde.formula_eval_params", 16, U::UNIFORM | U::COPY_DST);
            s.queue.write_buffer(&uni, 0, bytemuck::cast_slice(&[n as u32, 0, 0, 0]));
            let pbuf = upload("optsde.formula_params", bytemuck::cast_slice(&prm));
            let xbuf = upload("optsde.formula_points", bytemuck::cast_slice(&flat));
            let out = s.buffer("optsde.formula_out", obytes, U::STORAGE | U::COPY_SRC);
            let staging = s.buffer("optsde.staging", obytes, U::MAP_READ | U::COPY_DST);
            let mut enc =
                s.dispatch_once("optsde.formula_eval", &pipe, &[&uni, &pbuf, &xbuf, &out], groups.max(1) as u32);
            if obytes > 0 {
                enc.copy_buffer_to_buffer(&out, 0, &staging, 0, obytes);
            }
            let idx = s.queue.submit([enc.finish()]);
            s.read_staging(&staging, idx, |b| {
                let f: Vec<f32> = b[..obytes as usize]
                    .chunks_exact(4)
                    .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                f.chunks_exact(stride)
                    .map(|c| FormulaValues { loss: c[0], gradient: c[1..1 + d].to_vec(), hvp: c[1 + d..].to_vec() })
                    .collect()
            })
        })
    }
}
