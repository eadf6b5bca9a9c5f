//! `nasgpu search --evaluator supernet`: single-path one-shot search on the NAS-Bench-201
//! supernet through the CLI. Children are measured on shared weights (no child is trained),
//! the search resumes after SIGKILL to the same history and the same checkpoint bits, a
//! damaged checkpoint is refused naming its file, and settings that cannot work are refused
//! naming the field before a run directory exists.

mod search_common;

use std::path::Path;

use nasgpu::search::{ChildStatus, SearchConfig, SpaceKind, StrategyKind};
use search_common::*;

/// A supernet small enough for lavapipe in seconds: one cell per stage at 4 channels, a
/// 24-step warm-up and 4 steps between batches of 2, on a 256-image split of the bundled data.
fn config(strategy: StrategyKind) -> SearchConfig {
    let mut c = SearchConfig::quick();
    c.run.space = SpaceKind::Nb201;
    c.run.evaluator = nasgpu::search::EvaluatorKind::Supernet;
    c.run.strategy = strategy;
    c.run.budget = 8;
    c.run.seed = 3;
    c.nb201.cells_per_stage = 1;
    c.nb201.channels = 4;
    c.reinforce.children_per_step = 2;
    c.evolution.population = 4;
    c.evolution.sample_size = 2;
    c.child.train_images = 256;
    c.child.validation_images = 64;
    c.supernet.warmup_steps = 24;
    c.supernet.steps_per_update = 4;
    c.supernet.batch_size = 16;
    c.supernet.eval_images = 64;
    c.supernet.plan_cache = 2;
    c
}

/// The state without its timings, and the bytes of the supernet checkpoint it names.
fn exact_state(dir: &Path) -> (serde_json::Value, Vec<u8>) {
    let (state, checkpoint) = search_common::exact_state(dir, "evaluator");
    (
        state,
        checkpoint.expect("state.json names the supernet checkpoint"),
    )
}

