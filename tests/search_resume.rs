//! `--resume` after SIGKILL for every strategy (table searches on a synthetic NAS-Bench-201
//! table: fast, so the whole budget runs in seconds), and command lines that combine options
//! badly are refused naming the option.

mod search_common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nasgpu::search::ChildRecord;
use search_common::*;

fn table() -> PathBuf {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let p = temp_dir("table").join("nb201.csv");
        write_table(&p);
        p
    })
    .clone()
}

fn table_args<'a>(
    table: &'a Path,
    strategy: &'a str,
    budget: &'a str,
    out: &'a Path,
) -> Vec<&'a str> {
    vec![
        "search",
        "--space",
        "nb201",
        "--table",
        table.to_str().unwrap(),
        "--table-arch-column",
        "arch",
        "--table-metric",
        "acc",
        "--table-cost",
        "secs",
        "--strategy",
        strategy,
        "--budget",
        budget,
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]
}

/// A record without what a rerun measures anew.
fn stripped(h: &[ChildRecord]) -> Vec<ChildRecord> {
    h.iter()
        .map(|r| ChildRecord {
            train_seconds: 0.0,
            latency: None,
            ..r.clone()
        })
        .collect()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Runs `strategy` whole, and again killed with SIGKILL once `kill_at` children are recorded,
/// then resumed: both histories must agree.
fn killed_and_resumed(strategy: &str, budget: usize, kill_at: usize) {
    let t = table();
    let base = temp_dir(&format!("resume-{strategy}"));
    let b = budget.to_string();
    let whole = base.join("whole");
    ok(&nasgpu(&table_args(&t, strategy, &b, &whole)));
    let reference = history(&whole);
    assert_eq!(reference.len(), budget);

    let killed = base.join("killed");
    let mut child = command(&table_args(&t, strategy, &b, &killed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let file = killed.join("history.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines(&file) < kill_at && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = lines(&file);
    assert!(
        at_kill >= kill_at && at_kill < budget,
        "{strategy}: killed with {at_kill} of {budget} children recorded; the test needs a run \
         cut short (raise the budget)"
    );
    let o = nasgpu(&["search", "--resume", killed.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "{strategy}: resume failed: {}",
        stderr(&o)
    );
    let resumed = history(&killed);
    assert_eq!(resumed.len(), budget, "{strategy}: resumed run's length");
    let (a, b) = (stripped(&reference), stripped(&resumed));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            x, y,
            "{strategy}: child {} differs after SIGKILL at {at_kill} and --resume",
            x.index
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn random_resumes_after_sigkill() {
    killed_and_resumed("random", 500, 40);
}

#[test]
fn evolution_resumes_after_sigkill() {
    killed_and_resumed("evolution", 500, 120);
}

#[test]
fn reinforce_resumes_after_sigkill() {
    killed_and_resumed("reinforce", 120, 30);
}

#[test]
fn ppo_resumes_after_sigkill() {
    killed_and_resumed("ppo", 90, 30);
}

fn refused(args: &[&str], words: &[&str]) {
    let o = nasgpu(args);
    assert!(!o.status.success(), "{args:?} was accepted");
    let e = stderr(&o);
    for w in words {
        assert!(e.contains(w), "{args:?}: '{e}' lacks '{w}'");
    }
}

#[test]
fn bad_combinations_are_refused_naming_the_option() {
    let t = table();
    let ts = t.to_str().unwrap();
    let base = temp_dir("combos");
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("run");
    let os = out.to_str().unwrap();
    refused(
        &[
            "search",
            "--space",
            "nb201",
            "--evaluator",
            "table",
            "--out",
            os,
        ],
        &["--evaluator", "table"],
    );
    refused(
        &[
            "search",
            "--space",
            "nb201",
            "--table",
            ts,
            "--data",
            base.to_str().unwrap(),
            "--out",
            os,
        ],
        &["--data"],
    );
    refused(
        &["search", "--resume", os, "--strategy", "ppo"],
        &["--resume"],
    );
    // Successive halving (and early stopping) need children that train.
    let mut c = nasgpu::search::SearchConfig::quick();
    c.halving.min_epochs = 1;
    let cfg = base.join("halving.json");
    std::fs::write(&cfg, serde_json::to_string(&c).unwrap()).unwrap();
    refused(
        &[
            "search",
            "--config",
            cfg.to_str().unwrap(),
            "--space",
            "nb201",
            "--table",
            ts,
            "--out",
            os,
        ],
        &["halving.min_epochs", "train evaluator"],
    );
    assert!(!out.exists(), "a refused command line left a run directory");
}
