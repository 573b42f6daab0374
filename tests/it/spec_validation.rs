//! The experiment file: every bad input gives an error naming the field, the value and the
//! valid range (or names); good inputs give the documented defaults.

use optsde::Error;
use optsde::spec::*;

/// A complete, valid experiment; tests edit one line of it.
const BASE: &str = r#"
[model]
name = "sgd-sde"
eta = 1e-3

[objective]
name = "quadratic"
h = [1.0, 2.0, 5.0, 10.0]

[noise]
name = "gaussian"
sigma = [1.0, 2.0, 0.5, 3.0]

[run]
paths = 4096
steps = 1000
"#;

fn none() -> Overrides {
    Overrides::default()
}

fn parse(text: &str) -> optsde::Result<Experiment> {
    Experiment::from_str(text, "toml", "test.toml", "test", &none())
}

/// BASE with the line starting `old` replaced by `new` (which may be empty).
fn edit(old: &str, new: &str) -> String {
    let mut found = false;
    let out: Vec<&str> = BASE
        .lines()
        .map(|l| {
            if l.starts_with(old) {
                found = true;
                new
            } else {
                l
            }
        })
        .collect();
    assert!(found, "BASE has no line starting with {old:?}");
    out.join("\n")
}

/// BASE with `extra` appended (new tables or keys of the last table, `[run]`).
fn plus(extra: &str) -> String {
    format!("{BASE}{extra}\n")
}

/// The error's message; panics when `text` is valid. Asserts it contains every `parts`.
#[track_caller]
fn fails(text: &str, parts: &[&str]) -> Error {
    fails_with(parse(text), parts)
}

#[track_caller]
fn fails_with(r: optsde::Result<Experiment>, parts: &[&str]) -> Error {
    let e = match r {
        Ok(x) => panic!("expected an error containing {parts:?}, got Ok({x:?})"),
        Err(e) => e,
    };
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
    e
}

// ----- files and syntax --------------------------------------------------------------------

#[test]
fn missing_file_is_io_error() {
    let path = std::path::Path::new("/nonexistent/dir/exp.toml");
    let e = Experiment::load(path, &none()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("cannot read experiment file"), "{msg}");
    assert!(msg.contains("/nonexistent/dir/exp.toml"), "{msg}");
}

#[test]
fn toml_syntax_error_names_line() {
    let text = "[model]\nname = \"sgd\"\neta = = 1\n";
    let e = fails(text, &["test.toml", "syntax error", "line 3"]);
    assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
}

#[test]
fn json_syntax_error_names_line_and_column() {
    let text = "{\n  \"model\": {\"name\": \"sgd\",\n  \"eta\": }\n}";
    let r = Experiment::from_str(text, "json", "exp.json", "exp", &none());
    let e = fails_with(r, &["exp.json", "syntax error", "line 3", "column"]);
    assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
}

#[test]
fn json_duplicate_key_is_an_error() {
    let text = r#"{"model": {"name": "sgd", "eta": 0.1, "eta": 0.2}}"#;
    let r = Experiment::from_str(text, "json", "exp.json", "exp", &none());
    fails_with(r, &["duplicate key `eta`", "line 1"]);
}

#[test]
fn toml_datetime_is_rejected_with_its_value() {
    fails(&edit("eta", "eta = 1979-05-27"), &["model.eta = 1979-05-27", "> 0"]);
}

// ----- unknown keys and names --------------------------------------------------------------

#[test]
fn unknown_key_top_level() {
    let e = fails(&format!("modle = 1\n{BASE}"), &["`modle`", "name, model, schedule, objective", "stationary"]);
    assert!(matches!(e, Error::UnknownKey { .. }), "{e:?}");
}

#[test]
fn unknown_key_in_table() {
    let e = fails(&edit("eta", "etaa = 1e-3"), &["test.toml", "`model.etaa`", "valid keys here: name, eta"]);
    assert!(matches!(e, Error::UnknownKey { .. }), "{e:?}");
    fails(&plus("path = 5"), &["`run.path`", "paths, steps, refine, seed, backend, chunk"]);
    fails(&plus("[stationary]\nbin = 5"), &["`stationary.bin`", "start, every, bins, range"]);
}

