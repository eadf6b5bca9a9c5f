//! The run directory: refuses to overwrite a search, records history and best atomically, and
//! reopens what was written.

use nasgpu::nn::{Architecture, LayerSpec};
use nasgpu::search::{
    ChildRecord, ChildStatus, Decisions, RunDir, SearchConfig, SearchState, reward,
};

fn record(index: usize, reward: f64) -> ChildRecord {
    ChildRecord {
        index,
        controller_step: index / 2,
        architecture: Architecture {
            input: [1, 28, 28],
            classes: 10,
            layers: vec![LayerSpec {
                filter_height: 3,
                filter_width: 3,
                filters: 8 + index,
                stride: 1,
                inputs: vec![],
            }],
        },
        decisions: Decisions {
            tokens: vec![vec![1, 1, 0]],
            skips: vec![vec![]],
        },
        reward,
        val_accuracy: vec![0.5, reward],
        parameters: 100,
        flops: 1e6,
        train_seconds: 0.5,
        status: ChildStatus::Ok,
        error: None,
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn history_best_and_state_survive_reopening() {
    let dir = temp_dir("rundir");
    let config = SearchConfig::quick();
    let mut run = RunDir::create(&dir, &config).unwrap();
    run.record(record(0, 0.3)).unwrap();
    run.record(record(1, 0.7)).unwrap();
    run.record(record(2, 0.5)).unwrap();
    let mut state = SearchState::new(5);
    state.children_done = 3;
    state.step = 1;
    run.save_state(&state).unwrap();

    let best = Architecture::load(&dir.join("best.json")).unwrap();
    assert_eq!(
        best.layers[0].filters, 9,
        "best.json must hold the highest-reward child"
    );
    assert!(
        RunDir::create(&dir, &config).is_err(),
        "an existing search must not be overwritten"
    );

    let (reopened, config_back, state_back) = RunDir::open(&dir).unwrap();
    assert_eq!(config_back, config);
    assert_eq!(state_back, state);
    assert_eq!(reopened.history(), run.history());
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_history_names_file_and_line() {
    let dir = temp_dir("corrupt");
    let mut run = RunDir::create(&dir, &SearchConfig::quick()).unwrap();
    run.record(record(0, 0.3)).unwrap();
    let path = dir.join("history.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"index\": 1, \"oops\n");
    std::fs::write(&path, text).unwrap();
    let err = RunDir::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("history.jsonl") && err.contains("line 2"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reward_is_the_cubed_best_of_the_last_epochs() {
    let acc = [0.1, 0.9, 0.5, 0.6, 0.55, 0.4, 0.3];
    assert!((reward(&acc, 5, 3.0) - 0.6f64.powi(3)).abs() < 1e-12);
    assert!((reward(&acc, 10, 1.0) - 0.9).abs() < 1e-12);
    assert!((reward(&[0.8], 5, 3.0) - 0.512).abs() < 1e-12);
}

/// A run with children 0 and 1 recorded and a state that counts them.
fn two_children(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    let mut run = RunDir::create(&dir, &SearchConfig::quick()).unwrap();
    run.record(record(0, 0.3)).unwrap();
    run.record(record(1, 0.7)).unwrap();
    let mut state = SearchState::new(5);
    state.children_done = 2;
    state.step = 1;
    run.save_state(&state).unwrap();
    dir
}

#[test]
fn a_torn_last_history_line_is_dropped_on_resume_and_recording_goes_on() {
    let dir = two_children("torn");
    let path = dir.join("history.jsonl");
    let whole = std::fs::read_to_string(&path).unwrap();
    assert_eq!(whole.lines().count(), 2);
    // Killed while appending child 2: half a line, no newline.
    let torn = format!("{whole}{{\"index\":2,\"controller_st");
    std::fs::write(&path, &torn).unwrap();

    // Reading for a report changes nothing.
    let (seen, _, _) = RunDir::inspect(&dir).unwrap();
    assert_eq!(seen.history().len(), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), torn);

    let (mut run, _, _) = RunDir::open(&dir).unwrap();
    assert_eq!(run.history().len(), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    run.record(record(2, 0.5)).unwrap();
    let (reopened, _, _) = RunDir::open(&dir).unwrap();
    assert_eq!(reopened.history(), run.history());
    assert_eq!(reopened.history().len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_whole_last_record_without_its_newline_is_kept() {
    let dir = two_children("unterminated");
    let path = dir.join("history.jsonl");
    let whole = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, whole.trim_end()).unwrap();
    let (mut run, _, _) = RunDir::open(&dir).unwrap();
    assert_eq!(run.history().len(), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    run.record(record(2, 0.5)).unwrap();
    assert_eq!(RunDir::open(&dir).unwrap().0.history().len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}
