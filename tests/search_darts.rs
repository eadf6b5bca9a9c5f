//! `nasgpu search --strategy darts`: first-order DARTS on the NAS-Bench-201 supernet through the
//! CLI. Each child is the cell derived from alpha after a block of alternating steps; the
//! search's answer (`best.json`) is the last one and `nasgpu train --arch` trains it; a search
//! killed with SIGKILL resumes to the same history, alpha log and checkpoint bits; a damaged
//! checkpoint is refused naming its file; combinations DARTS cannot run are refused naming the
//! option; and the DARTS- remedy's auxiliary skip changes the mixed forward by exactly beta * x.

mod common;
mod search_common;

use std::path::{Path, PathBuf};

use nasgpu::nn::supernet::{AlphaRow, ArchWeights, AuxSkip, MixedSupernet, Nb201Supernet};
use nasgpu::nn::{Nb201Network, Nb201Op};
use nasgpu::search::{
    ChildRecord, ChildStatus, EvaluatorKind, SearchConfig, SpaceKind, StrategyKind,
};
use search_common::*;

/// DARTS small enough for lavapipe in seconds: one cell per stage at 4 channels, 3 alternating
/// steps per derived cell, batches of 16 on a 192/48-image split of the bundled data.
fn config() -> SearchConfig {
    let mut c = SearchConfig::quick();
    c.run.space = SpaceKind::Nb201;
    c.run.evaluator = EvaluatorKind::Supernet;
    c.run.strategy = StrategyKind::Darts;
    c.run.budget = 4;
    c.run.seed = 5;
    c.nb201.cells_per_stage = 1;
    c.nb201.channels = 4;
    c.child.train_images = 192;
    c.child.validation_images = 48;
    c.supernet.batch_size = 16;
    c.supernet.eval_images = 32;
    c.darts.steps_per_derivation = 3;
    c.darts.remedy = nasgpu::search::config::DartsRemedy::DartsMinus;
    c
}

fn checkpoints(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("darts-"))
        .collect();
    names.sort();
    names
}

fn exact_state(dir: &Path) -> (serde_json::Value, Vec<u8>, String) {
    let (state, checkpoint) = search_common::exact_state(dir, "evaluator");
    let log = std::fs::read_to_string(dir.join("darts.json")).unwrap();
    (
        state,
        checkpoint.expect("state.json names the DARTS checkpoint"),
        log,
    )
}

/// An IDX folder of 100 training and 20 test images of 28x28, 10 classes.
fn tiny_idx(dir: &Path) -> PathBuf {
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
    let data = dir.join("idx");
    std::fs::create_dir_all(&data).unwrap();
    for (file, bytes) in [
        ("train-images-idx3-ubyte", images(100)),
        ("train-labels-idx1-ubyte", labels(100)),
        ("t10k-images-idx3-ubyte", images(20)),
        ("t10k-labels-idx1-ubyte", labels(20)),
    ] {
        std::fs::write(data.join(file), bytes).unwrap();
    }
    data
}

#[test]
fn a_darts_search_derives_cells_writes_the_last_as_its_answer_and_resumes_after_sigkill() {
    let base = temp_dir("darts-search");
    let cfg = write_config(&base, &config());
    let whole = base.join("whole");
    let o = nasgpu(&search_args(&cfg, &whole));
    ok(&o);
    let log = stderr(&o);
    assert!(
        log.contains("strategy darts")
            && log.contains("one derived cell per update phase")
            && !log.contains("m = ")
            && log.contains("DARTS-")
            && log.contains("alpha after"),
        "the opening and progress lines name DARTS, one cell per phase, its remedy and alpha:\n{log}"
    );
    let reference = history(&whole);
    assert_eq!(reference.len(), 4, "one derived cell per block");
    for r in &reference {
        assert_eq!(r.status, ChildStatus::Ok, "child {}", r.index);
        assert_eq!(r.val_accuracy.len(), 1);
        assert!((0.0..=1.0).contains(&r.val_accuracy[0]));
        assert_eq!(r.controller_step, r.index, "one child per step");
    }
    // The answer is the last derived cell, whatever scored best.
    let last = reference.last().unwrap();
    let best = nasgpu::nn::Architecture::load(&whole.join("best.json")).unwrap();
    assert_eq!(
        best.nb201, last.architecture.nb201,
        "best.json is the last cell"
    );
    let o = nasgpu(&["report", whole.to_str().unwrap(), "--best"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("best.json"));
    // The alpha log: one softmax per derived cell, rows summing to 1, beta decaying to 0.
    let alpha: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("darts.json")).unwrap()).unwrap();
    assert_eq!(alpha["remedy"], "darts-minus");
    let d = alpha["derivations"].as_array().unwrap();
    assert_eq!(d.len(), 4);
    for (k, rec) in d.iter().enumerate() {
        assert_eq!(rec["steps"], 3 * (k + 1));
        assert_eq!(rec["derived"], reference[k].canonical.as_str());
        for row in rec["softmax"].as_array().unwrap() {
            let s: f64 = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .sum();
            assert!((s - 1.0).abs() < 1e-5, "softmax row sums to {s}");
        }
    }
    assert_eq!(d[3]["beta"], 0.0, "DARTS-'s beta reaches 0 at the end");
    assert_eq!(checkpoints(&whole).len(), 1, "{:?}", checkpoints(&whole));
    trains_and_resumes(&base, &cfg, &whole, &reference);
    let _ = std::fs::remove_dir_all(&base);
}