#[test]
fn unknown_model_name() {
    let e = fails(
        &edit("name = \"sgd-sde\"", "name = \"adamw\""),
        &["model.name = \"adamw\"", "sgd-sde, sgd, signsgd-sde, signsgd, rmsprop, adam, rmsprop-sde, adam-sde"],
    );
    assert!(matches!(e, Error::UnknownName { .. }), "{e:?}");
}

#[test]
fn unknown_objective_and_noise_names() {
    fails(&edit("name = \"quadratic\"", "name = \"rosenbrock\""), &["objective.name = \"rosenbrock\"", "quadratic"]);
    fails(&edit("name = \"gaussian\"", "name = \"cauchy\""), &["noise.name = \"cauchy\"", "gaussian"]);
}

#[test]
fn unknown_backend_name() {
    fails(&plus("backend = \"tpu\""), &["run.backend = \"tpu\"", "auto, gpu, cpu"]);
    let e = "tpu".parse::<BackendChoice>().unwrap_err();
    assert!(e.to_string().contains("\"tpu\"") && e.to_string().contains("auto, gpu, cpu"), "{e}");
    assert_eq!("gpu".parse::<BackendChoice>().unwrap(), BackendChoice::Gpu);
    assert_eq!("cpu".parse::<BackendChoice>().unwrap(), BackendChoice::Cpu);
    assert_eq!("auto".parse::<BackendChoice>().unwrap(), BackendChoice::Auto);
}

#[test]
fn missing_required_keys() {
    fails(&edit("eta", ""), &["test.toml", "missing", "`model.eta`"]);
    fails(&edit("steps", ""), &["missing", "`run.steps`"]);
    fails(&edit("h =", ""), &["missing", "`objective.h`"]);
    let no_noise = BASE.replace("[noise]\nname = \"gaussian\"\nsigma = [1.0, 2.0, 0.5, 3.0]\n", "");
    fails(&no_noise, &["missing", "`noise`", "name, sigma"]);
    fails(&edit("name = \"sgd-sde\"", ""), &["missing", "`model.name`", "sgd-sde, sgd"]);
}

// ----- numbers -----------------------------------------------------------------------------

#[test]
fn eta_must_be_positive_and_finite() {
    for (v, shown) in [("0.0", "0.0"), ("-1e-3", "-0.001"), ("nan", "nan"), ("inf", "inf"), ("0", "0")] {
        let e = fails(&edit("eta", &format!("eta = {v}")), &[&format!("model.eta = {shown}"), "> 0", "finite"]);
        assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    }
    fails(&edit("eta", "eta = \"fast\""), &["model.eta = \"fast\"", "> 0"]);
}

#[test]
fn h_must_be_positive() {
    fails(&edit("h =", "h = [1.0, 2.0, 0.0, 10.0]"), &["objective.h[2] = 0.0", "> 0"]);
    fails(&edit("h =", "h = -2"), &["objective.h = -2", "> 0"]);
    fails(&edit("h =", "h = [1.0, nan, 5.0, 10.0]"), &["objective.h[1] = nan", "finite"]);
    fails(&edit("h =", "h = []"), &["objective.h = []", "non-empty array"]);
}

#[test]
fn sigma_must_be_nonnegative() {
    fails(&edit("sigma", "sigma = [1.0, 2.0, -0.5, 3.0]"), &["noise.sigma[2] = -0.5", ">= 0"]);
    fails(&edit("sigma", "sigma = nan"), &["noise.sigma = nan", "finite"]);
    // sigma = 0 is fine for SGD ...
    let e = parse(&edit("sigma", "sigma = [1.0, 0.0, 0.5, 3.0]")).unwrap();
    assert_eq!(e.noise, Noise::Gaussian { sigma: vec![1.0, 0.0, 0.5, 3.0] });
}

