//! Value-stability goldens (STYLE habit 11): the exact bits every kernel computes, pinned so
//! that moving code is checked to be "the same", not "looks the same".
//!
//! Two sets, both in `tests/it/goldens/`:
//! - `kernels.txt`: for every kernel (every model, both noise laws, every compressor, d = 1, 3
//!   and 4, one and several agents, one and several substeps, paths that diverge) and both CPU
//!   arithmetics, a hash of every path's state after a few steps, the first paths' state
//!   words, and a hash of a short run's records, stationary estimates, divergence counts and
//!   histogram counts.
//! - `examples.txt`: every built-in example at a small number of paths, both CPU arithmetics:
//!   the stationary estimates' bits and the histogram counts' hash.
//!
//! The CPU backend is one exact stream per arithmetic on every CPU (`optsde::cpu::Arith`), so
//! these hold on any machine. On a software adapter (lavapipe) the GPU kernels, packed and
//! unpacked, are compared with the split goldens too (see `gpu_kernels_match_the_split_goldens`).
//!
//! A golden changes only on purpose, with the reason in the commit: run with
//! `OPTSDE_BLESS=1` to rewrite the files, and review the diff.

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use optsde::cpu::{Arith, CpuEngine};
use optsde::plan::{Engine, RunResult, states_after};
use optsde::spec::{Experiment, Overrides};

/// Paths per kernel case: four workgroups' worth would hide the partial last block, so 300
/// (one full workgroup and 44 paths, fewer than the CPU twin's 64 lanes).
const PATHS: u64 = 300;
/// Steps of the state golden and of the short run.
const STEPS: u64 = 40;
/// State words printed per case (the first paths' first row).
const SHOWN: usize = 3;

/// FNV-1a over 64-bit words.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn word(&mut self, w: u64) {
        for b in w.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
    fn f64(&mut self, v: f64) {
        self.word(v.to_bits());
    }
    fn f64s(&mut self, v: &[f64]) {
        self.word(v.len() as u64);
        v.iter().for_each(|&x| self.f64(x));
    }
}

