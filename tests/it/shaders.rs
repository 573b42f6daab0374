//! Shader composition and layout checks that need no GPU (STYLE habits 4 and 5): every composed
//! kernel validates with naga, and the host structs match naga's layout of the WGSL structs.

use optsde::kernel::{Kernel, KernelConsts};
use optsde::layout::{Coef, Params, RngParams};
use optsde::objective::Stage;
use optsde::shader::{self, Variant};
use optsde::spec::ModelKind;

/// Kernel constants for a model with defaults for the other fields.
fn consts(model: ModelKind, kernel: Kernel, dim: usize, bins: u32) -> KernelConsts {
    let draws = match kernel {
        Kernel::Dsgd | Kernel::Dsignsgd | Kernel::Dcsgd => 3,
        Kernel::RandkSde => 2,
        _ => 1,
    };
    KernelConsts {
        model,
        kernel,
        dim,
        bins,
        draws,
        comp: 0,
        tnoise: false,
        tlabel: false,
        tcdf: false,
        objective: Stage::Diagonal,
        cross: false,
        pairs: Default::default(),
        schedule: 0,
    }
}

/// The FAST4 loop's shapes (shaders/advance/fast4.wgsl): four coordinates per block written out
/// (d = 4, 16) or looped (d = 256: more than 64 variates); four agents per block written out
/// (N = 4, 8) or looped (d = 64, N = 8).
fn fast4_shapes() -> Vec<KernelConsts> {
    [
        (ModelKind::SignsgdSde, 4, 1),
        (ModelKind::AdamSde, 16, 1),
        (ModelKind::SignsgdSde, 256, 1),
        (ModelKind::Dsignsgd, 16, 4),
        (ModelKind::Dsgd, 3, 8),
        (ModelKind::Dsignsgd, 64, 8),
    ]
    .into_iter()
    .map(|(model, dim, draws)| KernelConsts { draws, ..consts(model, Kernel::of_model(model), dim, 16) })
    .collect()
}

#[test]
fn every_kernel_configuration_validates() {
    let mut configs = Vec::new();
    for model in ModelKind::ALL {
        let kernels: &[Kernel] = match model {
            ModelKind::Dcsgd => &[Kernel::Dsgd, Kernel::Dcsgd],
            ModelKind::DcsgdSde => &[Kernel::SgdSde, Kernel::BernoulliSde, Kernel::RandkSde],
            m => &[Kernel::of_model(m)],
        };
        for &kernel in kernels {
            for dim in [1usize, 3, 64] {
                if kernel == Kernel::RandkSde && dim == 1 {
                    continue;
                }
                // 16 bins keep the histogram in workgroup memory; 4096 send it to global atomics.
                for bins in [16u32, 4096] {
                    let k = consts(model, kernel, dim, bins);
                    configs.push(k);
                    // Every kernel composed with each objective stage.
                    configs.push(KernelConsts { objective: Stage::Dense, ..k });
                    // With the covariance's pair sums (shaders/shared/cross.wgsl).
                    if dim > 1 {
                        configs.push(KernelConsts { objective: Stage::Dense, cross: true, ..k });
                    }
                    if !model.is_sde() {
                        configs.push(KernelConsts { tnoise: true, ..k });
                    }
                    // On sampled data (shaders/shared/data.wgsl), with Student-t labels for the
                    // discrete models and signHSGD's phi table for the SGD SDE kernel.
                    // Also with a rotated K (the dense stage and the noise factor).
                    for rotated in [false, true] {
                        let data = Stage::Regression { batch: 2, rotated, phi_table: false };
                        configs.push(KernelConsts { objective: data, ..k });
                        if !model.is_sde() {
                            configs.push(KernelConsts { objective: data, tlabel: true, ..k });
                        }
                        if kernel == Kernel::SgdSde {
                            let phi = Stage::Regression { batch: 1, rotated, phi_table: true };
                            configs.push(KernelConsts { model: ModelKind::Signhsgd, objective: phi, ..k });
                        }
                    }
                    // With a learning-rate schedule (shaders/shared/lr_schedule.wgsl), each kind.
                    if dim < 64 && bins == 16 {
                        // Time schedules 1..=4; normalized (5) and clipped (6) on the sampled gradient or
                        // on ∇f (+8), of the vector or per coordinate (+16).
                        let ids = [1, 2, 3, 4, 5, 6, 5 | 8, 6 | 16, 5 | 8 | 16];
                        configs.extend(ids.map(|schedule| KernelConsts { schedule, ..k }));
                    }
                    if kernel == Kernel::SignsgdSde {
                        configs.push(KernelConsts { tcdf: true, ..k });
                    }
                    if kernel == Kernel::Dcsgd {
                        for comp in 0..5 {
                            configs.push(KernelConsts { comp, ..k });
                            configs.push(KernelConsts { comp, tnoise: true, ..k });
                        }
                    }
                }
            }
        }
    }
    configs.extend(fast4_shapes());
    for k in configs {
        for regs in [true, false] {
            // Every kernel with one path per invocation; the d = 1 ones also packed.
            let packs: &[usize] = if shader::packable(&k) { &shader::PACK_WIDTHS } else { &[1] };
            for &pack in packs {
                // The speculative variant too where there is one (the SignSGD SDE), and the
                // histogram counted per invocation where it fits.
                for (spec, private_hist) in [(false, false), (true, false), (false, true), (true, true)] {
                    let v = Variant { coef_regs: regs, pack, spec, private_hist, checks: true };
                    if spec && !shader::speculable(&k) {
                        assert!(shader::advance_source(&k, &v).is_err(), "{k:?}: not speculable");
                        continue;
                    }
                    if private_hist && !shader::private_hist_fits(&k) {
                        assert!(shader::advance_source(&k, &v).is_err(), "{k:?}: too large a private histogram");
                        continue;
                    }
                    let src = shader::advance_source(&k, &v).unwrap();
                    shader::validate(&src).unwrap_or_else(|e| panic!("{k:?} ({v:?}): {e}"));
                }
            }
        }
        if !shader::packable(&k) {
            let v = Variant { pack: shader::SOFTWARE_PACK, ..Variant::plain(true) };
            assert!(shader::advance_source(&k, &v).is_err(), "{k:?} refuses packing");
        }
    }
    shader::validate(&shader::rng_words_source().unwrap()).unwrap();
}