/// `nasgpu train --arch best.json` trains the derived cell of the finished run `whole` from
/// scratch (on 100 images of Fashion-MNIST's shape, to keep the test short); and a run of
/// `cfg` killed with SIGKILL once a child is recorded, then resumed, ends with `reference`'s
/// history bit for bit (timings aside) and the same state, alpha log and checkpoint bytes.
fn trains_and_resumes(base: &Path, cfg: &Path, whole: &Path, reference: &[ChildRecord]) {
    let trained = base.join("trained");
    let data = tiny_idx(base);
    let o = nasgpu(&[
        "train",
        "--arch",
        whole.join("best.json").to_str().unwrap(),
        "--epochs",
        "1",
        "--data",
        data.to_str().unwrap(),
        "--out",
        trained.to_str().unwrap(),
    ]);
    ok(&o);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("test accuracy"), "{said}");

    let n = reference.len();
    let killed = base.join("killed");
    let at_kill = kill_once_recorded(&search_args(cfg, &killed), &killed, n / 2);
    assert!(
        (1..n).contains(&at_kill),
        "killed with {at_kill} of {n} children recorded; the test needs a run cut short"
    );
    let o = nasgpu(&["search", "--resume", killed.to_str().unwrap()]);
    assert!(o.status.success(), "resume failed: {}", stderr(&o));
    assert_eq!(
        stripped(reference),
        stripped(&history(&killed)),
        "killed at {at_kill}"
    );
    assert!(
        exact_state(whole) == exact_state(&killed),
        "state.json, darts.json or the checkpoint differs after SIGKILL at {at_kill} and --resume"
    );
}

