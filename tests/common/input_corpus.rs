//! A corpus of malformed inputs, each run through the release binary: every case must fail
//! cleanly (non-zero exit, no panic, no signal, no hang), name what is wrong, and leave nothing
//! in its output folder. Failures of all cases are gathered and reported together, with a count
//! per input kind (the numbers issue 11 asks for).
//!
//! Include it with `#[path = "common/input_corpus.rs"] mod corpus;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Builds a case's command line from its folder.
pub type Args = Box<dyn Fn(&Path) -> Vec<String>>;

/// A case gets its own empty folder; `args` builds the command line from it (the case's output
/// folder, if the command writes one, is `dir/out`).
pub struct Case {
    /// Input kind, for the per-kind counts: "idx", "cifar", "folder", "arch", "nb201",
    /// "config", "table", "option", "run".
    pub kind: &'static str,
    pub name: &'static str,
    pub args: Args,
    /// Text the error message must contain (the file, field or option, and the value).
    pub expect: Vec<&'static str>,
}

impl Case {
    pub fn new(
        kind: &'static str,
        name: &'static str,
        expect: &[&'static str],
        args: impl Fn(&Path) -> Vec<String> + 'static,
    ) -> Case {
        Case {
            kind,
            name,
            args: Box::new(args),
            expect: expect.to_vec(),
        }
    }
}

/// How one case went wrong (None: it failed the way it should).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Exit status 0.
    Accepted,
    /// Exit 101 or "panicked" on stderr.
    Panic,
    /// Killed by a signal or exit 134/137 (abort, OOM killer).
    Signal,
    /// Still running at the time limit.
    Hang,
    /// Failed, but the message lacks an expected name.
    Unnamed,
    /// Failed, but left files in its output folder.
    LeftFiles,
}

/// A fresh folder for `case` under the system temp dir.
pub fn case_dir(suite: &str, case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-{suite}-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with `args`, killing it after `limit`: (exit code or None, stderr, hung).
fn run(args: &[String], limit: Duration) -> (Option<i32>, String, bool) {
    // NASGPU_CORPUS_BIN runs the corpus against another build (an older one, for the
    // before-and-after counts of issue 11).
    let bin = std::env::var("NASGPU_CORPUS_BIN").unwrap_or(env!("CARGO_BIN_EXE_nasgpu").into());
    let mut child = Command::new(bin)
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nasgpu");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let start = Instant::now();
    let (status, hung) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status, false);
        }
        if start.elapsed() > limit {
            child.kill().ok();
            break (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap(), hung)
}

fn left_files(out: &Path) -> Vec<String> {
    match std::fs::read_dir(out) {
        Err(_) => Vec::new(),
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    }
}

/// Runs one case: the fault found, if any, and the message it printed.
pub fn check(suite: &str, case: &Case, limit: Duration) -> (Option<Fault>, String) {
    let dir = case_dir(suite, case.name);
    let args = (case.args)(&dir);
    let (code, stderr, hung) = run(&args, limit);
    let message = stderr.trim().to_string();
    let fault = if hung {
        Some(Fault::Hang)
    } else if code == Some(0) {
        Some(Fault::Accepted)
    } else if code == Some(101) || stderr.contains("panicked") {
        Some(Fault::Panic)
    } else if code.is_none() || code == Some(134) || code == Some(137) {
        Some(Fault::Signal)
    } else if let Some(missing) = case.expect.iter().find(|e| !stderr.contains(**e)) {
        Some(Fault::Unnamed).filter(|_| !missing.is_empty())
    } else if !left_files(&dir.join("out")).is_empty() {
        Some(Fault::LeftFiles)
    } else {
        None
    };
    let message = match fault {
        Some(Fault::LeftFiles) => format!("{message} [left: {:?}]", left_files(&dir.join("out"))),
        _ => message,
    };
    if fault.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    (fault, message)
}

/// Runs every case, prints one line per case and the counts per kind, and fails listing every
/// case that did not fail cleanly.
pub fn run_all(suite: &str, cases: &[Case], limit: Duration) {
    let start = Instant::now();
    let mut kinds: Vec<(&str, usize, usize, Vec<Fault>)> = Vec::new();
    let mut bad = Vec::new();
    let mut names = std::collections::HashSet::new();
    for case in cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
        let (fault, message) = check(suite, case, limit);
        let line = message.lines().last().unwrap_or("").to_string();
        eprintln!(
            "{:<7} {:<40} {}  {line}",
            case.kind,
            case.name,
            fault.map_or("ok".to_string(), |f| format!("{f:?}"))
        );
        let entry = match kinds.iter_mut().position(|k| k.0 == case.kind) {
            Some(i) => &mut kinds[i],
            None => {
                kinds.push((case.kind, 0, 0, Vec::new()));
                kinds.last_mut().unwrap()
            }
        };
        entry.1 += 1;
        match fault {
            None => entry.2 += 1,
            Some(f) => {
                entry.3.push(f);
                bad.push(format!(
                    "{} ({}): {f:?}; expected {:?}; stderr: {message}",
                    case.name, case.kind, case.expect
                ));
            }
        }
    }
    eprintln!("\nkind     cases  clean  faults");
    for (kind, n, ok, faults) in &kinds {
        eprintln!("{kind:<8} {n:>5}  {ok:>5}  {faults:?}");
    }
    eprintln!(
        "{} cases in {:.1} s",
        cases.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        bad.is_empty(),
        "{} of {} cases did not fail cleanly:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
}
