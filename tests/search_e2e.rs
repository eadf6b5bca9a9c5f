//! End-to-end searches on the bundled Fashion-MNIST subset with a tiny space and proxy:
//! REINFORCE and random search record children and a trainable best.json; an interrupted
//! search (stopped in-process, or killed with SIGKILL) resumes to exactly the history of an
//! uninterrupted one.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::gpu;
use nasgpu::data::{self, Amount, DeviceDataset, Sampling};
use nasgpu::device::Gpu;
use nasgpu::nn::Architecture;
use nasgpu::search::{
    ChildRecord, Parts, ProxyTask, RunDir, Search, SearchConfig, SearchEnd, SearchEvent,
    SearchState, StrategyKind as Strategy,
};

/// Tiny space and proxy: each child trains in well under a second on lavapipe.
fn tiny_config(strategy: Strategy) -> SearchConfig {
    let mut c = SearchConfig::quick();
    c.space.layers = 2;
    c.space.max_layers = 2;
    c.space.filter_heights = vec![1, 3];
    c.space.filter_widths = vec![1, 3];
    c.space.filter_counts = vec![4, 8];
    c.space.strides = vec![1, 2];
    c.reinforce.children_per_step = 2;
    c.reinforce.reward_window = 1;
    c.child.epochs = 1;
    c.child.batch_size = 32;
    c.child.train_images = 256;
    c.child.validation_images = 128;
    c.run.budget = 6;
    c.run.strategy = strategy;
    c.run.seed = 11;
    c
}

