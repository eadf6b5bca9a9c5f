//! The run directory: refuses to overwrite a search, records history and best atomically, and
//! reopens what was written.

use nasgpu::nn::Architecture;
use nasgpu::search::{
    ChildRecord, ChildStatus, Decisions, Rollout, RunDir, SearchConfig, SearchState, Space, reward,
};

/// A record of `SearchConfig::quick()`'s space whose fields agree (architecture, canonical
/// name, parameters and FLOPs are those of its rollout), as a search writes it.
fn record(index: usize, reward: f64) -> ChildRecord {
    let space = SearchConfig::quick().space;
    let rollout = rollout(index % 2);
    let architecture = space.architecture(&rollout, [1, 28, 28], 10);
    ChildRecord {
        index,
        controller_step: index / 2,
        parameters: architecture.parameter_count(),
        flops: architecture.forward_flops(),
        canonical: space.canonical(&rollout),
        architecture,
        rollout,
        reward,
        val_accuracy: vec![0.5, reward],
        train_seconds: 0.5,
        latency: None,
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
        best,
        record(1, 0.7).architecture,
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
    finish(&run, 2);
    dir
}

/// Saves a state that counts `children` finished children.
fn finish(run: &RunDir, children: usize) {
    let mut state = SearchState::new(5);
    state.children_done = children;
    state.step = 1;
    run.save_state(&state).unwrap();
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

    // Opening for a resume changes nothing either; the resumed search's start repairs.
    let (mut run, _, _) = RunDir::open(&dir).unwrap();
    assert_eq!(run.history().len(), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), torn);
    run.begin().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    run.record(record(2, 0.5)).unwrap();
    finish(&run, 3);
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
    // Recording repairs first: the new line starts on a line of its own.
    run.record(record(2, 0.5)).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().starts_with(&whole));
    finish(&run, 3);
    assert_eq!(RunDir::open(&dir).unwrap().0.history().len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_rewrites_a_stale_or_missing_best_json() {
    let dir = two_children("stale-best");
    let best = dir.join("best.json");
    // Killed after child 1 (the new best) was recorded but before best.json was replaced.
    let stale = record(0, 0.3).architecture.to_json();
    std::fs::write(&best, &stale).unwrap();
    // Not on open (a resume refused later must change nothing), when the search begins.
    let (mut run, _, _) = RunDir::open(&dir).unwrap();
    assert_eq!(std::fs::read_to_string(&best).unwrap(), stale);
    run.begin().unwrap();
    assert_eq!(
        Architecture::load(&best).unwrap(),
        record(1, 0.7).architecture
    );
    std::fs::remove_file(&best).unwrap();
    RunDir::open(&dir).unwrap().0.begin().unwrap();
    assert_eq!(
        Architecture::load(&best).unwrap(),
        record(1, 0.7).architecture
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A valid rollout of `SearchConfig::quick()`'s space (3 layers, 4 tokens each, skips): 15
/// decisions, layer by layer its 4 tokens then one flag per earlier layer.
fn rollout(v: usize) -> Rollout {
    let d = Decisions {
        tokens: vec![vec![v, 1, 2, 0], vec![0, v, 1, 1], vec![2, 2, v, 0]],
        skips: vec![vec![], vec![true], vec![false, v == 1]],
    };
    let r = SearchConfig::quick().space.rollout(&d);
    SearchConfig::quick().space.check(&r).unwrap();
    r
}

/// A random-search run in the middle of its second step: children 0 and 1 finished, the step
/// of children 2 and 3 in flight with child 2 recorded.
fn run_in_flight(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    let mut config = SearchConfig::quick();
    config.run.strategy = nasgpu::search::StrategyKind::Random;
    let mut run = RunDir::create(&dir, &config).unwrap();
    run.record(record(0, 0.3)).unwrap();
    run.record(record(1, 0.7)).unwrap();
    run.record(ChildRecord {
        rollout: rollout(0),
        ..record(2, 0.4)
    })
    .unwrap();
    let mut state = SearchState::new(5);
    state.step = 1;
    state.children_done = 2;
    state.pending = Some(nasgpu::search::PendingStep {
        step: 1,
        first_child: 2,
        rollouts: vec![rollout(0), rollout(1)],
        replay: vec![],
    });
    run.save_state(&state).unwrap();
    dir
}

/// Rewrites the JSON file `name` of `dir` with `edit`.
fn edit_json(dir: &std::path::Path, name: &str, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join(name);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
}

/// Rewrites line `line` (from 0) of history.jsonl with `edit`.
fn edit_history(dir: &std::path::Path, line: usize, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join("history.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[line]).unwrap();
    edit(&mut v);
    lines[line] = v.to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn edited_run_files_are_errors_naming_the_file_and_field() {
    type Edit = Box<dyn Fn(&std::path::Path)>;
    let state = |f: fn(&mut serde_json::Value)| -> Edit {
        Box::new(move |d| edit_json(d, "state.json", f))
    };
    let config = |f: fn(&mut serde_json::Value)| -> Edit {
        Box::new(move |d| edit_json(d, "config.json", f))
    };
    let history = |line, f: fn(&mut serde_json::Value)| -> Edit {
        Box::new(move |d| edit_history(d, line, f))
    };
    let cases: Vec<(&str, Edit, [&str; 2])> = vec![
        (
            "first-child",
            state(|s| s["pending"]["first_child"] = 1.into()),
            ["state.json", "pending.first_child: 1"],
        ),
        (
            "step",
            state(|s| s["pending"]["step"] = 4.into()),
            ["state.json", "pending.step: 4"],
        ),
        (
            "empty",
            state(|s| s["pending"]["rollouts"] = serde_json::json!([])),
            ["state.json", "pending.rollouts: empty"],
        ),
        (
            "choice",
            state(|s| s["pending"]["rollouts"][1][3] = 9.into()),
            [
                "state.json",
                "pending.rollouts[1]: decision 3: 9 is not one of its 2 choices",
            ],
        ),
        (
            "length",
            state(|s| {
                s["pending"]["rollouts"][0]
                    .as_array_mut()
                    .unwrap()
                    .truncate(14)
            }),
            [
                "state.json",
                "pending.rollouts[0]: 14 decisions, expected 15",
            ],
        ),
        (
            "uniforms",
            config(|c| c["run"]["strategy"] = "reinforce".into()),
            ["state.json", "pending.replay"],
        ),
        (
            "space",
            config(|c| c["space"]["strides"] = serde_json::json!([1])),
            ["history.jsonl", "line 1: rollout: 15 decisions is no depth"],
        ),
        (
            "history-choice",
            history(0, |r| r["rollout"][3] = 7.into()),
            ["history.jsonl", "line 1: rollout: decision 3: 7"],
        ),
        (
            "no-pending",
            state(|s| s["pending"] = serde_json::Value::Null),
            ["history.jsonl", "holds 3 children but state.json counts 2"],
        ),
        (
            "counts",
            state(|s| {
                s["children_done"] = 5.into();
                s["pending"]["first_child"] = 5.into()
            }),
            ["history.jsonl", "holds 3 children but state.json counts 5"],
        ),
        (
            "index",
            history(1, |r| r["index"] = 7.into()),
            ["history.jsonl", "line 2: index 7, expected 1"],
        ),
        (
            "rollout",
            history(2, |r| r["rollout"][0] = 2.into()),
            ["history.jsonl", "line 3: canonical: "],
        ),
        (
            "no-state",
            Box::new(|d| std::fs::remove_file(d.join("state.json")).unwrap()),
            ["state.json", "missing, but history.jsonl holds 3"],
        ),
    ];
    for (name, edit, [file, field]) in cases {
        let dir = run_in_flight(&format!("edit-{name}"));
        RunDir::open(&dir).unwrap_or_else(|e| panic!("{name}: the unedited run must open: {e}"));
        edit(&dir);
        let err = RunDir::open(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(&dir.join(file).display().to_string()) && err.contains(field),
            "{name}: expected an error naming {file} and `{field}`, got `{err}`"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
