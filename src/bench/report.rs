//! `bench.json`'s types, and the report as the tables `optsde bench` prints.

use std::fmt::Write as _;

use serde::Serialize;

use super::baselines::{BaselineOutcome, NOT_ASKED, Tool, install_hint};
use super::measure::{Measurement, WARMUP_MIN_SECONDS, z_score};
use super::suite::{Entry, Sizes};
use crate::plan::BackendInfo;

/// Everything measured for one suite entry.
#[derive(Clone, Debug, Serialize)]
pub struct EntryReport {
    pub entry: String,
    #[serde(flatten)]
    pub spec: Entry,
    pub optsde: Vec<Measurement>,
    pub baselines: Vec<BaselineOutcome>,
    /// The backends that were open but did not time this entry, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_timed: Vec<NotTimed>,
}

/// A backend left out of one entry: a software GPU adapter at d > [`SOFTWARE_COMPILE_DIM`]
/// under `--backend all` (`--backend gpu` times it).
///
/// [`SOFTWARE_COMPILE_DIM`]: crate::backend::SOFTWARE_COMPILE_DIM
#[derive(Clone, Debug, Serialize)]
pub struct NotTimed {
    /// As the table names it: "gpu (sw)".
    pub backend: String,
    pub reason: String,
}

/// The machine the figures come from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cpu_threads: usize,
    /// The CPU backend's arithmetic ([`crate::cpu::Arith`]: `fused` or `split` multiply-adds).
    pub cpu_arith: String,
    /// The vector instructions of the CPU kernels ([`crate::cpu::VectorUnit`]):
    /// `AVX-512`, `AVX2` or `baseline`.
    pub cpu_vector: String,
    pub os: String,
    /// 1, 5 and 15-minute load averages (/proc/loadavg) before and after the suite.
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<BackendInfo>,
    pub gpu_software: bool,
    /// Why no GPU was benchmarked, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    pub python: String,
}

/// `bench.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub optsde_version: String,
    pub ci: bool,
    pub sizes: Sizes,
    pub warmup: Sizes,
    /// `--baseline-paths` when given (else each entry's baseline runs [`baseline_paths`](super::baseline_paths); its
    /// result records its paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_paths: Option<u64>,
    /// Numbers per array (paths × d) of the baselines without `--baseline-paths`.
    pub baseline_numbers: u64,
    /// Timed runs per entry and backend; the figures use the median.
    pub repeat: u32,
    pub seed: u64,
    pub machine: Machine,
    pub tools: Vec<Tool>,
    pub entries: Vec<EntryReport>,
    pub total_seconds: f64,
}

/// /proc/loadavg's three averages.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = s.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// "cpu", "gpu", or "gpu (sw)" for a software adapter.
pub(super) fn backend_label(kind: &str, software: bool) -> String {
    if software { format!("{kind} (sw)") } else { kind.to_string() }
}

fn sci(x: f64) -> String {
    if x.is_finite() { format!("{x:.3e}") } else { "-".into() }
}