/// Size and member offsets of a WGSL struct, from naga.
fn naga_struct(module: &naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
    for (_, ty) in module.types.iter() {
        if ty.name.as_deref() == Some(name)
            && let naga::TypeInner::Struct { members, span } = &ty.inner
        {
            return (*span, members.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset)).collect());
        }
    }
    panic!("struct {name} not found");
}

#[test]
fn host_structs_match_naga_layout() {
    let k = consts(ModelKind::AdamSde, Kernel::AdamSde, 2, 8);
    let module = shader::validate(&shader::advance_source(&k, &Variant::plain(true)).unwrap()).unwrap();
    let (span, members) = naga_struct(&module, "Params");
    assert_eq!(span as usize, size_of::<Params>(), "Params size");
    assert_eq!(members.len() * 4, size_of::<Params>(), "Params has only 4-byte members");
    for (i, (name, off)) in members.iter().enumerate() {
        assert_eq!(*off as usize, 4 * i, "Params.{name}");
    }
    let (span, members) = naga_struct(&module, "Coef");
    assert_eq!(span as usize, size_of::<Coef>(), "Coef size");
    for (i, (name, off)) in members.iter().enumerate() {
        assert_eq!(*off as usize, 4 * i, "Coef.{name}");
    }
    // Spot checks that the member order is the same as on the host.
    let (_, pm) = naga_struct(&module, "Params");
    assert_eq!(pm.iter().find(|(n, _)| n == "gsq").unwrap().1 as usize, std::mem::offset_of!(Params, gsq));
    assert_eq!(members.iter().find(|(n, _)| n == "x0").unwrap().1 as usize, std::mem::offset_of!(Coef, x0));
    let module = shader::validate(&shader::rng_words_source().unwrap()).unwrap();
    let (span, _) = naga_struct(&module, "RngParams");
    assert_eq!(span as usize, size_of::<RngParams>());
}