#[test]
fn signsgd_sde_needs_positive_sigma() {
    let text = edit("name = \"sgd-sde\"", "name = \"signsgd-sde\"");
    let text = text.replace("sigma = [1.0, 2.0, 0.5, 3.0]", "sigma = [1.0, 0.0, 0.5, 3.0]");
    fails(&text, &["noise.sigma[1] = 0.0", "> 0", "signsgd-sde", "erf", "undefined at sigma = 0"]);
    // ... while discrete SignSGD is defined at sigma = 0.
    let text = text.replace("\"signsgd-sde\"", "\"signsgd\"");
    assert!(parse(&text).is_ok());
}

#[test]
fn vector_lengths_must_agree() {
    fails(
        &edit("sigma", "sigma = [1.0, 2.0, 0.5]"),
        &["noise.sigma = [1.0, 2.0, 0.5]", "length 3", "objective.h has length 4"],
    );
    fails(&plus("[init]\nx0 = [1, 2]"), &["init.x0 = [1, 2]", "length 2", "objective.h has length 4"]);
    // A one-element array is a vector of length 1, not a broadcast scalar.
    fails(&edit("sigma", "sigma = [0.5]"), &["noise.sigma", "length 1", "length 4"]);
}

#[test]
fn too_many_coordinates() {
    let h = vec!["1.0"; MAX_DIM + 1].join(", ");
    let (len, max) = (format!("length {}", MAX_DIM + 1), MAX_DIM.to_string());
    fails(&edit("h =", &format!("h = [{h}]")), &["objective.h", &len, &max]);
}

#[test]
fn paths_must_be_in_range() {
    fails(&edit("paths", "paths = 0"), &["run.paths = 0", "must be an integer >= 1"]);
    fails(&edit("paths", "paths = -5"), &["run.paths = -5 is invalid: must be an integer >= 1"]);
    fails(&edit("paths", "paths = 1099511627777"), &["run.paths = 1099511627777", "2^40"]);
    fails(&edit("paths", "paths = 1.5"), &["run.paths = 1.5", "integer"]);
    fails(&edit("paths", "paths = nan"), &["run.paths = nan", "integer"]);
    // Floats that are exact integers are accepted.
    assert_eq!(parse(&edit("paths", "paths = 1e6")).unwrap().run.paths, 1_000_000);
}

#[test]
fn steps_must_be_positive() {
    fails(&edit("steps", "steps = 0"), &["run.steps = 0", "must be an integer >= 1"]);
    fails(&edit("steps", "steps = -3"), &["run.steps = -3", "must be an integer >= 1"]);
}

#[test]
fn seed_must_be_a_u64() {
    fails(&plus("seed = -1"), &["run.seed = -1", "any u64"]);
    let e = parse(&plus("seed = 0")).unwrap();
    assert_eq!(e.run.seed, 0);
    // JSON can carry the full u64 range.
    let json = r#"{"model": {"name": "sgd", "eta": 0.001}, "objective": {"name": "quadratic", "h": 1},
        "noise": {"name": "gaussian", "sigma": 1}, "run": {"paths": 256, "steps": 10,
        "seed": 18446744073709551615}}"#;
    let e = Experiment::from_str(json, "json", "j", "j", &none()).unwrap();
    assert_eq!(e.run.seed, u64::MAX);
}

#[test]
fn refine_must_be_positive_and_only_for_sdes() {
    fails(&plus("refine = 0"), &["run.refine = 0", "must be an integer >= 1", "65536"]);
    fails(&plus("refine = 65537"), &["run.refine = 65537", "65536"]);
    let sgd = edit("name = \"sgd-sde\"", "name = \"sgd\"");
    fails(&format!("{sgd}\nrefine = 4\n"), &["run.refine = 4", "SDE models only", "sgd"]);
    // refine = 1 is accepted for discrete models, and any valid refine for SDEs.
    assert_eq!(parse(&format!("{sgd}\nrefine = 1\n")).unwrap().run.refine, 1);
    assert_eq!(parse(&plus("refine = 8")).unwrap().run.refine, 8);
}

