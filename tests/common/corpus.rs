//! The malformed-input corpus harness: each case builds its input in a fresh folder, runs the
//! release binary on it, and the harness checks what a user must get from a bad input: a
//! non-zero exit, no panic and no signal, a message naming the file (line, field) at fault, and
//! the folder exactly as it was (no file left behind, none rewritten). Outcomes are tallied by
//! input kind so a run prints the numbers issue 11 asks for.
//! Included with `#[path = "common/corpus.rs"] mod corpus;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command line and the words its error message must contain.
pub struct Probe {
    pub args: Vec<String>,
    pub names: Vec<String>,
}

/// One malformed input.
pub struct Case {
    pub name: &'static str,
    /// What kind of input it is (for the tally): "history", "state", "checkpoint", ...
    pub kind: &'static str,
    /// Builds the input inside the given (empty) folder and returns the probe.
    pub setup: Box<dyn Fn(&Path) -> Probe>,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Clear,
    /// Exit 0 where an error was due.
    Accepted,
    Panic,
    /// Killed by a signal, or an exit status of one (134 abort, 137 kill).
    Signal,
    Hang,
    /// An error, but without every name it should carry.
    Unnamed(Vec<String>),
    /// Files appeared, vanished or changed.
    Changed(Vec<String>),
}

/// Every file under `dir` (relative path → bytes).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if p.is_dir() {
                out.insert(rel.join(""), Vec::new());
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// The binary under test: this build's, or `NASGPU_CORPUS_BIN` (to measure an older one).
pub fn binary() -> PathBuf {
    std::env::var_os("NASGPU_CORPUS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nasgpu")))
}

/// Runs `args` with a time limit; returns (exit code or None for a signal, stderr, hung).
fn run(args: &[String], limit: Duration) -> (Option<i32>, String, bool) {
    let mut child = Command::new(binary())
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nasgpu");
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = reader.join().unwrap();
    match status {
        Some(s) => (s.code(), text, false),
        None => (None, text, true),
    }
}

/// Runs one case in `dir` and judges it.
pub fn judge(case: &Case, dir: &Path) -> (Outcome, String) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let probe = (case.setup)(dir);
    let before = snapshot(dir);
    let (code, stderr, hung) = run(&probe.args, Duration::from_secs(120));
    let after = snapshot(dir);
    let outcome = if hung {
        Outcome::Hang
    } else if stderr.contains("panicked") || code == Some(101) {
        Outcome::Panic
    } else if matches!(code, None | Some(134) | Some(137)) {
        Outcome::Signal
    } else if code == Some(0) {
        Outcome::Accepted
    } else {
        let missing: Vec<String> = probe
            .names
            .iter()
            .filter(|n| !stderr.contains(n.as_str()))
            .cloned()
            .collect();
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| k.display().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            Outcome::Unnamed(missing)
        } else if !changed.is_empty() {
            Outcome::Changed(changed)
        } else {
            Outcome::Clear
        }
    };
    (outcome, stderr)
}

/// Runs every case (each in its own folder under `base`), prints the tally by kind, and fails
/// listing every case that did not end in a clear error.
pub fn run_corpus(cases: &[Case], base: &Path) {
    let started = Instant::now();
    let mut tally: BTreeMap<&str, [usize; 7]> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let dir = base.join(case.name);
        let (outcome, stderr) = judge(case, &dir);
        let column = match &outcome {
            Outcome::Clear => 0,
            Outcome::Accepted => 1,
            Outcome::Panic => 2,
            Outcome::Signal => 3,
            Outcome::Hang => 4,
            Outcome::Unnamed(_) => 5,
            Outcome::Changed(_) => 6,
        };
        tally.entry(case.kind).or_default()[column] += 1;
        if std::env::var_os("NASGPU_CORPUS_VERBOSE").is_some() {
            eprintln!(
                "{} ({}): {outcome:?}\n    {}",
                case.name,
                case.kind,
                stderr.trim()
            );
        }
        if outcome != Outcome::Clear {
            failures.push(format!(
                "{} ({}): {outcome:?}\n    stderr: {}",
                case.name,
                case.kind,
                stderr.trim().replace('\n', "\n            ")
            ));
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    eprintln!(
        "| kind | cases | clear error | accepted | panic | signal | hang | no name | files changed |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    let mut total = [0usize; 7];
    for (kind, t) in &tally {
        let cells: Vec<String> = t.iter().map(|n| n.to_string()).collect();
        eprintln!(
            "| {kind} | {} | {} |",
            t.iter().sum::<usize>(),
            cells.join(" | ")
        );
        for (a, b) in total.iter_mut().zip(t) {
            *a += b;
        }
    }
    let cells: Vec<String> = total.iter().map(|n| n.to_string()).collect();
    eprintln!(
        "| all | {} | {} |",
        total.iter().sum::<usize>(),
        cells.join(" | ")
    );
    eprintln!(
        "{} cases in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases did not end in a clear error:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
