//! First contact (issue 23): the `--start`, `--record-every` and `--refine` overrides, a small
//! `--steps` on an example (its step settings scale with it, and it says so), `optsde examples
//! NAME`, and every hint `optsde examples` prints working as printed.

use crate::common::TempDir;

use std::process::{Command, Output};

use optsde::spec::{EXAMPLES, Experiment, Overrides, Study, example, example_noted};

const BIN: &str = env!("CARGO_BIN_EXE_optsde");

fn optsde(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("the optsde binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The overrides set their keys, validated like the file's values.
#[test]
fn start_record_every_and_refine_override_the_file() {
    let o = Overrides { start: Some(700), record_every: Some(7), ..Overrides::default() };
    let e = example("sgd", &o).unwrap();
    assert_eq!((e.stationary.start, e.record.every), (700, 7));
    let e = example("signsgd", &Overrides { refine: Some(4), ..Overrides::default() }).unwrap();
    assert_eq!(e.run.refine, 4);
    let msg = example("sgd", &Overrides { refine: Some(4), ..Overrides::default() }).unwrap_err().to_string();
    assert!(msg.contains("run.refine = 4") && msg.contains("SDE models only"), "{msg}");
    let msg = example("sgd", &Overrides { start: Some(30000), ..Overrides::default() }).unwrap_err().to_string();
    assert!(msg.contains("stationary.start = 30000") && msg.contains("< run.steps = 30000"), "{msg}");
    let msg = example("sgd", &Overrides { record_every: Some(0), ..Overrides::default() }).unwrap_err().to_string();
    assert!(msg.contains("record.every = 0"), "{msg}");
}

/// `--steps` below an example's stationary.start scales the settings the overrides leave alone
/// by the same factor and says so; a user's file keeps the error, which names --start.
#[test]
fn a_small_steps_rescales_an_example_but_not_a_file() {
    let o = Overrides { steps: Some(2000), ..Overrides::default() };
    let (e, notes) = example_noted("signsgd", &o).unwrap();
    assert_eq!((e.run.steps, e.stationary.start, e.record.every, e.stationary.every), (2000, 666, 6, 10));
    assert_eq!(notes.len(), 1, "{notes:?}");
    for part in ["--steps 2000", "stationary.start 10000 -> 666", "record.every 100 -> 6", "--start"] {
        assert!(notes[0].contains(part), "{part}: {}", notes[0]);
    }
    // What the user gives is kept; steps above the start change nothing.
    let o = Overrides { steps: Some(2000), record_every: Some(50), ..Overrides::default() };
    let (e, _) = example_noted("signsgd", &o).unwrap();
    assert_eq!((e.stationary.start, e.record.every), (666, 50));
    let o = Overrides { steps: Some(2000), start: Some(1500), ..Overrides::default() };
    let (e, notes) = example_noted("signsgd", &o).unwrap();
    assert_eq!((e.stationary.start, e.record.every, notes.len()), (1500, 100, 0));
    let (e, notes) = example_noted("sgd", &Overrides { steps: Some(20000), ..Overrides::default() }).unwrap();
    assert_eq!((e.stationary.start, e.record.every, notes.len()), (10000, 100, 0));
    // A stationary stride longer than the rescaled window is scaled too.
    let (e, _) = example_noted("sgd", &Overrides { steps: Some(12), ..Overrides::default() }).unwrap();
    assert_eq!((e.stationary.start, e.record.every, e.stationary.every), (4, 1, 1));

    // A file keeps its error, with the hint.
    let file = optsde::spec::example_text("signsgd").unwrap();
    let o = Overrides { steps: Some(2000), ..Overrides::default() };
    for msg in [
        Experiment::from_str(file, "toml", "f.toml", "f", &o).unwrap_err().to_string(),
        Study::from_str(file, "toml", "f.toml", "f", &o).unwrap_err().to_string(),
    ] {
        for part in ["stationary.start = 10000", "< run.steps = 2000", "--start", "--record-every"] {
            assert!(msg.contains(part), "{part}: {msg}");
        }
    }

    // The command line: the example runs and the note is on stderr.
    let tmp = TempDir::new("first");
    let out = tmp.path().join("o");
    let args = ["run", "--example", "signsgd", "--steps", "2000", "--paths", "512", "--backend", "cpu"];
    let o = optsde(&[&args[..], &["--out", out.to_str().unwrap(), "--quiet", "--no-plots"]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("note: --steps 2000"), "{}", text(&o.stderr));
}

/// `optsde examples NAME` prints the example's TOML, which runs as a file; an unknown name is
/// an error listing the examples.
#[test]
fn examples_name_prints_the_toml() {
    for (name, _, toml) in EXAMPLES {
        let o = optsde(&["examples", name]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), *toml, "{name}");
    }
    let o = optsde(&["examples", "sgdd"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("\"sgdd\"") && EXAMPLES.iter().all(|(n, _, _)| err.contains(n)), "{err}");
}

/// Every hint line of `optsde examples` (`Label:   optsde ...`) works as printed: `examples
/// NAME > FILE` writes a file that validates, `run` commands validate, and the quick look runs,
/// with fewer path-steps than the example.
#[test]
fn every_hint_of_examples_works() {
    let o = optsde(&["examples"]);
    assert!(o.status.success());
    let listing = text(&o.stdout);
    let tmp = TempDir::new("hints");
    let mut hints = 0;
    let mut quick = false;
    for line in listing.lines() {
        let Some((label, cmd)) = line.split_once(":") else { continue };
        let Some(cmd) = cmd.trim().strip_prefix("optsde ") else { continue };
        hints += 1;
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let flag = |f: &str| words.iter().position(|w| *w == f).map(|i| words[i + 1]);
        let number = |f: &str| flag(f).map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{line}: {f} {v}")));
        match words[0] {
            "examples" => {
                assert_eq!(words.len(), 4, "{line}: examples NAME > FILE");
                assert_eq!(words[2], ">", "{line}");
                let o = optsde(&words[..2]);
                assert!(o.status.success(), "{line}: {}", text(&o.stderr));
                let file = tmp.file(words[3], &text(&o.stdout));
                Study::load(&file, &Overrides::default()).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
            "run" => {
                let o = Overrides { paths: number("--paths"), steps: number("--steps"), ..Overrides::default() };
                let exp = match flag("--example") {
                    Some(name) => example(name, &o),
                    None => Experiment::load(&tmp.path().join(words[1]), &o),
                }
                .unwrap_or_else(|e| panic!("{line}: {e}"));
                if label.contains("quick") {
                    quick = true;
                    let full = example(flag("--example").unwrap(), &Overrides::default()).unwrap();
                    assert!(exp.path_steps() * 100 <= full.path_steps(), "{line}: not a quick look");
                    let out = tmp.path().join("quick");
                    let extra = ["--backend", "cpu", "--out", out.to_str().unwrap(), "--quiet", "--no-plots"];
                    let o = optsde(&[&words[..], &extra[..]].concat());
                    assert!(o.status.success(), "{line}: {}", text(&o.stderr));
                }
            }
            other => panic!("{line}: unexpected command {other}"),
        }
    }
    assert!(hints >= 4 && quick, "{listing}");
}