/// The kernel cases: (name, experiment TOML). Each name is unique and says what it covers.
fn kernel_cases() -> Vec<(String, String)> {
    let gaussian = |d: usize| match d {
        1 => "name = 'gaussian'\nsigma = 0.7".to_string(),
        3 => "name = 'gaussian'\nsigma = [0.5, 1.0, 2.0]".to_string(),
        _ => "name = 'gaussian'\nsigma = [0.5, 1.0, 0.2, 2.0]".to_string(),
    };
    // Student-t: integer and non-integer ν (the sign SDEs close integer ν ≤ 30 and tabulate the
    // others); the samplers take ν ≥ 0.5, the covariance-driven SDEs ν > 2.
    let student = |d: usize, sde_cov: bool| match (d, sde_cov) {
        (1, false) => "name = 'student-t'\nnu = 1.5\nscale = 0.7".to_string(),
        (1, true) => "name = 'student-t'\nnu = 2.5\nscale = 0.7".to_string(),
        (3, false) => "name = 'student-t'\nnu = [2.5, 1.5, 7.0]\nscale = [0.5, 1.0, 2.0]".to_string(),
        (3, true) => "name = 'student-t'\nnu = [2.5, 3.0, 7.0]\nscale = [0.5, 1.0, 2.0]".to_string(),
        (_, false) => "name = 'student-t'\nnu = [2.5, 1.5, 7.0, 30.0]\nscale = [0.5, 1.0, 0.2, 2.0]".to_string(),
        (_, true) => "name = 'student-t'\nnu = [2.5, 3.5, 7.0, 30.0]\nscale = [0.5, 1.0, 0.2, 2.0]".to_string(),
    };
    let h = |d: usize| match d {
        1 => "2.0",
        3 => "[1.0, 4.0, 10.0]",
        _ => "[1.0, 2.0, 5.0, 10.0]",
    };
    let x0 = |d: usize| match d {
        1 => "0.6",
        3 => "[0.5, -0.25, 1.0]",
        _ => "[0.5, -0.25, 0.1, 1.0]",
    };
    // (model, [model] extras and tables, takes Student-t, Student-t drives a covariance SDE)
    let mut models: Vec<(&str, String, bool, bool)> = vec![
        ("sgd-sde", String::new(), true, true),
        ("sgd", String::new(), true, false),
        ("signsgd-sde", String::new(), true, false),
        ("signsgd", String::new(), true, false),
        ("rmsprop", "beta = 0.9".into(), true, false),
        ("rmsprop", "beta = 0.95\nweight_decay = 0.5".into(), false, false),
        ("adam", String::new(), true, false),
        ("adam", "beta1 = 0.8\nbeta2 = 0.95\nweight_decay = 0.5\neps = 1e-4".into(), false, false),
        ("rmsprop-sde", "beta = 0.9".into(), true, true),
        ("adam-sde", "beta1 = 0.9\nbeta2 = 0.99".into(), true, true),
        ("adam-sde", "beta1 = 0.9\nbeta2 = 0.99\ncorrection = 'drift-only'\nweight_decay = 1.0".into(), false, false),
        ("adam-sde", "beta1 = 0.9\nbeta2 = 0.99\ncorrection = 'none'".into(), false, false),
        ("rmsprop-malladi-sde", "beta = 0.9".into(), false, false),
        ("adam-malladi-sde", "beta1 = 0.9\nbeta2 = 0.99".into(), false, false),
        ("dsgd", "agents = 3".into(), true, false),
        ("dsgd", "agents = 4".into(), false, false),
        ("dsgd-sde", "agents = 3".into(), true, true),
        ("dsignsgd", "agents = 3".into(), true, false),
        ("dsignsgd", "agents = 4".into(), false, false),
        ("dsignsgd-sde", "agents = 2".into(), true, false),
    ];
    let sde_comps = ["name = 'identity'", "name = 'bernoulli'\np = 0.3", "name = 'rand-k'\nk = 2"];
    for comp in sde_comps.iter().chain(&["name = 'qsgd'\nlevels = 2", "name = 'natural'"]) {
        models.push(("dcsgd", format!("agents = 3\n[compressor]\n{comp}"), true, false));
    }
    for comp in sde_comps {
        models.push(("dcsgd-sde", format!("agents = 3\n[compressor]\n{comp}"), true, true));
    }
    let mut cases = Vec::new();
    for (model, extra, takes_t, cov) in &models {
        let sde = model.ends_with("-sde");
        let refine = if sde { 2 } else { 1 };
        let dims: &[usize] = if model.starts_with("dcsgd") { &[3, 4] } else { &[1, 3, 4] };
        for &d in dims {
            let mut noises = vec![("gaussian", gaussian(d))];
            if *takes_t {
                noises.push(("student-t", student(d, *cov)));
            }
            for (law, noise) in noises {
                let eta = if model.contains("malladi") { "0.05" } else { "0.01" };
                let name = format!("{model} d={d} {law} refine={refine} {}", extra.replace('\n', " "));
                cases.push((
                    name.trim().to_string(),
                    experiment(model, eta, extra, h(d), &noise, x0(d), refine, 20, 3, ""),
                ));
            }
        }
    }
    // Samples at every step (no four-substep blocks on the GPU's d = 1 loop) and three substeps
    // per step (random blocks straddle steps).
    for model in ["sgd-sde", "signsgd-sde", "adam-sde"] {
        let extra = if model == "adam-sde" { "beta1 = 0.9\nbeta2 = 0.99" } else { "" };
        for d in [1, 4] {
            cases.push((
                format!("{model} d={d} gaussian refine=3 every step"),
                experiment(model, "0.01", extra, h(d), &gaussian(d), x0(d), 3, 10, 1, ""),
            ));
        }
    }
    // Paths that leave a small divergence bound: frozen lanes take the general code paths.
    // (model, [model] extras, η: large enough that some paths but not all leave the bound)
    for (model, extra, eta) in
        [("sgd-sde", "", "0.01"), ("signsgd-sde", "", "0.1"), ("adam", "", "0.08"), ("dsignsgd", "agents = 3", "0.12")]
    {
        for d in [1, 4] {
            let wide = if d == 1 {
                "name = 'gaussian'\nsigma = 20.0"
            } else {
                "name = 'gaussian'\nsigma = [20.0, 5.0, 30.0, 10.0]"
            };
            cases.push((
                format!("{model} d={d} gaussian diverging {extra}").trim().to_string(),
                experiment(model, eta, extra, h(d), wide, x0(d), 1, 20, 3, "divergence_bound = 1.2"),
            ));
        }
    }
    cases
}

