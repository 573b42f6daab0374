//! Shared test helpers: the engines a test runs on, and experiment builders.
#![allow(dead_code)]

use std::io::Write;

use optsde::Result;
use optsde::plan::{Engine, RunResult};
use optsde::spec::{Experiment, Overrides};

/// The GPU engine, or None: with `OPTSDE_REQUIRE_GPU=1` (set by `.ci/run`) a missing adapter
/// fails the test; otherwise it is a loud skip on stderr, never a silent pass (written to the
/// stderr handle, which the test harness does not capture, unlike `eprintln!`).
pub fn gpu() -> Option<optsde::gpu::GpuEngine> {
    match optsde::gpu::GpuEngine::new() {
        Ok(g) => Some(g),
        Err(e) => {
            if std::env::var("OPTSDE_REQUIRE_GPU").is_ok_and(|s| s == "1") {
                panic!("OPTSDE_REQUIRE_GPU=1 but the GPU backend is unavailable: {e}");
            }
            let test = std::thread::current().name().unwrap_or("a GPU test").to_owned();
            let _ = writeln!(std::io::stderr(), "WARNING: {test} SKIPPED, no GPU adapter: {e}");
            None
        }
    }
}

/// Makes a backend-generic test of each named function `fn f(name: &str, e: &mut dyn Engine)`:
/// a module `f` (beside the function: modules and functions have separate namespaces) with the
/// tests `f::cpu` (the CPU twin, [`optsde::cpu::CpuEngine::new`]) and `f::gpu` (the adapter of
/// [`gpu`], skipped as it says), so a failure names its engine and the two run in parallel.
/// `name` is "cpu" or "gpu", for messages. Tests that compare the engines need both and stay
/// single tests, named for what they compare.
macro_rules! per_engine {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[test]
            fn cpu() {
                super::$test("cpu", &mut optsde::cpu::CpuEngine::new());
            }

            #[test]
            fn gpu() {
                if let Some(mut g) = $crate::common::gpu() {
                    super::$test("gpu", &mut g);
                }
            }
        }
    )+};
}
pub(crate) use per_engine;

/// Parse an experiment from TOML text.
pub fn exp(toml: &str) -> Experiment {
    Experiment::from_str(toml, "toml", "test", "test", &Overrides::default()).expect("valid test experiment")
}

pub fn run(exp: &Experiment, e: &mut dyn Engine) -> Result<RunResult> {
    optsde::plan::run(exp, e, &mut |_| {})
}

/// Reference quadratic of docs/objective-and-noise.md with a model and run section.
pub fn reference(model: &str, refine: u32, paths: u64, steps: u64, start: u64, every: u64) -> Experiment {
    exp(&format!(
        r#"
[model]
name = "{model}"
eta = 1e-3
[objective]
name = "quadratic"
h = [1.0, 2.0, 5.0, 10.0]
[noise]
name = "gaussian"
sigma = [1.0, 2.0, 0.5, 3.0]
[run]
paths = {paths}
steps = {steps}
refine = {refine}
seed = 7
[record]
every = {rec}
[stationary]
start = {start}
every = {every}
bins = 64
"#,
        rec = steps / 10
    ))
}

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("optsde-test-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Write `text` to a file in the directory and return its path.
    pub fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// (width, height, RGB pixels) of an 8-bit RGB PNG.
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("a readable PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sized PNG")];
    let info = reader.next_frame(&mut buf).expect("one frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Pixels of exactly this colour.
pub fn count_colour(rgb: &[u8], c: [u8; 3]) -> usize {
    rgb.chunks_exact(3).filter(|p| *p == c).count()
}

/// Pearson χ² of a histogram against a law: `mass(a, b)` is the law's probability of [a, b),
/// `outside` its probability outside [lo, hi]. Bins expected below 5 counts are pooled with the
/// under/overflow cell. Returns (χ², degrees of freedom, the χ² quantile at 1 − alpha).
pub fn chi_square(
    hist: &optsde::stats::Histogram,
    mass: impl Fn(f64, f64) -> f64,
    outside: f64,
    alpha: f64,
) -> (f64, f64, f64) {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let n = hist.total() as f64;
    let w = (hist.hi - hist.lo) / hist.counts.len() as f64;
    let mut cells: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
    let mut tail = ((hist.underflow + hist.overflow) as f64, n * outside);
    for (j, &c) in hist.counts.iter().enumerate() {
        let a = hist.lo + w * j as f64;
        let expected = n * mass(a, a + w);
        if expected < 5.0 {
            tail.0 += c as f64;
            tail.1 += expected;
        } else {
            cells.push((c as f64, expected));
        }
    }
    cells.push(tail);
    let chi2: f64 = cells.iter().map(|(o, ex)| (o - ex).powi(2) / ex.max(1e-300)).sum();
    let dof = (cells.len() - 1) as f64;
    (chi2, dof, ChiSquared::new(dof).unwrap().inverse_cdf(1.0 - alpha))
}