/// DARTS on the DARTS cell space (`--space darts`): alpha `[28, 8]` over both cells' 14 edges,
/// each derived cell a valid DARTS genotype (two inputs and two real operations per node) that
/// the space parses back, the alpha log naming `none` and the seven operations; `best.json`
/// trains standalone and a SIGKILLed search resumes to the same bits.
#[test]
fn darts_on_the_darts_cell_space_derives_cells_trains_them_and_resumes() {
    let base = temp_dir("darts-cells-search");
    let mut c = config();
    c.run.space = SpaceKind::Darts;
    c.run.budget = 3;
    c.darts_space.channels = 4;
    c.darts_space.cells = 3;
    c.child.train_images = 64;
    c.child.validation_images = 32;
    c.darts.steps_per_derivation = 2;
    let cfg = write_config(&base, &c);
    let whole = base.join("whole");
    let o = nasgpu(&search_args(&cfg, &whole));
    ok(&o);
    let log = stderr(&o);
    assert!(
        log.contains("space darts, strategy darts")
            && log.contains("alpha [28, 8]")
            && log.contains("DARTS cells, C = 4, 3 cells")
            && log.contains("on the device"),
        "the opening lines name the space, alpha's shape and the memory plan:\n{log}"
    );
    let reference = history(&whole);
    assert_eq!(reference.len(), 3, "one derived cell per block");
    let space = nasgpu::search::space::build(&c);
    for r in &reference {
        assert_eq!(r.status, ChildStatus::Ok, "child {}", r.index);
        let darts = r.architecture.darts.as_ref().expect("a DARTS cell network");
        assert_eq!((darts.channels, darts.cells), (4, 3));
        let rollout = space.parse(&r.canonical).unwrap();
        assert_eq!(space.canonical(&rollout), r.canonical);
    }
    let last = reference.last().unwrap();
    let best = nasgpu::nn::Architecture::load(&whole.join("best.json")).unwrap();
    assert_eq!(
        best.darts, last.architecture.darts,
        "best.json is the last cell"
    );
    let alpha: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("darts.json")).unwrap()).unwrap();
    let ops: Vec<&str> = alpha["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ops.len(), 8);
    assert_eq!(ops[0], "none");
    let d = alpha["derivations"].as_array().unwrap();
    assert_eq!(d.len(), 3);
    for rec in d {
        let rows = rec["softmax"].as_array().unwrap();
        assert_eq!(rows.len(), 28);
        for row in rows {
            assert_eq!(row.as_array().unwrap().len(), 8);
        }
    }
    let o = nasgpu(&["report", whole.to_str().unwrap()]);
    ok(&o);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("| normal 0->2 |") && table.contains("| reduce 4->5 |"),
        "the report labels alpha's rows by cell and edge:\n{table}"
    );
    trains_and_resumes(&base, &cfg, &whole, &reference);
    let _ = std::fs::remove_dir_all(&base);
}

