//! `--resume` after SIGKILL for every strategy (table searches on a synthetic NAS-Bench-201
//! table: fast, so the whole budget runs in seconds), and command lines that combine options
//! badly are refused naming the option.

mod search_common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use search_common::*;

fn table() -> PathBuf {
    shared_table()
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
    let at_kill = kill_once_recorded(&table_args(&t, strategy, &b, &killed), &killed, kill_at);
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
    assert!(
        exact_state(&whole) == exact_state(&killed),
        "{strategy}: state.json or the controller checkpoint differs after SIGKILL at {at_kill} and --resume"
    );
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
    let _ = std::fs::remove_dir_all(&base);
}

/// Tiny macro space and proxy (as tests/search_e2e.rs), 4 children per batch trained together
/// under successive halving (3 epochs, rungs after 1 and 2).
fn halving_config() -> nasgpu::search::SearchConfig {
    let mut c = nasgpu::search::SearchConfig::quick();
    c.space.layers = 2;
    c.space.max_layers = 2;
    c.space.filter_heights = vec![1, 3];
    c.space.filter_widths = vec![1, 3];
    c.space.filter_counts = vec![4, 8];
    c.space.strides = vec![1, 2];
    c.reinforce.children_per_step = 4;
    c.reinforce.reward_window = 1;
    c.child.epochs = 3;
    c.child.batch_size = 32;
    c.child.train_images = 256;
    c.child.validation_images = 128;
    c.child.latency = false;
    c.halving.min_epochs = 1;
    c.halving.eta = 2;
    c.run.budget = 4;
    c.run.strategy = nasgpu::search::StrategyKind::Random;
    c.run.seed = 5;
    c
}

/// A halving batch's children are recorded one synced line at a time when the batch ends; a
/// SIGKILL between two of those lines leaves part of the batch recorded. Resuming must give
/// the rest of the batch the outcomes they had in the uninterrupted run (halving decided among
/// all 4), not halve the remaining children among themselves. Simulated exactly: the run
/// directory as SIGKILL left it during training (state with the batch pending, no lines), plus
/// the first two lines the uninterrupted run wrote.
#[test]
fn halving_batch_killed_between_its_records_resumes_to_the_same_history() {
    let base = temp_dir("resume-halving");
    std::fs::create_dir_all(&base).unwrap();
    let cfg = base.join("config.json");
    std::fs::write(&cfg, serde_json::to_string(&halving_config()).unwrap()).unwrap();
    let args = |out: &Path| -> Vec<String> {
        [
            "search",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let whole = base.join("whole");
    let w: Vec<String> = args(&whole);
    ok(&nasgpu(&w.iter().map(String::as_str).collect::<Vec<_>>()));
    let reference = history(&whole);
    assert_eq!(reference.len(), 4);

    let killed = base.join("killed");
    let k: Vec<String> = args(&killed);
    let mut child = command(&k.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = killed.join("state.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"pending\":{"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL, while the batch trains
    child.wait().unwrap();
    assert_eq!(lines(&killed.join("history.jsonl")), 0, "killed too late");
    let text = std::fs::read_to_string(whole.join("history.jsonl")).unwrap();
    let first_two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(killed.join("history.jsonl"), first_two).unwrap();
    let o = nasgpu(&["search", "--resume", killed.to_str().unwrap()]);
    assert!(o.status.success(), "resume failed: {}", stderr(&o));
    let resumed = history(&killed);
    let (a, b) = (stripped(&reference), stripped(&resumed));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.status, &x.val_accuracy),
            (y.status, &y.val_accuracy),
            "child {}: uninterrupted vs resumed",
            x.index
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// The state a search leaves after its first batch of `m` children was recorded but before
/// `state.json` was updated (a SIGKILL in between), built exactly from a run whose budget is
/// that one batch: its history, and its state set back to "batch 0 in flight" (the generator
/// after proposing, the controller's uniform draws, no strategy state, no checkpoint).
fn killed_before_the_first_state_update(dir: &Path, strategy: &str, m: usize, budget: usize) {
    use rand::RngExt;
    let t = table();
    let mut args = table_args(&t, strategy, "0", dir);
    let (m_text, budget_text) = (m.to_string(), m.to_string());
    let at = args.iter().position(|a| *a == "--budget").unwrap() + 1;
    args[at] = &budget_text;
    args.extend(["--children-per-step", &m_text]);
    ok(&nasgpu(&args));
    let records = history(dir);
    assert_eq!(records.len(), m);
    let path = dir.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let replay: Vec<f32> = if matches!(strategy, "reinforce" | "ppo") {
        // The controller draws one uniform per decision (6 for a cell) from the search's
        // generator, seeded by --seed 7.
        let mut rng = nasgpu::util::seeded_rng(7);
        (0..6 * m).map(|_| rng.random::<f32>()).collect()
    } else {
        Vec::new()
    };
    state["step"] = 0.into();
    state["children_done"] = 0.into();
    state["strategy"] = serde_json::Value::Null;
    state["pending"] = serde_json::json!({
        "step": 0,
        "first_child": 0,
        "rollouts": records.iter().map(|r| &r.rollout).collect::<Vec<_>>(),
        "replay": replay,
    });
    std::fs::write(&path, state.to_string()).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("controller-") || name == "summary.json" {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    let config_path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["run"]["budget"] = budget.into();
    std::fs::write(&config_path, config.to_string()).unwrap();
}

/// The state and controller checkpoint that must survive a resume bit for bit.
fn exact_state(dir: &Path) -> (serde_json::Value, Option<Vec<u8>>) {
    search_common::exact_state(dir, "strategy")
}

/// A kill between the first recorded children and the first `state.json` update, resumed,
/// gives the uninterrupted run's state to the bit (REINFORCE's and PPO's baseline, the
/// controller checkpoint, the generator), for every strategy.
#[test]
fn a_kill_before_the_first_state_update_resumes_to_the_same_state_bits() {
    let t = table();
    let (m, budget) = (4, 12);
    for strategy in ["random", "reinforce", "ppo", "evolution"] {
        let base = temp_dir(&format!("exact-{strategy}"));
        let whole = base.join("whole");
        let b = budget.to_string();
        let mut args = table_args(&t, strategy, &b, &whole);
        let m_text = m.to_string();
        args.extend(["--children-per-step", &m_text]);
        ok(&nasgpu(&args));
        let killed = base.join("killed");
        killed_before_the_first_state_update(&killed, strategy, m, budget);
        let o = nasgpu(&["search", "--resume", killed.to_str().unwrap()]);
        assert!(o.status.success(), "{strategy}: {}", stderr(&o));
        assert_eq!(
            stripped(&history(&whole)),
            stripped(&history(&killed)),
            "{strategy}: histories"
        );
        let (a, b) = (exact_state(&whole), exact_state(&killed));
        if let Some(x) = a.0["strategy"]["baseline"].as_f64() {
            let y = b.0["strategy"]["baseline"].as_f64().unwrap();
            assert_eq!(
                x.to_bits(),
                y.to_bits(),
                "{strategy}: baseline {x:?} uninterrupted, {y:?} resumed"
            );
        }
        assert_eq!(a.0, b.0, "{strategy}: state.json");
        assert!(a.1 == b.1, "{strategy}: the controller checkpoints differ");
        let _ = std::fs::remove_dir_all(&base);
    }
}