#[test]
fn chunk_must_be_a_positive_multiple_of_batch() {
    fails(&plus("chunk = 100"), &["run.chunk = 100", "multiple of 256"]);
    fails(&plus("chunk = 0"), &["run.chunk = 0", "multiple of 256"]);
    fails(&plus("chunk = -256"), &["run.chunk = -256", "multiple of 256"]);
    assert_eq!(parse(&plus("chunk = 65536")).unwrap().run.chunk, Some(65536));
    assert_eq!(parse(BASE).unwrap().run.chunk, None);
}

#[test]
fn record_every_must_be_positive() {
    fails(&plus("[record]\nevery = 0"), &["record.every = 0", "must be an integer >= 1"]);
}

#[test]
fn stationary_bins_in_range() {
    fails(&plus("[stationary]\nbins = 0"), &["stationary.bins = 0", ">= 1", "65536"]);
    fails(&plus("[stationary]\nbins = 65537"), &["stationary.bins = 65537", "65536"]);
    fails(&plus("[stationary]\nevery = 0"), &["stationary.every = 0", ">= 1"]);
}

#[test]
fn stationary_range_must_be_ordered() {
    fails(&plus("[stationary]\nrange = [1.0, -1.0]"), &["stationary.range = [1.0, -1.0]", "lo < hi"]);
    fails(&plus("[stationary]\nrange = [1.0, 1.0]"), &["stationary.range = [1.0, 1.0]", "lo < hi"]);
    fails(&plus("[stationary]\nrange = [-inf, 1.0]"), &["stationary.range = [-inf, 1.0]", "finite"]);
    fails(&plus("[stationary]\nrange = \"wide\""), &["stationary.range = \"wide\"", "\"auto\""]);
    fails(&plus("[stationary]\nrange = [0, 1, 2]"), &["stationary.range = [0, 1, 2]", "[lo, hi]"]);
    let e = parse(&plus("[stationary]\nrange = [-0.5, 2]")).unwrap();
    assert_eq!(e.stationary.range, HistRange::Fixed { lo: -0.5, hi: 2.0 });
}

#[test]
fn stationary_start_must_be_before_last_step() {
    fails(&plus("[stationary]\nstart = 1000"), &["stationary.start = 1000", "< run.steps = 1000"]);
    fails(&plus("[stationary]\nstart = -1"), &["stationary.start = -1", ">= 0"]);
    assert_eq!(parse(&plus("[stationary]\nstart = 999")).unwrap().stationary.start, 999);
    assert_eq!(parse(&plus("[stationary]\nstart = 0")).unwrap().stationary.start, 0);
}

#[test]
fn dim_must_be_in_range_and_match_vectors() {
    let text = BASE.replace("[objective]\n", "[objective]\ndim = 0\n");
    let max = MAX_DIM.to_string();
    fails(&text, &["objective.dim = 0", ">= 1", &max]);
    let text = BASE.replace("[objective]\n", &format!("[objective]\ndim = {}\n", MAX_DIM + 1));
    fails(&text, &[&format!("objective.dim = {}", MAX_DIM + 1), &max]);
    let text = BASE.replace("[objective]\n", "[objective]\ndim = 3\n");
    fails(&text, &["objective.h = [1.0, 2.0, 5.0, 10.0]", "length 4", "objective.dim = 3"]);
}

#[test]
fn wrong_table_types() {
    fails(&format!("init = 3\n{BASE}"), &["init = 3", "table", "x0"]);
    fails(&format!("name = \"\"\n{BASE}"), &["name = \"\"", "non-empty string"]);
}

// ----- good inputs -------------------------------------------------------------------------

