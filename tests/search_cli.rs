//! `nasgpu search --resume` as the built binary: the checks it makes on a run directory before
//! opening a GPU or loading data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nasgpu::nn::{Architecture, LayerSpec};
use nasgpu::search::{
    ChildRecord, ChildStatus, Decisions, RunDir, SearchConfig, SearchState, Strategy,
};

fn nasgpu(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args(args)
        .arg(dir)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run nasgpu")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn record(index: usize) -> ChildRecord {
    ChildRecord {
        index,
        controller_step: index / 2,
        architecture: Architecture {
            input: [1, 28, 28],
            classes: 10,
            layers: vec![LayerSpec {
                filter_height: 3,
                filter_width: 3,
                filters: 8,
                stride: 1,
                inputs: vec![],
            }],
        },
        decisions: Decisions {
            tokens: vec![vec![1, 1, 0]],
            skips: vec![vec![]],
        },
        reward: 0.5,
        val_accuracy: vec![0.8],
        parameters: 100,
        flops: 1e6,
        train_seconds: 0.5,
        status: ChildStatus::Ok,
        error: None,
    }
}

/// A random-search run of budget `budget` with `done` children finished (in steps of 2).
fn run_dir(name: &str, budget: usize, done: usize) -> PathBuf {
    let dir = temp_dir(name);
    let mut config = SearchConfig::quick();
    config.run.strategy = Strategy::Random;
    config.run.budget = budget;
    let mut run = RunDir::create(&dir, &config).unwrap();
    for i in 0..done {
        run.record(record(i)).unwrap();
    }
    let mut state = SearchState::new(config.run.seed);
    state.children_done = done;
    state.step = done.div_ceil(2);
    run.save_state(&state).unwrap();
    dir
}

#[test]
fn resuming_a_finished_run_leaves_its_summary_alone() {
    let dir = run_dir("finished", 4, 4);
    let summary = dir.join("summary.json");
    std::fs::write(&summary, "{\"status\": \"finished\"}").unwrap();
    let out = nasgpu(&["search", "--resume"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is finished: 4 children"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "{\"status\": \"finished\"}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_budget_is_validated_and_not_below_the_children_done() {
    let dir = run_dir("budget", 4, 2);
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    for (budget, expected) in [
        ("0", "--budget: run.budget: 0 (must be at least 1)"),
        ("1", "--budget 1 is below the 2 children"),
    ] {
        let out = nasgpu(&["search", "--budget", budget, "--resume"], &dir);
        assert!(!out.status.success(), "--budget {budget} was accepted");
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(dir.join("config.json")).unwrap(),
            config,
            "a refused --budget must leave config.json alone"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