/// The advance kernel's variants that [`every_composed_kernel_is_written_out`] writes: every
/// kernel (the compressed one with each compressor), both noise laws where they change the
/// kernel (Student-t sampling in the optimizers, the Student-t CDF in the SignSGD SDE), at d = 1
/// (the packable loop), 3 (the general loop) and 16 (the FAST4 loop written out), and
/// [`fast4_shapes`]; each with the coefficients in registers and in their buffer, every packing,
/// speculation and private histogram the kernel allows, and the histogram in workgroup memory
/// (16 bins) or in global memory (4096 bins, plain variant only).
fn catalogue() -> Vec<(String, KernelConsts, Variant)> {
    let mut configs: Vec<KernelConsts> = Vec::new();
    let comps = ["identity", "bernoulli", "randk", "qsgd", "natural"];
    for kernel in Kernel::ALL {
        let model = ModelKind::ALL.into_iter().find(|&m| Kernel::of_model(m) == kernel).unwrap_or(match kernel {
            Kernel::Dcsgd => ModelKind::Dcsgd,
            _ => ModelKind::DcsgdSde,
        });
        for dim in [1usize, 3, 16] {
            if kernel == Kernel::RandkSde && dim == 1 {
                continue;
            }
            let k = consts(model, kernel, dim, 16);
            if kernel == Kernel::Dcsgd {
                for comp in 1..5 {
                    configs.push(KernelConsts { comp, ..k });
                    configs.push(KernelConsts { comp, tnoise: true, ..k });
                }
                continue;
            }
            configs.push(k);
            if !model.is_sde() {
                configs.push(KernelConsts { tnoise: true, ..k });
            }
            if kernel == Kernel::SignsgdSde {
                configs.push(KernelConsts { tcdf: true, ..k });
            }
        }
    }
    for k in fast4_shapes() {
        if !configs.contains(&k) {
            configs.push(k);
        }
    }
    let mut out = Vec::new();
    for k in configs {
        let mut name = format!("{}-d{}", k.kernel.wgsl_name().trim_start_matches("K_").to_lowercase(), k.dim);
        if k.draws != 1 {
            name += &format!("-n{}", k.draws);
        }
        if k.kernel == Kernel::Dcsgd {
            name += &format!("-{}", comps[k.comp as usize]);
        }
        if k.tnoise {
            name += "-student";
        }
        if k.tcdf {
            name += "-tcdf";
        }
        for regs in [true, false] {
            let packs: &[usize] = if shader::packable(&k) { &shader::PACK_WIDTHS } else { &[1] };
            for &pack in packs {
                for spec in [false, true] {
                    for private_hist in [false, true] {
                        if (spec && !shader::speculable(&k)) || (private_hist && !shader::private_hist_fits(&k)) {
                            continue;
                        }
                        let v = Variant { coef_regs: regs, pack, spec, private_hist, checks: true };
                        let mut file = format!("{name}-{}-pack{pack}", if regs { "regs" } else { "coefbuf" });
                        if spec {
                            file += "-spec";
                        }
                        if private_hist {
                            file += "-privhist";
                        }
                        out.push((file.clone(), k, v));
                        if !spec && !private_hist && pack == 1 {
                            out.push((
                                file.replace(&name, &format!("{name}-bins4096")),
                                KernelConsts { bins: 4096, ..k },
                                v,
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Writes every composed advance kernel of [`catalogue`] (and the test kernels) to
/// `target/shaders/<kernel>-d<dim>[-n<draws>][-<compressor>][-student|-tcdf][-bins4096]-<regs|coefbuf>-pack<n>[-spec][-privhist].wgsl`
/// (or under `OPTSDE_SHADER_DIR`), so that a reader can see what the composer makes of the
/// sources: `cargo test --release -- every_composed_kernel_is_written_out`.
#[test]
fn every_composed_kernel_is_written_out() {
    let dir = match std::env::var_os("OPTSDE_SHADER_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        // The test binary lives in <target>/<profile>/deps.
        None => std::env::current_exe().unwrap().ancestors().nth(3).unwrap().join("shaders"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut names = std::collections::HashSet::new();
    for (name, k, v) in catalogue() {
        assert!(names.insert(name.clone()), "{name} twice");
        let src = shader::advance_source(&k, &v).unwrap_or_else(|e| panic!("{name}: {e}"));
        std::fs::write(dir.join(format!("{name}.wgsl")), src).unwrap();
    }
    std::fs::write(dir.join("rng_words.wgsl"), shader::rng_words_source().unwrap()).unwrap();
    std::fs::write(dir.join("tdist_eval.wgsl"), shader::tdist_eval_source().unwrap()).unwrap();
    eprintln!("wrote {} composed advance kernels to {}", names.len(), dir.display());
}