#[test]
fn examples_parse_with_dimension_four() {
    assert_eq!(EXAMPLES.len(), 12);
    // The reference-quadratic examples; dcsgd and heavy-tails are checked below.
    for (name, desc, _) in &EXAMPLES[..3] {
        let e = example(name, &none()).unwrap();
        assert!(!desc.is_empty());
        assert_eq!(e.name, *name);
        assert_eq!(e.dim, 4);
        assert_eq!(e.model.eta, 1e-3);
        assert_eq!(e.objective, Objective::Quadratic { h: vec![1.0, 2.0, 5.0, 10.0], center: vec![0.0; 4] });
        assert_eq!(e.noise, Noise::Gaussian { sigma: vec![1.0, 2.0, 0.5, 3.0] });
        assert_eq!(e.x0, vec![0.0; 4]);
        assert_eq!(
            e.run,
            RunSpec {
                paths: 1 << 16,
                steps: 30_000,
                refine: 1,
                seed: 1,
                backend: BackendChoice::Auto,
                chunk: None,
                divergence_bound: optsde::spec::DEFAULT_DIVERGENCE_BOUND
            }
        );
        assert_eq!(e.record.every, 100);
        assert_eq!(
            e.stationary,
            StationarySpec { start: 10_000, every: 10, bins: 128, range: HistRange::Auto, cov: false, pairs: vec![] }
        );
        assert_eq!(e.path_steps(), (1u128 << 16) * 30_000);
    }
    assert_eq!(example("sgd", &none()).unwrap().model.name, ModelKind::Sgd);
    assert_eq!(example("signsgd", &none()).unwrap().model.name, ModelKind::SignsgdSde);
    let adamw = example("adamw", &none()).unwrap();
    assert_eq!(adamw.model.name, ModelKind::AdamSde);
    let a = adamw.model.adaptive.unwrap();
    assert_eq!((a.beta1, a.beta2, a.weight_decay, a.correction), (0.9, 0.999, 5.0, Correction::Consistent));
    let dcsgd = example("dcsgd", &none()).unwrap();
    assert_eq!((dcsgd.model.name, dcsgd.model.agents, dcsgd.dim), (ModelKind::Dcsgd, 4, 8));
    assert_eq!(dcsgd.model.compressor, optsde::spec::Compressor::RandK { k: 2 });
    let ht = example("heavy-tails", &none()).unwrap();
    assert_eq!(ht.noise, Noise::StudentT { nu: vec![1.5; 4], scale: vec![1.0, 2.0, 0.5, 3.0] });
    assert_eq!(ht.run.divergence_bound, 10.0);
}