/// The report as text: machine header, throughput table, stationary-loss agreement.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "optsde bench {}: {} paths × {} steps per run (warm-up: runs of {} steps for {} s or more{}), seed {}{}",
        r.optsde_version,
        r.sizes.paths,
        r.sizes.steps,
        r.warmup.steps,
        WARMUP_MIN_SECONDS,
        if r.repeat > 1 { format!("; median of {} timed runs", r.repeat) } else { String::new() },
        r.seed,
        if r.ci { " [CI sizes]" } else { "" }
    );
    let _ = writeln!(
        s,
        "cpu       {} ({} threads, {}, {} kernels, {} multiply-add)",
        m.cpu, m.cpu_threads, m.os, m.cpu_vector, m.cpu_arith
    );
    match (&m.gpu, &m.gpu_note) {
        (Some(g), _) => {
            let soft = if m.gpu_software { " [software rasteriser: runs on the CPU]" } else { "" };
            let _ = writeln!(s, "gpu       {} — {}, driver {}{soft}", g.adapter, g.api, g.driver);
        }
        (None, Some(note)) => {
            let _ = writeln!(s, "{note}");
        }
        (None, None) => {}
    }
    for t in &r.tools {
        match (&t.version, &t.unavailable) {
            (Some(v), _) => {
                let paths = match r.baseline_paths {
                    Some(p) => format!("{p} paths"),
                    None => format!("min(paths, {}/d) paths", r.baseline_numbers),
                };
                // Where the baseline ran (JAX reports its device: a GPU when one is visible).
                let device = r
                    .entries
                    .iter()
                    .flat_map(|e| &e.baselines)
                    .filter(|b| b.tool == t.name)
                    .find_map(|b| b.result.as_ref()?.extra.get("device")?.as_str().map(str::to_string))
                    .map(|d| format!(", on {d}"))
                    .unwrap_or_default();
                let _ = writeln!(s, "{:<9} {} {v} ({}, {paths}{device})", t.name, t.name, m.python);
            }
            (None, Some(why)) if why == NOT_ASKED => {
                let _ = writeln!(s, "baseline {}: skipped ({NOT_ASKED})", t.name);
            }
            (None, why) => {
                let _ = writeln!(
                    s,
                    "baseline {}: not available ({}){}",
                    t.name,
                    install_hint(&t.name),
                    why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
                );
            }
        }
    }
    if let Some(l) = m.load_before {
        let after = m.load_after.map(|a| format!(", after {:.2}", a[0])).unwrap_or_default();
        let _ = writeln!(s, "load      {:.2} (1-min average) before{after}, {} threads", l[0], m.cpu_threads);
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "path-steps/s = paths × steps / s (as optsde run counts); path-coord-steps/s = paths × d × steps / s"
    );
    // A column per baseline: numpy and jax always (a dash where they did not run), torch when
    // it was asked for.
    let cols: Vec<&str> = r
        .tools
        .iter()
        .filter(|t| t.name != "torch" || t.unavailable.as_deref() != Some(NOT_ASKED))
        .map(|t| t.name.as_str())
        .collect();
    let mut head = format!("{:<24} {:<9} {:>12} {:>12}", "entry", "backend", "path-st/s", "p-coord-st/s");
    for c in &cols {
        head.push_str(&format!(" {c:>12}"));
    }
    for c in &cols {
        head.push_str(&format!(" {:>9}", format!("×{c}")));
    }
    let _ = writeln!(s, "{head}");
    let base = |e: &EntryReport, tool: &str| {
        e.baselines.iter().find(|b| b.tool == tool).and_then(|b| b.result.as_ref()).map(|b| b.path_steps_per_second)
    };
    let ratio = |x: f64, b: Option<f64>| b.map_or("-".to_string(), |b| format!("{:.1}", x / b));
    for e in &r.entries {
        let bases: Vec<Option<f64>> = cols.iter().map(|c| base(e, c)).collect();
        for mm in &e.optsde {
            let mut line = format!(
                "{:<24} {:<9} {:>12} {:>12}",
                e.entry,
                backend_label(&mm.backend.kind, mm.software),
                sci(mm.path_steps_per_second),
                sci(mm.path_coordinate_steps_per_second),
            );
            for b in &bases {
                line.push_str(&format!(" {:>12}", b.map_or("-".into(), sci)));
            }
            for b in &bases {
                line.push_str(&format!(" {:>9}", ratio(mm.path_steps_per_second, *b)));
            }
            let _ = writeln!(s, "{line}");
        }
        for n in &e.not_timed {
            let _ = writeln!(s, "{:<24} {:<9} not timed: {}", e.entry, n.backend, n.reason);
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "stationary loss (mean over paths and steps {}, {} + 10, ... ± SE); z = (baseline − optsde {}) / combined SE",
        r.sizes.steps / 2,
        r.sizes.steps / 2,
        r.entries.first().and_then(|e| e.optsde.first()).map_or("-".into(), |m| m.backend.kind.clone()),
    );
    let cell = |x: f64, se: f64| format!("{} ± {:.1e}", sci(x), se);
    let mut head = format!("{:<24}", "entry");
    if let Some(e) = r.entries.first() {
        for mm in &e.optsde {
            head.push_str(&format!(" {:>21}", backend_label(&mm.backend.kind, mm.software)));
        }
        for b in &e.baselines {
            head.push_str(&format!(" {:>21} {:>6}", b.tool, "z"));
        }
    }
    let _ = writeln!(s, "{}", head.trim_end());
    for e in &r.entries {
        let mut line = format!("{:<24}", e.entry);
        for mm in &e.optsde {
            line.push_str(&format!(" {:>21}", cell(mm.stationary_loss, mm.stationary_loss_se)));
        }
        let first = e.optsde.first();
        for b in &e.baselines {
            match (&b.result, first) {
                (Some(br), Some(o)) => {
                    let z = z_score(o.stationary_loss, o.stationary_loss_se, br.stationary_loss, br.stationary_loss_se);
                    line.push_str(&format!(" {:>21} {:>6.2}", cell(br.stationary_loss, br.stationary_loss_se), z));
                }
                (Some(br), None) => {
                    line.push_str(&format!(" {:>21} {:>6}", cell(br.stationary_loss, br.stationary_loss_se), "-"))
                }
                (None, _) => line.push_str(&format!(" {:>21} {:>6}", "failed", "-")),
            }
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}
