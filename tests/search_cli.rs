//! `nasgpu search --resume` as the built binary: the checks it makes on a run directory and its
//! data before opening a GPU; and `data.json` itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nasgpu::data::DataSource;
use nasgpu::search::{
    ChildRecord, ChildStatus, Decisions, RunData, RunDir, SearchConfig, SearchState, Space,
    StrategyKind,
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

/// A record of the quick space whose fields agree with its rollout, as a search writes it.
fn record(index: usize) -> ChildRecord {
    let space = SearchConfig::quick().space;
    let rollout = space.rollout(&Decisions {
        tokens: vec![vec![1, 1, 0, 0]; 3],
        skips: vec![vec![], vec![true], vec![false, true]],
    });
    let architecture = space.architecture(&rollout, [1, 28, 28], 10);
    ChildRecord {
        index,
        controller_step: index / 2,
        parameters: architecture.parameter_count(),
        flops: architecture.forward_flops(),
        canonical: space.canonical(&rollout),
        architecture,
        rollout,
        reward: 0.5,
        val_accuracy: vec![0.8],
        train_seconds: 0.5,
        latency: None,
        status: ChildStatus::Ok,
        error: None,
    }
}

/// A random-search run of budget `budget` with `done` children finished (in steps of 2).
fn run_dir(name: &str, budget: usize, done: usize) -> PathBuf {
    let dir = temp_dir(name);
    let mut config = SearchConfig::quick();
    config.run.strategy = StrategyKind::Random;
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
    assert!(stderr(&out).contains("is finished: 4 children"), "{out:?}");
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
        (
            "0",
            "invalid value '0' for '--budget <BUDGET>': below the minimum of 1",
        ),
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

/// Writes a tiny IDX dataset (`n` images of 28x28, labels cycling through 10 classes) into a
/// folder named `name` and returns it.
fn tiny_idx(name: &str, n: u32) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let images = |n: u32| {
        let mut b = vec![0, 0, 8, 3];
        for d in [n, 28, 28] {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend((0..n * 28 * 28).map(|i| (i % 251) as u8));
        b
    };
    let labels = |n: u32| {
        let mut b = vec![0, 0, 8, 1];
        b.extend_from_slice(&n.to_be_bytes());
        b.extend((0..n).map(|i| (i % 10) as u8));
        b
    };
    for (file, bytes) in [
        ("train-images-idx3-ubyte", images(n)),
        ("train-labels-idx1-ubyte", labels(n)),
        ("t10k-images-idx3-ubyte", images(10)),
        ("t10k-labels-idx1-ubyte", labels(10)),
    ] {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    dir
}

#[test]
fn resume_needs_a_readable_data_json() {
    let dir = run_dir("no-data-json", 4, 2);
    let out = nasgpu(&["search", "--resume"], &dir);
    assert!(!out.status.success(), "resumed without data.json");
    let expected = dir.join("data.json").display().to_string();
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    std::fs::write(
        dir.join("data.json"),
        "{\"data\": null, \"dataset\": \"bundled\"",
    )
    .unwrap();
    let out = nasgpu(&["search", "--resume"], &dir);
    assert!(!out.status.success(), "resumed with a corrupt data.json");
    assert!(
        stderr(&out).contains(&format!("{expected}: corrupt")),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_refuses_other_data_and_names_both() {
    let dir = run_dir("other-data", 4, 2);
    let bundled = nasgpu::data::bundled().unwrap();
    RunData::new(&DataSource::default(), &bundled)
        .unwrap()
        .save(&dir)
        .unwrap();
    let other = tiny_idx("other-idx", 40);
    let out = nasgpu(
        &["search", "--data", other.to_str().unwrap(), "--resume"],
        &dir,
    );
    assert!(!out.status.success(), "resumed on other data");
    let err = stderr(&out);
    let other_name = other.file_name().unwrap().to_string_lossy();
    assert!(
        err.contains("data.json")
            && err.contains(&format!("bundled ({} training images", bundled.train.len()))
            && err.contains(&format!(
                "{other_name} (40 training images of 1x28x28, 10 classes)"
            )),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}

/// A relative --data folder is stored as an absolute path, so --resume finds it from anywhere,
/// and the same data found at another place is accepted there (and remembered).
#[test]
fn data_json_keeps_an_absolute_folder_and_accepts_the_same_data_moved() {
    let dir = run_dir("moved-data", 4, 2);
    let first = tiny_idx("moved-idx", 40);
    let cwd = std::env::current_dir().unwrap();
    let relative: PathBuf = cwd
        .components()
        .skip(1)
        .map(|_| std::path::Component::ParentDir)
        .collect::<PathBuf>()
        .join(first.strip_prefix("/").unwrap());
    assert!(relative.is_relative());
    let data = nasgpu::data::load(&DataSource::Dir(relative.clone())).unwrap();
    let run_data = RunData::new(&DataSource::Dir(relative), &data).unwrap();
    run_data.save(&dir).unwrap();
    let canonical = std::fs::canonicalize(&first).unwrap();
    assert_eq!(
        RunData::load(&dir).unwrap().source(),
        &DataSource::Dir(canonical)
    );
    assert_eq!(RunData::reload(&dir, None).unwrap(), data);

    // The same folder under the same name elsewhere: accepted, and data.json follows it.
    let moved_base = temp_dir("moved-base");
    std::fs::create_dir_all(&moved_base).unwrap();
    let moved = moved_base.join(first.file_name().unwrap());
    std::fs::rename(&first, &moved).unwrap();
    assert!(
        RunData::reload(&dir, None).is_err(),
        "the old place is gone"
    );
    RunData::reload(&dir, Some(DataSource::Dir(moved.clone()))).unwrap();
    assert_eq!(
        RunData::load(&dir).unwrap().source(),
        &DataSource::Dir(std::fs::canonicalize(&moved).unwrap())
    );
    assert_eq!(RunData::reload(&dir, None).unwrap(), data);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&moved_base).unwrap();
}

/// Child settings the data cannot satisfy are refused by field before a run directory exists.
#[test]
fn child_settings_that_do_not_fit_the_data_are_refused_by_field() {
    let data = tiny_idx("fit-data", 100);
    for (setting, field) in [
        (
            r#"{"child": {"validation_images": 100}}"#,
            "child.validation_images",
        ),
        (
            r#"{"child": {"validation_images": 20, "batch_size": 90}}"#,
            "child.batch_size",
        ),
        (
            r#"{"child": {"validation_images": 20, "train_images": 10, "batch_size": 16}}"#,
            "child.batch_size",
        ),
    ] {
        let dir = temp_dir("fit");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config-in.json");
        std::fs::write(&config, setting).unwrap();
        let out_dir = dir.join("run");
        let out = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
            .args(["search", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&out_dir)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .expect("run nasgpu");
        let text = stderr(&out);
        assert!(!out.status.success(), "{setting} was accepted");
        assert!(text.contains(field), "{setting}: {text}");
        assert!(
            !out_dir.exists(),
            "{setting}: the run directory was created"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `best.json` of a search says what its network expects, as a training output's
/// `architecture.json` does: the dataset, its class names and the input normalisation the
/// children were trained with (issue 10), and `train --arch` still reads it.
#[test]
fn best_json_records_the_data_the_children_trained_on() {
    let dir = temp_dir("best-meta");
    let out = nasgpu(
        &[
            "search",
            "--strategy",
            "random",
            "--budget",
            "1",
            "--child-epochs",
            "1",
            "--out",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (arch, meta) = nasgpu::nn::meta::load_architecture_file(&dir.join("best.json")).unwrap();
    let meta = meta.expect("best.json has no meta");
    assert_eq!(meta.dataset, "bundled");
    assert_eq!(meta.input_shape, arch.input);
    assert_eq!(meta.class_names.as_ref().map(|n| n.len()), Some(10));
    let n = &meta.normalization;
    assert_eq!((n.mean.len(), n.std.len()), (1, 1));
    assert!(n.mean[0] > 0.0 && n.std[0] > 0.0, "{n:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