#[test]
fn unknown_example() {
    let e = example("adam", &none()).unwrap_err();
    assert!(matches!(e, Error::UnknownExample { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("\"adam\"") && msg.contains("sgd, signsgd"), "{msg}");
}

#[test]
fn scalars_broadcast_to_vector_dimension() {
    let e = parse(&edit("sigma", "sigma = 0.5")).unwrap();
    assert_eq!(e.dim, 4);
    assert_eq!(e.noise, Noise::Gaussian { sigma: vec![0.5; 4] });
    let e = parse(&plus("[init]\nx0 = 2")).unwrap();
    assert_eq!(e.x0, vec![2.0; 4]);
    // The dimension can come from any vector field, not only h.
    let text = edit("h =", "h = 3").replace("sigma = [1.0, 2.0, 0.5, 3.0]", "sigma = 1");
    let e = parse(&format!("{text}\n[init]\nx0 = [1, -1]\n")).unwrap();
    assert_eq!(e.dim, 2);
    assert_eq!(e.objective, Objective::Quadratic { h: vec![3.0; 2], center: vec![0.0; 2] });
    assert_eq!(e.x0, vec![1.0, -1.0]);
}

#[test]
fn all_scalars_give_dimension_one() {
    let text = edit("h =", "h = 3").replace("sigma = [1.0, 2.0, 0.5, 3.0]", "sigma = 1");
    let e = parse(&text).unwrap();
    assert_eq!(e.dim, 1);
    assert_eq!(e.x0, vec![0.0]);
}

#[test]
fn dim_broadcasts_scalars() {
    let text = edit("h =", "h = 3\ndim = 64\ncenter = 1.5").replace("sigma = [1.0, 2.0, 0.5, 3.0]", "sigma = 1");
    let e = parse(&text).unwrap();
    assert_eq!(e.dim, 64);
    assert_eq!(e.objective, Objective::Quadratic { h: vec![3.0; 64], center: vec![1.5; 64] });
    assert_eq!(e.noise, Noise::Gaussian { sigma: vec![1.0; 64] });
    assert_eq!(e.x0, vec![0.0; 64]);
    // With dim, vectors of that length are fine.
    let e = parse(&BASE.replace("[objective]\n", "[objective]\ndim = 4\n")).unwrap();
    assert_eq!(e.dim, 4);
}

#[test]
fn defaults_are_as_documented() {
    let e = parse(BASE).unwrap();
    assert_eq!(e.name, "test");
    assert_eq!(e.run.refine, 1);
    assert_eq!(e.run.seed, 1);
    assert_eq!(e.run.backend, BackendChoice::Auto);
    assert_eq!(e.run.chunk, None);
    assert_eq!(e.x0, vec![0.0; 4]);
    assert_eq!(e.objective, Objective::Quadratic { h: vec![1.0, 2.0, 5.0, 10.0], center: vec![0.0; 4] });
    assert_eq!(e.record.every, 5); // max(1, 1000 / 200)
    assert_eq!(
        e.stationary,
        StationarySpec { start: 500, every: 10, bins: 128, range: HistRange::Auto, cov: false, pairs: vec![] }
    );
    // record.every never drops to 0.
    let e = parse(&edit("steps", "steps = 150")).unwrap();
    assert_eq!(e.record.every, 1);
    assert_eq!(e.stationary.start, 75);
    let e = parse(&edit("steps", "steps = 1")).unwrap();
    assert_eq!((e.record.every, e.stationary.start), (1, 0));
    // A top-level name wins over the default.
    assert_eq!(parse(&format!("name = \"my run\"\n{BASE}")).unwrap().name, "my run");
}

#[test]
fn json_equals_toml() {
    let toml_text = format!(
        "name = \"same\"\n{BASE}refine = 4\nseed = 7\nbackend = \"cpu\"\nchunk = 512\n\
         [init]\nx0 = [0.5, 0, 0, -1]\n[record]\nevery = 20\n\
         [stationary]\nstart = 100\nevery = 5\nbins = 64\nrange = [-2, 2]\n"
    );
    let json_text = r#"{
        "name": "same",
        "model": {"name": "sgd-sde", "eta": 1e-3},
        "objective": {"name": "quadratic", "h": [1.0, 2.0, 5.0, 10.0], "center": null},
        "noise": {"name": "gaussian", "sigma": [1.0, 2.0, 0.5, 3.0]},
        "init": {"x0": [0.5, 0, 0, -1]},
        "run": {"paths": 4096, "steps": 1000, "refine": 4, "seed": 7, "backend": "cpu", "chunk": 512},
        "record": {"every": 20},
        "stationary": {"start": 100, "every": 5, "bins": 64, "range": [-2, 2]}
    }"#;
    let a = parse(&toml_text).unwrap();
    let b = Experiment::from_str(json_text, "json", "exp.json", "other", &none()).unwrap();
    assert_eq!(a, b);
    assert_eq!(b.stationary.range, HistRange::Fixed { lo: -2.0, hi: 2.0 });
    // Same messages in JSON.
    let bad = json_text.replace("\"bins\": 64", "\"bins\": 0");
    let r = Experiment::from_str(&bad, "json", "exp.json", "x", &none());
    fails_with(r, &["stationary.bins = 0", ">= 1"]);
    let bad = json_text.replace("\"bins\": 64", "\"binz\": 64");
    let r = Experiment::from_str(&bad, "json", "exp.json", "x", &none());
    fails_with(r, &["exp.json", "`stationary.binz`", "start, every, bins, range"]);
}

#[test]
fn load_reads_toml_and_json_and_names_by_stem() {
    let dir = std::env::temp_dir().join(format!("optsde-spec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("quad_run.toml");
    std::fs::write(&t, BASE).unwrap();
    let e = Experiment::load(&t, &none()).unwrap();
    assert_eq!(e.name, "quad_run");
    let j = dir.join("other.JSON");
    let json = r#"{"model": {"name": "sgd", "eta": 0.01}, "objective": {"name": "quadratic", "h": 2},
        "noise": {"name": "gaussian", "sigma": 1}, "run": {"paths": 256, "steps": 10}}"#;
    std::fs::write(&j, json).unwrap();
    let e = Experiment::load(&j, &none()).unwrap();
    assert_eq!((e.name.as_str(), e.dim, e.run.paths), ("other", 1, 256));
    // Errors from load name the file.
    std::fs::write(&t, edit("eta", "etaa = 1")).unwrap();
    let msg = Experiment::load(&t, &none()).unwrap_err().to_string();
    assert!(msg.contains("quad_run.toml") && msg.contains("`model.etaa`"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn overrides_apply_before_validation() {
    let o = Overrides {
        paths: Some(512),
        steps: Some(10),
        seed: Some(99),
        backend: Some(BackendChoice::Cpu),
        ..Overrides::default()
    };
    // Overridden values replace the file's, and defaults follow the overridden steps.
    let e = Experiment::from_str(BASE, "toml", "t", "t", &o).unwrap();
    assert_eq!((e.run.paths, e.run.steps, e.run.seed, e.run.backend), (512, 10, 99, BackendChoice::Cpu));
    assert_eq!((e.record.every, e.stationary.start), (1, 5));
    // --steps 10 with a file start of 20000 fails with the stationary.start message.
    let text = plus("[stationary]\nstart = 800");
    assert!(parse(&text).is_ok());
    let o = Overrides { steps: Some(10), ..Overrides::default() };
    let r = Experiment::from_str(&text, "toml", "t", "t", &o);
    fails_with(r, &["stationary.start = 800", "< run.steps = 10"]);
    // Overrides are validated like file values.
    let o = Overrides { paths: Some(0), ..Overrides::default() };
    fails_with(Experiment::from_str(BASE, "toml", "t", "t", &o), &["run.paths = 0", ">= 1"]);
    // And they can supply a key the file lacks.
    let o = Overrides { steps: Some(20), ..Overrides::default() };
    let e = Experiment::from_str(&edit("steps", ""), "toml", "t", "t", &o).unwrap();
    assert_eq!(e.run.steps, 20);
    // Examples take overrides too; steps below an example's stationary.start scale it
    // (tests/it/first_contact.rs).
    let o = Overrides { paths: Some(256), steps: Some(100), ..Overrides::default() };
    let e = example("signsgd", &o).unwrap();
    assert_eq!((e.run.paths, e.run.steps, e.stationary.start), (256, 100, 33));
}

/// BASE with the adaptive model `model` and extra `[model]` lines.
fn adaptive(model: &str, extra: &str) -> String {
    edit("name = \"sgd-sde\"", &format!("name = \"{model}\"\n{extra}"))
}

#[test]
fn adaptive_defaults_and_keys() {
    let e = parse(&adaptive("adam-sde", "")).unwrap();
    let a = e.model.adaptive.unwrap();
    assert_eq!((a.beta1, a.beta2, a.eps, a.weight_decay), (0.9, 0.999, 1e-8, 0.0));
    assert_eq!(a.correction, Correction::Consistent);
    let e = parse(&adaptive("rmsprop", "beta = 0.9\nweight_decay = 5")).unwrap();
    let a = e.model.adaptive.unwrap();
    assert_eq!((a.beta1, a.beta2, a.weight_decay), (0.0, 0.9, 5.0));
    let e = parse(&adaptive("adam-sde", "correction = \"drift-only\"")).unwrap();
    assert_eq!(e.model.adaptive.unwrap().correction, Correction::DriftOnly);
    assert!(parse(&BASE.replace("name = \"sgd-sde\"", "name = \"sgd-sde\"\nbeta = 0.9")).is_err());
}

#[test]
fn adaptive_bad_values() {
    fails(&adaptive("rmsprop", "beta = 1.0"), &["model.beta", "1.0", "0 <= beta < 1"]);
    fails(&adaptive("rmsprop-sde", "beta = -0.1"), &["model.beta", "-0.1", "0 <= beta < 1"]);
    fails(&adaptive("adam", "beta1 = 1"), &["model.beta1", "1", "0 <= beta < 1"]);
    fails(&adaptive("adam-sde", "beta2 = nan"), &["model.beta2", "nan", "0 <= beta < 1"]);
    fails(&adaptive("adam", "eps = 0.0"), &["model.eps", "0.0", "> 0"]);
    fails(&adaptive("rmsprop", "eps = -1e-8"), &["model.eps", "-1e-8", "> 0"]);
    fails(&adaptive("adam", "weight_decay = -1"), &["model.weight_decay", "-1", ">= 0"]);
    fails(
        &adaptive("adam-sde", "correction = \"bogus\""),
        &["model.correction", "bogus", "consistent, drift-only, none"],
    );
}

#[test]
fn adaptive_keys_belong_to_their_model() {
    // RMSprop has one beta, Adam two; among the adaptive models only adam-sde has a correction
    // (the message says which models take which); the P7 SDEs have no weight decay.
    fails(&adaptive("adam", "beta = 0.9"), &["unknown key", "model.beta", "beta1"]);
    fails(&adaptive("rmsprop", "beta1 = 0.9"), &["unknown key", "model.beta1", "beta"]);
    fails(&adaptive("adam", "correction = \"none\""), &["model.correction", "adam-sde takes", "model adam has no"]);
    fails(&adaptive("adam-malladi-sde", "weight_decay = 1"), &["unknown key", "model.weight_decay"]);
    fails(&adaptive("rmsprop-malladi-sde", "weight_decay = 1"), &["unknown key", "model.weight_decay"]);
}

#[test]
fn agents_key() {
    let e = parse(&edit("name = \"sgd-sde\"", "name = \"dsignsgd\"\nagents = 4")).unwrap();
    assert_eq!(e.model.agents, 4);
    assert_eq!(parse(&edit("name = \"sgd-sde\"", "name = \"dsgd-sde\"")).unwrap().model.agents, 1);
    assert_eq!(parse(BASE).unwrap().model.agents, 1);
    // The distributed SDEs are SDEs: they take refine; the optimizers do not.
    let with_refine = |m: &str| {
        edit("name = \"sgd-sde\"", &format!("name = \"{m}\"")).replace("steps = 1000", "steps = 1000\nrefine = 2")
    };
    assert_eq!(parse(&with_refine("dsgd-sde")).unwrap().run.refine, 2);
    assert_eq!(parse(&with_refine("dsignsgd-sde")).unwrap().run.refine, 2);
    fails(&with_refine("dsignsgd"), &["run.refine", "SDE models only"]);
    fails(&edit("name = \"sgd-sde\"", "name = \"dsgd\"\nagents = 0"), &["model.agents", "0", ">= 1"]);
    fails(&edit("name = \"sgd-sde\"", "name = \"dsgd\"\nagents = 5000"), &["model.agents", "5000", "4096"]);
    fails(&edit("name = \"sgd-sde\"", "name = \"sgd\"\nagents = 4"), &["unknown key", "model.agents"]);
    fails(
        &edit("name = \"sgd-sde\"", "name = \"dsignsgd-sde\"").replace("sigma = [1.0, 2.0, 0.5, 3.0]", "sigma = 0.0"),
        &["noise.sigma", "> 0"],
    );
}