fn checkpoints(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("supernet-"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_supernet_search_measures_children_on_shared_weights_and_resumes_after_sigkill() {
    let base = temp_dir("supernet-search");
    let cfg = write_config(&base, &config(StrategyKind::Evolution));
    let whole = base.join("whole");
    let o = nasgpu(&search_args(&cfg, &whole));
    ok(&o);
    let log = stderr(&o);
    assert!(
        log.contains("evaluator supernet") && log.contains("shared parameters"),
        "the opening lines name the evaluator and the supernet's size and memory:\n{log}"
    );
    let reference = history(&whole);
    assert_eq!(reference.len(), 8);
    for r in &reference {
        assert_eq!(r.status, ChildStatus::Ok, "child {}", r.index);
        assert_eq!(r.val_accuracy.len(), 1, "one measurement per child");
        let a = r.val_accuracy[0];
        assert!((0.0..=1.0).contains(&a), "child {} accuracy {a}", r.index);
        assert!(r.architecture.nb201.is_some());
    }
    // 24 warm-up steps of 16 images on 10 classes learn something: the best path beats chance.
    let best = reference
        .iter()
        .map(|r| r.val_accuracy[0])
        .fold(0.0, f64::max);
    assert!(best > 0.15, "best path accuracy {best} on shared weights");
    // Only the checkpoint state.json names is kept.
    assert_eq!(checkpoints(&whole).len(), 1, "{:?}", checkpoints(&whole));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["evaluator"]["updates"], 4, "warm-up and 3 updates");
    assert_eq!(state["evaluator"]["steps"], 24 + 3 * 4);
    // The best architecture is a standalone network file `train --arch` reads.
    let arch = nasgpu::nn::Architecture::load(&whole.join("best.json")).unwrap();
    assert!(arch.nb201.is_some());
    // Evolution has no controller to derive from: no derived.json, none in the summary.
    assert!(!whole.join("derived.json").exists());
    assert!(summary(&whole)["derived"].is_null());

    // Killed once children are recorded (a batch measured, the next pending or updating),
    // then resumed: the same children with the same accuracies, bit for bit, and the same
    // final state and shared weights.
    let killed = base.join("killed");
    let at_kill = kill_once_recorded(&search_args(&cfg, &killed), &killed, 3);
    assert!(
        (3..8).contains(&at_kill),
        "killed with {at_kill} of 8 children recorded; the test needs a run cut short"
    );
    let o = nasgpu(&["search", "--resume", killed.to_str().unwrap()]);
    assert!(o.status.success(), "resume failed: {}", stderr(&o));
    let resumed = history(&killed);
    assert_eq!(
        stripped(&reference),
        stripped(&resumed),
        "killed at {at_kill}"
    );
    assert!(
        exact_state(&whole) == exact_state(&killed),
        "state.json or the supernet checkpoint differs after SIGKILL at {at_kill} and --resume"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// A checkpoint whose weights are not finite (a damaged file: diverged weights are never
/// saved) is refused on resume naming the file and the tensor.
#[test]
fn a_damaged_supernet_checkpoint_is_refused_on_resume() {
    let base = temp_dir("supernet-damaged");
    let mut c = config(StrategyKind::Random);
    c.run.budget = 4;
    let cfg = write_config(&base, &c);
    let run = base.join("run");
    ok(&nasgpu(&search_args(&cfg, &run)));
    // Raise the budget so there is work left, and poison the last float of the checkpoint.
    let (_, bytes) = exact_state(&run);
    let name = checkpoints(&run).pop().unwrap();
    let mut damaged = bytes.clone();
    let n = damaged.len();
    damaged[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(run.join(&name), &damaged).unwrap();
    let o = nasgpu(&["search", "--resume", run.to_str().unwrap(), "--budget", "6"]);
    assert!(!o.status.success(), "a NaN checkpoint was accepted");
    let e = stderr(&o);
    assert!(
        e.contains(&name) && e.contains("not finite") && !e.contains("panicked"),
        "{e}"
    );
    assert_eq!(
        history(&run).len(),
        4,
        "the refused resume changed the history"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn settings_a_supernet_cannot_work_with_are_refused_naming_the_field() {
    let c = config(StrategyKind::Random);
    // No supernet of the macro space yet.
    refused(&c, &["--space", "macro"], &["run.evaluator", "nb201"]);
    let mut halving = c.clone();
    halving.child.epochs = 3;
    halving.halving.min_epochs = 1;
    refused(&halving, &[], &["halving.min_epochs", "train evaluator"]);
    // A batch larger than the images a path is measured on.
    let mut batch = c.clone();
    batch.supernet.batch_size = 128;
    refused(&batch, &[], &["supernet.batch_size", "128"]);
    // A supernet far beyond the host (lavapipe's device memory is the host's), refused
    // before anything is built: its costliest path alone, then the path steps it would cache.
    let mut huge = c.clone();
    huge.nb201.channels = 1024;
    huge.nb201.cells_per_stage = 5;
    huge.supernet.batch_size = 64;
    refused(&huge, &[], &["nb201.channels", "1024", "costliest path"]);
    let mut cache = c.clone();
    cache.nb201.channels = 16;
    cache.nb201.cells_per_stage = 5;
    cache.supernet.batch_size = 64;
    cache.supernet.plan_cache = 1024;
    refused(
        &cache,
        &[],
        &["supernet.plan_cache", "1024", "cached path steps"],
    );
    let mut zero = c;
    zero.supernet.plan_cache = 0;
    refused(&zero, &[], &["supernet.plan_cache"]);
}

/// A report over runs of one strategy with different evaluators keeps them apart: random
/// search on shared weights is not random search from scratch.
#[test]
fn the_html_report_tells_shared_weight_runs_from_runs_from_scratch() {
    let base = temp_dir("supernet-report");
    let mut c = config(StrategyKind::Random);
    c.run.budget = 2;
    let cfg = write_config(&base, &c);
    let shared = base.join("shared");
    ok(&nasgpu(&search_args(&cfg, &shared)));
    // The same history as if measured from scratch: only the run's configuration differs.
    let scratch = base.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    for f in [
        "history.jsonl",
        "state.json",
        "data.json",
        "best.json",
        "summary.json",
    ] {
        std::fs::copy(shared.join(f), scratch.join(f)).unwrap();
    }
    let mut train = c.clone();
    train.run.evaluator = nasgpu::search::EvaluatorKind::Train;
    std::fs::write(
        scratch.join("config.json"),
        serde_json::to_string(&train).unwrap(),
    )
    .unwrap();
    let page = base.join("report.html");
    let o = nasgpu(&[
        "report",
        shared.to_str().unwrap(),
        scratch.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    ok(&o);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Random (nb201/supernet)") && html.contains("Random (nb201/train)"),
        "the page pools the two setups under one label"
    );
    let _ = std::fs::remove_dir_all(&base);
}