fn task(gpu: &Arc<Gpu>, c: &SearchConfig) -> ProxyTask {
    let tt = data::bundled().unwrap();
    let split = data::split_train_validation(
        &tt.train,
        Amount::Count(c.child.validation_images),
        Sampling::Stratified,
        c.run.seed,
    )
    .unwrap();
    let train_ids = data::subset(
        &tt.train,
        &split.train,
        Amount::Count(c.child.train_images),
        Sampling::Stratified,
        c.run.seed,
    )
    .unwrap();
    let device =
        Arc::new(DeviceDataset::upload(gpu, &tt.train, &tt.train.channel_stats()).unwrap());
    ProxyTask {
        data: device,
        train_ids,
        val_ids: split.validation,
        augment: data::Augment::NONE,
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs (or resumes) a search in `dir`, stopping after `stop_after` newly recorded children.
fn run(
    gpu: &Arc<Gpu>,
    dir: &Path,
    config: Option<&SearchConfig>,
    stop_after: usize,
) -> (SearchEnd, Vec<ChildRecord>) {
    let (run_dir, config, state) = match config {
        Some(c) => (
            RunDir::create(dir, c).unwrap(),
            c.clone(),
            SearchState::new(c.run.seed),
        ),
        None => RunDir::open(dir).unwrap(),
    };
    let t = task(gpu, &config);
    let (parts, input, classes) = Parts::build(&config, Some(gpu), Some(t)).unwrap();
    let mut search = Search::new(config, parts, input, classes, run_dir, state).unwrap();
    let recorded = AtomicUsize::new(0);
    let end = search
        .run(
            &|| recorded.load(Ordering::SeqCst) >= stop_after,
            &mut |e| {
                if let SearchEvent::ChildDone { .. } = e {
                    recorded.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .unwrap();
    (end, search.run_dir().history().to_vec())
}

/// Histories equal except for measured times (training seconds, inference latency).
fn same_history(a: &[ChildRecord], b: &[ChildRecord]) -> bool {
    let strip = |h: &[ChildRecord]| {
        h.iter()
            .map(|r| ChildRecord {
                train_seconds: 0.0,
                latency: None,
                ..r.clone()
            })
            .collect::<Vec<_>>()
    };
    strip(a) == strip(b)
}

#[test]
fn searches_record_children_and_a_trainable_best_architecture() {
    let gpu = gpu();
    for strategy in [Strategy::Reinforce, Strategy::Random] {
        let dir = temp_dir(&format!("{strategy:?}"));
        let config = tiny_config(strategy);
        let (end, history) = run(&gpu, &dir, Some(&config), usize::MAX);
        assert_eq!(end, SearchEnd::Finished);
        assert_eq!(history.len(), 6);
        for (i, r) in history.iter().enumerate() {
            assert_eq!(r.index, i);
            assert_eq!(r.controller_step, i / 2);
            assert_eq!(
                r.val_accuracy.len(),
                1,
                "{strategy:?} child {i}: {:?}",
                r.error
            );
            assert!(r.reward > 0.0 && r.reward <= 1.0);
            assert!(r.parameters > 0 && r.flops > 0.0);
        }
        let best = Architecture::load(&dir.join("best.json")).unwrap();
        let top = history.iter().map(|r| r.reward).fold(0.0, f64::max);
        assert_eq!(
            history
                .iter()
                .find(|r| r.reward == top)
                .unwrap()
                .architecture,
            best
        );
        if strategy == Strategy::Reinforce {
            assert!(
                dir.join("controller-000003.safetensors").exists(),
                "controller checkpoint after 3 updates"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn interrupted_search_resumes_to_the_same_history() {
    let gpu = gpu();
    // One child at a time, so a stop can fall between two children of the same step.
    let config = SearchConfig {
        child: nasgpu::search::config::ChildConfig {
            concurrent: 1,
            ..tiny_config(Strategy::Reinforce).child
        },
        ..tiny_config(Strategy::Reinforce)
    };
    let whole = temp_dir("whole");
    let (_, reference) = run(&gpu, &whole, Some(&config), usize::MAX);
    // Stop mid-step (after child 3 of 6: step 1 has one child done), then resume twice.
    let parts = temp_dir("parts");
    let (end, first) = run(&gpu, &parts, Some(&config), 3);
    assert_eq!(end, SearchEnd::Interrupted);
    assert_eq!(first.len(), 3);
    let (_, second) = run(&gpu, &parts, None, 1);
    assert_eq!(second.len(), 4);
    let (end, all) = run(&gpu, &parts, None, usize::MAX);
    assert_eq!(end, SearchEnd::Finished);
    assert!(
        same_history(&reference, &all),
        "resumed history differs from the uninterrupted one"
    );
    std::fs::remove_dir_all(&whole).unwrap();
    std::fs::remove_dir_all(&parts).unwrap();
}

/// The binary, killed with SIGKILL while training, resumes with `--resume` to the same history.
#[test]
fn killed_search_process_resumes_to_the_same_history() {
    let gpu = gpu();
    let config = tiny_config(Strategy::Reinforce);
    let base = temp_dir("kill");
    std::fs::create_dir_all(&base).unwrap();
    let config_path = base.join("config.json");
    std::fs::write(&config_path, serde_json::to_string(&config).unwrap()).unwrap();
    let whole = base.join("whole");
    let (_, reference) = run(&gpu, &whole, Some(&config), usize::MAX);

    let killed = base.join("killed");
    let exe = env!("CARGO_BIN_EXE_nasgpu");
    let mut child = std::process::Command::new(exe)
        .args(["search", "--config"])
        .arg(&config_path)
        .arg("--out")
        .arg(&killed)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let history = killed.join("history.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    loop {
        let lines = std::fs::read_to_string(&history)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let status = std::process::Command::new(exe)
        .args(["search", "--resume"])
        .arg(&killed)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let (_, _, state) = RunDir::open(&killed).unwrap();
    assert_eq!(state.children_done, 6);
    let resumed: Vec<ChildRecord> = std::fs::read_to_string(&history)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        same_history(&reference, &resumed),
        "history after kill -9 and --resume differs"
    );
    std::fs::remove_dir_all(&base).unwrap();
}

/// Children whose training diverges are recorded with their status and reward 0, and the
/// search goes on to its budget.
#[test]
fn diverging_children_are_recorded_and_the_search_goes_on() {
    let gpu = gpu();
    let mut config = tiny_config(Strategy::Random);
    config.run.budget = 4;
    config.child.learning_rate = 1e30; // no network survives this step size
    let dir = temp_dir("diverge");
    let (end, history) = run(&gpu, &dir, Some(&config), usize::MAX);
    assert_eq!(end, SearchEnd::Finished);
    assert_eq!(history.len(), 4);
    for r in &history {
        assert_eq!(
            r.status,
            nasgpu::search::ChildStatus::NanLoss,
            "child {}: {:?}",
            r.index,
            r.val_accuracy
        );
        assert_eq!(r.reward, 0.0);
        assert!(r.error.as_deref().is_some_and(|e| e.contains("non-finite")));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The cost in state.json (and so in summary.json and `nasgpu report`) covers every session of
/// a resumed run, not only the last one.
#[test]
fn resumed_search_counts_the_cost_of_every_session() {
    let gpu = gpu();
    let config = SearchConfig {
        child: nasgpu::search::config::ChildConfig {
            concurrent: 1,
            ..tiny_config(Strategy::Reinforce).child
        },
        ..tiny_config(Strategy::Reinforce)
    };
    let dir = temp_dir("cost");
    // Session 1: step 0 (2 children, 1 update) and the first child of step 1, which is sampled.
    let (end, _) = run(&gpu, &dir, Some(&config), 3);
    assert_eq!(end, SearchEnd::Interrupted);
    let first = RunDir::open(&dir).unwrap().2.cost;
    assert_eq!(
        (first.controller_updates, first.sampled_architectures),
        (1, 4)
    );
    assert!(first.child_seconds > 0.0 && first.total_seconds > first.child_seconds);
    // Session 2: the rest of step 1 (replayed, not sampled again) and step 2.
    let (end, _) = run(&gpu, &dir, None, usize::MAX);
    assert_eq!(end, SearchEnd::Finished);
    let total = RunDir::open(&dir).unwrap().2.cost;
    assert_eq!(
        (total.controller_updates, total.sampled_architectures),
        (3, 6)
    );
    assert!(total.child_seconds > first.child_seconds);
    assert!(total.total_seconds > first.total_seconds);
    std::fs::remove_dir_all(&dir).unwrap();
}