/// A checkpoint with a non-finite value is refused on resume naming the file and tensor.
#[test]
fn a_damaged_darts_checkpoint_is_refused_on_resume_naming_the_file() {
    let base = temp_dir("darts-damaged");
    let mut c = config();
    c.run.budget = 2;
    let cfg = write_config(&base, &c);
    let run = base.join("run");
    ok(&nasgpu(&search_args(&cfg, &run)));
    let name = checkpoints(&run).pop().unwrap();
    let mut bytes = std::fs::read(run.join(&name)).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(run.join(&name), &bytes).unwrap();
    let o = nasgpu(&["search", "--resume", run.to_str().unwrap(), "--budget", "3"]);
    assert!(!o.status.success(), "a NaN checkpoint was accepted");
    let e = stderr(&o);
    assert!(
        e.contains(&name) && e.contains("not finite") && !e.contains("panicked"),
        "{e}"
    );
    // A truncated one too.
    std::fs::write(run.join(&name), &bytes[..n / 2]).unwrap();
    let o = nasgpu(&["search", "--resume", run.to_str().unwrap(), "--budget", "3"]);
    assert!(!o.status.success(), "a truncated checkpoint was accepted");
    let e = stderr(&o);
    assert!(e.contains(&name) && !e.contains("panicked"), "{e}");
    assert_eq!(
        history(&run).len(),
        2,
        "the refused resume changed the history"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn combinations_darts_cannot_run_are_refused_naming_the_option() {
    let c = config();
    refused(&c, &["--space", "macro"], &["run.space", "--space nb201"]);
    refused(
        &c,
        &["--evaluator", "train"],
        &["run.evaluator", "--evaluator supernet"],
    );
    let mut third = c.clone();
    third.darts.order = 3;
    refused(
        &third,
        &[],
        &["darts.order", "must be 1, first order, or 2"],
    );
    // `--strategy darts` alone implies the supernet evaluator; on the macro space it is refused
    // for the space, not the evaluator.
    let mut quick = SearchConfig::quick();
    quick.run.budget = 1;
    refused(
        &quick,
        &["--strategy", "darts"],
        &["run.space", "--space nb201"],
    );
}

/// A supernet of one cell per stage at 3 channels on 9x9 images, every tensor redrawn.
fn supernet(gpu: &std::sync::Arc<nasgpu::device::Gpu>, seed: u64) -> Nb201Supernet {
    let shape = Nb201Network {
        genotype: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
            .parse()
            .unwrap(),
        cells_per_stage: 1,
        channels: 3,
    };
    let mut rng = nasgpu::util::seeded_rng(seed);
    let net = Nb201Supernet::new(gpu, &shape, [3, 9, 9], 5, &mut rng).unwrap();
    common::supernet::redraw(&net, seed);
    net
}

/// Alpha picking `op` on every edge exactly (the others' softmax weights underflow to 0).
fn one_hot(op: Nb201Op) -> [AlphaRow; 6] {
    std::array::from_fn(|_| std::array::from_fn(|o| if Nb201Op::ALL[o] == op { 0.0 } else { -1e4 }))
}

/// DARTS-'s auxiliary skip adds beta * x to every mixed edge: with every edge `none` and
/// beta = 1 each edge is x, so the network is the all-`skip_connect` network without the
/// remedy (and its single path); with beta = 0 the remedy changes nothing; at beta = 0.5 on a
/// random alpha it changes the logits. Tolerance 1e-5 + 1e-4 |ref| (the edges' sums are
/// exact in both; batch norm in training mode sees the same inputs).
#[test]
fn the_darts_minus_skip_adds_beta_times_the_input_to_every_mixed_edge() {
    let gpu = common::gpu();
    let seed = common::fresh_seed();
    eprintln!("seed {seed}");
    let mut r = common::rng(seed ^ 0xD1);
    let shape = [2, 3, 9, 9];
    let x = common::uniform(&mut r, shape.iter().product());
    let mut net = supernet(&gpu, seed);
    let mixed = |net: &Nb201Supernet, rows: &[AlphaRow; 6]| {
        let alpha = ArchWeights::from_rows(&gpu, rows).unwrap();
        common::supernet::logits(&gpu, &shape, &x, |g, b, xv| {
            let a = g.input(&alpha.tensor, "alpha");
            net.forward_mixed(g, b, xv, a, true).unwrap()
        })
    };
    let skip_plain = mixed(&net, &one_hot(Nb201Op::SkipConnect));
    let skip_path = common::supernet::logits(&gpu, &shape, &x, |g, b, xv| {
        let genotype = nasgpu::nn::Nb201Genotype([Nb201Op::SkipConnect; 6]);
        net.forward(g, b, xv, &genotype, true).unwrap()
    });
    let want = common::to_f64(&skip_path);
    common::assert_close("all-skip mixed", seed, &skip_plain, &want, 1e-5, 1e-4);

    let aux = AuxSkip::new(&gpu, 1.0).unwrap();
    net.aux_skip = Some(aux.clone());
    let none_aux = mixed(&net, &one_hot(Nb201Op::None));
    common::assert_close("none + beta 1", seed, &none_aux, &want, 1e-5, 1e-4);

    let random: [AlphaRow; 6] = std::array::from_fn(|_| {
        std::array::from_fn(|_| rand::RngExt::random_range(&mut r, -1.0f32..1.0))
    });
    net.aux_skip = None;
    let plain = mixed(&net, &random);
    net.aux_skip = Some(aux.clone());
    aux.set(0.0);
    let beta0 = mixed(&net, &random);
    common::assert_close("beta 0", seed, &beta0, &common::to_f64(&plain), 1e-6, 1e-6);
    aux.set(0.5);
    let half = mixed(&net, &random);
    let moved = half
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "beta 0.5 moved the logits by {moved} only");
}

/// `darts.order: 2` runs the unrolled (second-order) architecture step through the CLI: the
/// opening line says so, and alpha moves differently from first order on the same seed.
#[test]
fn a_second_order_darts_search_runs_and_differs_from_first_order() {
    let base = temp_dir("darts-second-order");
    let mut first = config();
    first.run.budget = 2;
    first.darts.remedy = nasgpu::search::config::DartsRemedy::None;
    let mut second = first.clone();
    second.darts.order = 2;
    let mut alphas = Vec::new();
    for (name, c) in [("first", &first), ("second", &second)] {
        let dir = base.join(name);
        let cfg = write_config(&base.join(format!("cfg-{name}")), c);
        let o = nasgpu(&search_args(&cfg, &dir));
        ok(&o);
        let log = stderr(&o);
        assert!(
            log.contains(&format!("DARTS, {name} order")),
            "the opening line names the order:\n{log}"
        );
        assert_eq!(history(&dir).len(), 2);
        assert!(dir.join("best.json").exists());
        alphas.push(std::fs::read_to_string(dir.join("darts.json")).unwrap());
    }
    assert_ne!(
        alphas[0], alphas[1],
        "second order must change alpha's path"
    );
    let _ = std::fs::remove_dir_all(&base);
}