/// One kernel case's experiment file.
#[allow(clippy::too_many_arguments)]
fn experiment(
    model: &str,
    eta: &str,
    extra: &str,
    h: &str,
    noise: &str,
    x0: &str,
    refine: u32,
    start: u64,
    every: u64,
    run_extra: &str,
) -> String {
    format!(
        "[model]\nname = '{model}'\neta = {eta}\n{extra}\n[objective]\nname = 'quadratic'\nh = {h}\ncenter = 0.25\n\
         [noise]\n{noise}\n[init]\nx0 = {x0}\n[run]\npaths = {PATHS}\nsteps = {STEPS}\nrefine = {refine}\nseed = 11\n\
         {run_extra}\n[record]\nevery = 7\n[stationary]\nstart = {start}\nevery = {every}\nbins = 16\n"
    )
}

/// Hash of everything a run reports: records, stationary estimates, divergence, histograms.
fn run_hash(r: &RunResult) -> u64 {
    let mut f = Fnv::new();
    for rec in &r.records {
        f.word(rec.step);
        f.word(rec.paths);
        for m in &rec.q {
            f.f64s(&[m.n, m.mean, m.m2]);
        }
    }
    let s = &r.stationary;
    f.word(s.samples);
    f.word(s.batches);
    f.f64s(&[s.loss_mean, s.loss_se]);
    for v in [&s.mean, &s.mean_se, &s.second_moment, &s.second_moment_se, &s.var, &s.var_se] {
        f.f64s(v);
    }
    f.word(r.diverged);
    f.f64s(&[r.divergence.n, r.divergence.step_sum]);
    f.word(r.divergence.first.unwrap_or(u64::MAX));
    for h in &r.histograms {
        f.f64s(&[h.lo, h.hi]);
        f.word(h.underflow);
        f.word(h.overflow);
        h.counts.iter().for_each(|&c| f.word(c));
    }
    f.0
}

/// A kernel case's golden line: the state hash, the first state words, the run hash.
fn kernel_line(x: &Experiment, e: &mut dyn Engine) -> String {
    let states = states_after(x, e, PATHS, STEPS).expect("states");
    let mut f = Fnv::new();
    states.iter().for_each(|s| f.word(u64::from(s.to_bits())));
    let shown: Vec<String> = states[..SHOWN].iter().map(|s| format!("{:08x}", s.to_bits())).collect();
    let r = common::run(x, e).expect("run");
    format!("states {:016x} [{}] run {:016x}", f.0, shown.join(" "), run_hash(&r))
}

/// An example's golden line: stationary estimates' bits and the histogram counts' hash.
fn example_line(r: &RunResult) -> String {
    let s = &r.stationary;
    let mut f = Fnv::new();
    for h in &r.histograms {
        f.word(h.underflow);
        f.word(h.overflow);
        h.counts.iter().for_each(|&c| f.word(c));
    }
    let bits = |v: &[f64]| v.iter().map(|x| format!("{:016x}", x.to_bits())).collect::<Vec<_>>().join(" ");
    format!(
        "samples {} loss {:016x} se {:016x} var [{}] hist {:016x} records {:016x}",
        s.samples,
        s.loss_mean.to_bits(),
        s.loss_se.to_bits(),
        bits(&s.var),
        f.0,
        run_hash(r)
    )
}

