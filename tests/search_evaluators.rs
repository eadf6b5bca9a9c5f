//! The evaluators: the table's errors name the file, line and column (and a search that asks
//! for a missing architecture stops naming it); successive halving's statuses and partial
//! curves; early stopping with patience; measured latency of every trained child; and the
//! latency-aware objective's formula.

mod search_common;

use std::path::PathBuf;

use nasgpu::search::evaluator::Table;
use nasgpu::search::objective::LatencyAware;
use nasgpu::search::objective::{Measurement, NasRl, Objective};
use nasgpu::search::space::{Nb201Space, Nb201SpaceConfig};
use nasgpu::search::{ChildRecord, ChildStatus, Latency, SearchConfig, StrategyKind};
use search_common::*;

fn space() -> Nb201Space {
    Nb201Space {
        config: Nb201SpaceConfig::default(),
    }
}

const A: &str =
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";
const B: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

/// Loads `text` as a table (columns arch, acc, secs) and returns the error.
fn table_error(name: &str, text: &str, metric: &str) -> String {
    let path = temp_dir("tables").join(format!("{name}.csv"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    let e = Table::load(&path, &space(), "arch", metric, Some("secs"))
        .expect_err(&format!("table {name} was accepted"))
        .to_string();
    assert!(
        e.contains(path.to_str().unwrap()),
        "{name}: '{e}' does not name the file"
    );
    e
}

fn has(e: &str, words: &[&str]) {
    for w in words {
        assert!(e.contains(w), "'{e}' lacks '{w}'");
    }
}

#[test]
fn table_errors_name_file_line_and_column() {
    let header = "arch,acc,secs\n";
    let good = format!("{header}\"{A}\",0.9,12\n{B},0.1,3\n");
    let path = temp_dir("good-table").join("t.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &good).unwrap();
    let t = Table::load(&path, &space(), "arch", "acc", Some("secs")).unwrap();
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[A].metric, 0.9);
    assert_eq!(t.rows[B].cost, Some(3.0));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());

    has(
        &table_error("missing-column", &good, "accuracy"),
        &["line 1", "accuracy", "--table-metric"],
    );
    has(
        &table_error(
            "non-numeric",
            &format!("{header}{A},0.9,12\n{B},high,3\n"),
            "acc",
        ),
        &["line 3", "column 'acc'", "high"],
    );
    has(
        &table_error(
            "bad-arch",
            &format!(
                "{header}{A},0.9,12\n{},0.1,3\n",
                B.replace("none~1", "conv_7x7~1")
            ),
            "acc",
        ),
        &["line 3", "column 'arch'", "conv_7x7"],
    );
    has(
        &table_error(
            "duplicate",
            &format!("{header}{B},0.9,12\n{A},0.5,1\n{B},0.1,3\n"),
            "acc",
        ),
        &["line 4", "column 'arch'", "twice", B],
    );
    has(
        &table_error("short-row", &format!("{header}{A},0.9\n"), "acc"),
        &["line 2", "2 fields"],
    );
    let _ = std::fs::remove_dir_all(temp_dir("tables"));
}

#[test]
fn a_search_that_misses_the_table_stops_naming_the_architecture() {
    // Only the genotypes whose first edge is nor_conv_3x3: random search soon asks for another.
    let mut text = String::from("arch,acc\n");
    for code in 0..5usize.pow(6) {
        let ops = genotype(code);
        if ops[0] == 3 {
            text += &format!("{},0.5\n", nb201_name(&ops));
        }
    }
    let dir = temp_dir("partial");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("partial.csv");
    std::fs::write(&table, text).unwrap();
    let out = dir.join("run");
    let o = nasgpu(&[
        "search",
        "--space",
        "nb201",
        "--table",
        table.to_str().unwrap(),
        "--table-arch-column",
        "arch",
        "--table-metric",
        "acc",
        "--strategy",
        "random",
        "--budget",
        "50",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success(),
        "a search past the table's rows succeeded"
    );
    let e = stderr(&o);
    has(&e, &[table.to_str().unwrap(), "no row for architecture '|"]);
    let missing = e.split("architecture '").nth(1).unwrap();
    let missing = missing.split('\'').next().unwrap();
    assert!(
        !missing.starts_with("|nor_conv_3x3~0|"),
        "'{missing}' is in the table"
    );
    // The children before it were recorded.
    assert!(
        history(&out)
            .iter()
            .all(|r| r.canonical.starts_with("|nor_conv_3x3~0|"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tiny macro space and proxy (as tests/search_e2e.rs): a child trains in well under a
/// second on lavapipe.
fn tiny_config() -> SearchConfig {
    let mut c = SearchConfig::quick();
    c.space.layers = 2;
    c.space.max_layers = 2;
    c.space.filter_heights = vec![1, 3];
    c.space.filter_widths = vec![1, 3];
    c.space.filter_counts = vec![4, 8];
    c.space.strides = vec![1, 2];
    c.reinforce.children_per_step = 4;
    c.reinforce.reward_window = 1;
    c.child.epochs = 1;
    c.child.batch_size = 32;
    c.child.train_images = 256;
    c.child.validation_images = 128;
    c.run.budget = 8;
    c.run.strategy = StrategyKind::Random;
    c.run.seed = 5;
    c
}

/// Runs a train search of `config` (bundled data) in a fresh directory; returns its history.
fn train_search(name: &str, config: &SearchConfig) -> (PathBuf, Vec<ChildRecord>) {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.json");
    std::fs::write(&cfg, serde_json::to_string_pretty(config).unwrap()).unwrap();
    let out = dir.join("run");
    ok(&nasgpu(&[
        "search",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let h = history(&out);
    let _ = std::fs::remove_dir_all(&dir);
    (out, h)
}

fn check_latency(h: &[ChildRecord], batch: usize) {
    for r in h {
        assert!(
            !r.status.is_failure(),
            "child {} failed: {:?}",
            r.index,
            r.error
        );
        let l = r
            .latency
            .unwrap_or_else(|| panic!("child {} has no latency", r.index));
        assert!(
            l.batch1_ms > 0.0 && l.batch_ms > 0.0,
            "child {}: {l:?}",
            r.index
        );
        assert!(l.passes >= 10, "child {}: {} passes", r.index, l.passes);
        assert_eq!(l.batch, batch);
    }
}

#[test]
fn successive_halving_marks_the_eliminated_and_keeps_their_curves() {
    let mut c = tiny_config();
    c.child.epochs = 3;
    c.halving.min_epochs = 1;
    c.halving.eta = 2;
    c.child.latency = true;
    let (_, h) = train_search("halving", &c);
    assert_eq!(h.len(), 8);
    // Per batch of 4: 2 stop at the rung after epoch 1, 1 after epoch 2, 1 trains all 3.
    for batch in h.chunks(4) {
        let lens = |s: ChildStatus| {
            let mut v: Vec<usize> = batch
                .iter()
                .filter(|r| r.status == s)
                .map(|r| r.val_accuracy.len())
                .collect();
            v.sort();
            v
        };
        assert_eq!(lens(ChildStatus::Eliminated), vec![1, 1, 2], "{batch:#?}");
        assert_eq!(lens(ChildStatus::Ok), vec![3]);
        // The survivors of each rung were the best there (ties: the earlier child).
        let best_at =
            |r: &ChildRecord, e: usize| r.val_accuracy[..e].iter().copied().fold(0.0, f64::max);
        for rung in [1usize, 2] {
            let (stopped, went_on): (Vec<&ChildRecord>, Vec<&ChildRecord>) = batch
                .iter()
                .filter(|r| r.val_accuracy.len() >= rung)
                .partition(|r| r.val_accuracy.len() == rung);
            for s in &stopped {
                for g in &went_on {
                    assert!(
                        best_at(g, rung) > best_at(s, rung)
                            || (best_at(g, rung) == best_at(s, rung) && g.index < s.index),
                        "rung {rung}: child {} went on over child {}",
                        g.index,
                        s.index
                    );
                }
            }
        }
        // The reward is what each child reached (window 1: its last epoch).
        for r in batch {
            assert_eq!(
                r.reward,
                r.val_accuracy
                    .last()
                    .unwrap()
                    .powf(c.reinforce.reward_power)
            );
        }
    }
    check_latency(&h, c.child.batch_size);
}

#[test]
fn early_stopping_follows_patience() {
    let mut c = tiny_config();
    c.child.epochs = 4;
    c.child.patience = 1;
    // Next to no learning: accuracies stall, so children stop early.
    c.child.learning_rate = 1e-20;
    c.run.budget = 4;
    let (_, h) = train_search("patience", &c);
    assert_eq!(h.len(), 4);
    let stalled = |acc: &[f64]| {
        let best_at = acc
            .iter()
            .enumerate()
            .fold(0, |b, (k, &a)| if a > acc[b] { k } else { b });
        acc.len() - 1 - best_at >= c.child.patience
    };
    for r in &h {
        let acc = &r.val_accuracy;
        // No shorter prefix had stalled.
        for n in 1..acc.len() {
            assert!(
                !stalled(&acc[..n]),
                "child {} went on after stalling: {acc:?}",
                r.index
            );
        }
        match r.status {
            ChildStatus::EarlyStopped => {
                assert!(
                    acc.len() < c.child.epochs && stalled(acc),
                    "child {}: {acc:?}",
                    r.index
                )
            }
            ChildStatus::Ok => assert_eq!(acc.len(), c.child.epochs, "child {}", r.index),
            s => panic!("child {}: {s:?}", r.index),
        }
    }
    assert!(
        h.iter().any(|r| r.status == ChildStatus::EarlyStopped),
        "no child stopped early: {:?}",
        h.iter().map(|r| &r.val_accuracy).collect::<Vec<_>>()
    );
    check_latency(&h, c.child.batch_size);
}

fn measured(acc: &[f64], batch1_ms: f64, batch_ms: f64) -> Measurement {
    Measurement {
        status: ChildStatus::Ok,
        val_accuracy: acc.to_vec(),
        train_seconds: 1.0,
        latency: Some(Latency {
            batch1_ms,
            batch_ms,
            batch: 32,
            passes: 10,
            gpu_timestamps: true,
        }),
        error: None,
    }
}

#[test]
fn latency_objective_is_mnasnet_reward() {
    let o = LatencyAware {
        accuracy: NasRl {
            window: 2,
            power: 2.0,
        },
        target_ms: 4.0,
        alpha: -0.07,
        beta: -0.5,
        batch1: true,
    };
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    // acc = max of the last 2 epochs, squared.
    let acc = 0.8f64.powi(2);
    // Below target: alpha; above: beta; at target: the accuracy reward.
    close(
        o.reward(&measured(&[0.9, 0.8, 0.7], 2.0, 99.0)),
        acc * 0.5f64.powf(-0.07),
    );
    close(
        o.reward(&measured(&[0.9, 0.8, 0.7], 8.0, 0.1)),
        acc * 2.0f64.powf(-0.5),
    );
    close(o.reward(&measured(&[0.9, 0.8, 0.7], 4.0, 0.1)), acc);
    // The training-batch latency when asked.
    let b = LatencyAware { batch1: false, ..o };
    close(
        b.reward(&measured(&[0.5], 99.0, 8.0)),
        0.25 * 2.0f64.powf(-0.5),
    );
    // No latency (a table): the accuracy alone; a failure: 0.
    let mut m = measured(&[0.5], 1.0, 1.0);
    m.latency = None;
    close(b.reward(&m), 0.25);
    m.status = ChildStatus::NanLoss;
    close(b.reward(&m), 0.0);
}

/// Successive halving ranks the batch (issue 7: "a batch is trained for min_epochs, the best
/// 1/eta continue"), whatever number of children the device trains at once: with
/// `child.concurrent = 1` the four children are trained one by one, and still 2 stop at the
/// first rung and 1 more at the second.
#[test]
fn successive_halving_ranks_the_batch_not_the_concurrent_group() {
    let mut c = tiny_config();
    c.child.epochs = 3;
    c.halving.min_epochs = 1;
    c.halving.eta = 2;
    c.child.concurrent = 1;
    c.child.latency = false;
    c.run.budget = 4;
    let (_, h) = train_search("halving-serial", &c);
    let eliminated = h
        .iter()
        .filter(|r| r.status == ChildStatus::Eliminated)
        .count();
    assert_eq!(eliminated, 3, "{h:#?}");
}