/// Paths of each example's golden run.
const EXAMPLE_PATHS: u64 = 1024;

fn golden_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("it").join("goldens").join(file)
}

/// Compare `lines` (key → value) with the golden file, or rewrite it under `OPTSDE_BLESS=1`.
fn check_golden(file: &str, header: &str, lines: &BTreeMap<String, String>) {
    let path = golden_path(file);
    if std::env::var("OPTSDE_BLESS").is_ok_and(|v| v == "1") {
        let mut text = String::from(header);
        for (k, v) in lines {
            writeln!(text, "{k} | {v}").unwrap();
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        eprintln!("blessed {} ({} lines)", path.display(), lines.len());
        return;
    }
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (OPTSDE_BLESS=1 writes it)", path.display()));
    compare_lines(&path, &parse_golden(&text, ""), lines);
}

/// The lines of a golden file that start with `prefix`, as key -> value.
fn parse_golden(text: &str, prefix: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && l.starts_with(prefix))
        .map(|l| {
            let (k, v) = l.rsplit_once(" | ").expect("golden line: key | value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Every line of `golden` is in `lines` with the same value, and no other.
fn compare_lines(path: &std::path::Path, golden: &BTreeMap<String, String>, lines: &BTreeMap<String, String>) {
    let mut problems = Vec::new();
    for (k, v) in lines {
        match golden.get(k) {
            Some(g) if g == v => {}
            Some(g) => problems.push(format!("CHANGED {k}\n  golden {g}\n  now    {v}")),
            None => problems.push(format!("NEW {k} | {v}")),
        }
    }
    for k in golden.keys().filter(|k| !lines.contains_key(*k)) {
        problems.push(format!("MISSING {k}"));
    }
    assert!(
        problems.is_empty(),
        "{}: {} of {} lines differ:\n{}",
        path.display(),
        problems.len(),
        lines.len(),
        problems.join("\n")
    );
    eprintln!("{}: {} lines unchanged", path.display(), lines.len());
}

const KERNELS_HEADER: &str = "# Value-stability goldens of every kernel (tests/it/value_stability.rs): case | arithmetic |\n\
# FNV-1a of every path's state bits after 40 steps [the first words] and of a 40-step run's\n\
# records, stationary estimates, divergence and histograms. Changed only on purpose.\n";

const EXAMPLES_HEADER: &str = "# Value-stability goldens of the built-in examples at 1024 paths (tests/it/value_stability.rs):\n\
# example | arithmetic | stationary samples, loss, its SE and each variance as f64 bits; FNV-1a of\n\
# the histogram counts and of the whole run. Changed only on purpose.\n";

/// Every kernel case on the CPU in both arithmetics.
fn cpu_kernel_lines() -> BTreeMap<String, String> {
    let mut lines = BTreeMap::new();
    for (name, toml) in kernel_cases() {
        let x = common::exp(&toml);
        for arith in [Arith::Fused, Arith::Split] {
            let mut e = CpuEngine::with_arith(arith);
            let key = format!("{name} | {}", arith.name());
            assert!(lines.insert(key.clone(), kernel_line(&x, &mut e)).is_none(), "duplicate case {key}");
        }
        if name.contains("diverging") {
            // The case covers frozen lanes next to live ones.
            let r = common::run(&x, &mut CpuEngine::new()).expect("run");
            assert!(r.diverged > 0 && r.diverged < PATHS, "{name}: {} of {PATHS} paths diverged", r.diverged);
        }
    }
    lines
}

#[test]
fn cpu_kernels_match_their_goldens() {
    check_golden("kernels.txt", KERNELS_HEADER, &cpu_kernel_lines());
}

#[test]
fn examples_match_their_goldens() {
    let mut lines = BTreeMap::new();
    for (name, _, _) in optsde::spec::EXAMPLES {
        let o = Overrides { paths: Some(EXAMPLE_PATHS), ..Overrides::default() };
        let x = optsde::spec::example(name, &o).expect("example");
        for arith in [Arith::Fused, Arith::Split] {
            let r = common::run(&x, &mut CpuEngine::with_arith(arith)).expect("run");
            lines.insert(format!("{name} | {}", arith.name()), example_line(&r));
        }
    }
    check_golden("examples.txt", EXAMPLES_HEADER, &lines);
}

const GPU_HEADER: &str = "# Value-stability goldens of the GPU kernels (tests/it/value_stability.rs), per adapter:\n\
# adapter | driver | case | variant | as in kernels.txt. A GPU's arithmetic is its driver's (it may fuse\n\
# multiply-adds), so each adapter has its own bits; adapters without lines here are compared with\n\
# the CPU twin within the per-path bound instead (tests/it/backends.rs compare_states).\n";

/// The GPU variants a case runs in: the adapter's default (packed d = 1 paths on a software
/// adapter, speculative SignSGD SDE kernels), and one path per invocation where the default packs.
fn gpu_variants(x: &Experiment, software: bool) -> Vec<(&'static str, Option<usize>)> {
    let k = optsde::kernel::KernelConsts::new(x, x.stationary.bins);
    let mut v = vec![("default", None)];
    if software && optsde::shader::packable(&k) {
        v.push(("pack=1", Some(1)));
    }
    v
}

/// Every kernel case on the GPU (in every variant of [`gpu_variants`]): on an adapter with pinned
/// lines in `gpu-kernels.txt` (lavapipe on the machines CI runs on), the same bits as pinned; on
/// another adapter, every path's state within the per-path bound of the CPU twin (whose bits
/// `kernels.txt` pins), said on stderr.
#[test]
fn gpu_kernels_match_their_goldens() {
    let Some(mut g) = common::gpu() else { return };
    let info = g.info();
    let adapter = format!("{} | {}", info.adapter, info.driver);
    let path = golden_path("gpu-kernels.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let prefix = format!("{adapter} | ");
    let pinned = !parse_golden(&text, &prefix).is_empty();
    let bless = std::env::var("OPTSDE_BLESS").is_ok_and(|v| v == "1");
    let software = g.is_software();
    let mut lines = BTreeMap::new();
    for (name, toml) in kernel_cases() {
        let x = common::exp(&toml);
        for (variant, pack) in gpu_variants(&x, software) {
            g.set_pack_width(pack).expect("pack width");
            if pinned || bless {
                lines.insert(format!("{adapter} | {name} | {variant}"), kernel_line(&x, &mut g));
            } else {
                let a = states_after(&x, &mut g, PATHS, STEPS).expect("gpu states");
                let b = states_after(&x, &mut CpuEngine::with_arith(Arith::of_adapter(software)), PATHS, STEPS)
                    .expect("cpu states");
                crate::backends::compare_states(&format!("{name} {variant}"), &a, &b, PATHS as usize, software);
            }
        }
    }
    g.set_pack_width(None).expect("default pack width");
    if bless {
        // Keep the other adapters' lines.
        let mut all = parse_golden(&text, "");
        all.retain(|k, _| !k.starts_with(&prefix));
        all.extend(lines);
        check_golden("gpu-kernels.txt", GPU_HEADER, &all);
    } else if pinned {
        compare_lines(&path, &parse_golden(&text, &prefix), &lines);
    } else {
        eprintln!(
            "NOTE: no pinned GPU goldens for adapter `{adapter}` in {}: compared every case with the CPU twin within \
             the per-path bound instead (OPTSDE_BLESS=1 pins this adapter's bits)",
            path.display()
        );
    }
}
