//! ENAS on the ENAS macro space (`--space enas --evaluator supernet`): the supernet's path is
//! the standalone network with the path's weights (same body, same parameter names: the
//! logits' bits agree), and its size is the one the memory estimate uses; through the CLI a
//! REINFORCE controller with anchor-point skips samples networks measured on shared weights,
//! `best.json` trains standalone and draws in the report, a search killed with SIGKILL resumes
//! to the same bits, and combinations that cannot work are refused naming the field.

mod common;
mod search_common;

use std::collections::HashMap;

use common::network_check::{gpu_logits, images};
use common::{fresh_seed, gpu};
use nasgpu::nn::supernet::{EnasSupernet, Supernet};
use nasgpu::nn::{Architecture, EnasMacroNetwork, Network};
use nasgpu::search::{ChildStatus, EvaluatorKind, SearchConfig, SpaceKind, StrategyKind};
use search_common::*;

#[test]
fn a_supernet_path_is_the_standalone_network_with_its_weights() {
    let gpu = gpu();
    let seed = fresh_seed();
    // 7 layers: reductions after layers 1 and 3; odd sizes 9x7 -> 5x4 -> 3x2.
    let (input, classes, layers, channels) = ([2, 9, 7], 5, 7, 3);
    let mut r = nasgpu::util::seeded_rng(seed);
    let supernet = EnasSupernet::new(&gpu, layers, channels, input, classes, &mut r).unwrap();
    let shared: HashMap<String, &nasgpu::tensor::Tensor> = supernet
        .shared_parameters()
        .into_iter()
        .map(|p| (p.name.clone(), &p.tensor))
        .collect();
    assert_eq!(
        shared.len(),
        supernet.shared_parameters().len(),
        "unique names"
    );
    let total: usize = shared.values().map(|t| t.numel()).sum();
    let any = EnasMacroNetwork {
        layers: supernet.sample_path(&mut r).0,
        channels,
    };
    assert_eq!(total, any.supernet_parameter_count(input[0], classes));
    let x = images(seed, [2, input[0], input[1], input[2]]);
    for _ in 0..3 {
        let path = supernet.sample_path(&mut r);
        let net = EnasMacroNetwork {
            layers: path.0.clone(),
            channels,
        };
        let arch = Architecture::enas_macro(input, classes, net);
        assert_eq!(supernet.path_of(&arch).unwrap(), path);
        let standalone = Network::new(&gpu, &arch, seed ^ 1).unwrap();
        for p in standalone.parameters() {
            let from = shared
                .get(&p.name)
                .unwrap_or_else(|| panic!("{} is not in the supernet", p.name));
            assert_eq!(from.shape(), p.tensor.shape(), "{}", p.name);
            p.tensor.write_f32(&from.to_f32().unwrap());
        }
        let want = gpu_logits(&gpu, &standalone, &x, true);
        let through = common::supernet::logits(&gpu, &x.shape, &x.data, |g, b, xv| {
            supernet.forward_path(g, b, xv, &path, true).unwrap()
        });
        assert_eq!(
            through.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "seed {seed}, path {path}"
        );
    }
    // A path of another shape is refused, naming both shapes.
    let other = Architecture::enas_macro(
        input,
        classes,
        EnasMacroNetwork {
            layers: supernet.sample_path(&mut r).0,
            channels: channels + 1,
        },
    );
    let e = supernet.path_of(&other).unwrap_err();
    assert!(
        e.contains("C = 4") && e.contains("the supernet has 7 layers, C = 3"),
        "{e}"
    );
}

/// ENAS's macro search, small enough for lavapipe in seconds: 4 layers at 4 channels, 8
/// children in batches of 2 on a 256-image split, with the released skip penalty and squashing.
fn config() -> SearchConfig {
    let mut c = SearchConfig::quick();
    c.run.space = SpaceKind::Enas;
    c.run.evaluator = EvaluatorKind::Supernet;
    c.run.strategy = StrategyKind::Reinforce;
    c.run.budget = 8;
    c.run.seed = 5;
    c.enas_space.layers = 4;
    c.enas_space.channels = 4;
    c.reinforce.children_per_step = 2;
    // ENAS's skip penalty and logit squashing, as the released macro search sets them.
    c.controller.skip_weight = 0.8;
    c.controller.tanh_constant = 1.5;
    c.controller.op_tanh_reduce = 2.5;
    c.child.train_images = 256;
    c.child.validation_images = 64;
    c.supernet.warmup_steps = 16;
    c.supernet.steps_per_update = 4;
    c.supernet.batch_size = 16;
    c.supernet.eval_images = 64;
    c.supernet.plan_cache = 2;
    c
}

#[test]
fn enas_searches_the_macro_space_on_shared_weights_trains_its_best_and_resumes() {
    let base = temp_dir("enas-search");
    let cfg = write_config(&base, &config());
    let whole = base.join("whole");
    let o = nasgpu(&search_args(&cfg, &whole));
    ok(&o);
    let log = stderr(&o);
    assert!(
        log.contains("space enas, strategy reinforce, evaluator supernet")
            && log.contains("ENAS macro, 4 layers, C = 4"),
        "the opening lines name the space and the supernet:\n{log}"
    );
    let reference = history(&whole);
    assert_eq!(reference.len(), 8);
    for r in &reference {
        assert_eq!(r.status, ChildStatus::Ok, "child {}", r.index);
        let net = r.architecture.enas.as_ref().expect("an ENAS network");
        assert_eq!((net.layers.len(), net.channels), (4, 4));
        // The controller's rollout is the canonical name's: 1 + 2 + 3 + 4 decisions.
        assert_eq!(r.rollout.0.len(), 10, "child {}", r.index);
        assert!((0.0..=1.0).contains(&r.val_accuracy[0]));
    }
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["evaluator"]["steps"], 16 + 3 * 4);

    // ENAS's answer: 10 architectures sampled from the trained controller, measured on the
    // final shared weights; the most accurate is derived.json, an ENAS network of the space.
    let derived = &summary(&whole)["derived"];
    let samples = derived["samples"]
        .as_array()
        .expect("the derivation's samples");
    assert_eq!(samples.len(), 10);
    let accuracies: Vec<f64> = samples
        .iter()
        .map(|s| s["val_accuracy"].as_f64().unwrap())
        .collect();
    let chosen = derived["chosen"].as_u64().unwrap() as usize;
    assert!(
        accuracies.iter().all(|&a| a <= accuracies[chosen]),
        "chose {chosen} of {accuracies:?}"
    );
    assert!(
        log.contains("derived (the trained controller's best of 10 samples"),
        "{log}"
    );
    let answer = Architecture::load(&whole.join("derived.json")).unwrap();
    let net = answer.enas.as_ref().expect("an ENAS network");
    assert_eq!((net.layers.len(), net.channels), (4, 4));
    // The samples are the controller's: a REINFORCE run without the derivation writes none.
    let mut off = config();
    off.supernet.derive_samples = 0;
    let off_dir = base.join("no-derivation");
    ok(&nasgpu(&search_args(
        &write_config(&base.join("off"), &off),
        &off_dir,
    )));
    assert!(!off_dir.join("derived.json").exists());
    assert_eq!(stripped(&reference), stripped(&history(&off_dir)));

    // best.json trains from scratch, and the report draws its layers and skips.
    let best = whole.join("best.json");
    let arch = Architecture::load(&best).unwrap();
    assert!(arch.enas.is_some());
    let trained = base.join("trained");
    let o = nasgpu(&[
        "train",
        "--arch",
        best.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        trained.to_str().unwrap(),
    ]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("test accuracy"));
    let html = base.join("report.html");
    let o = nasgpu(&[
        "report",
        whole.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    ok(&o);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("(stem)") && page.contains("The ENAS macro layers"),
        "no drawn ENAS layers in the report"
    );

    // Killed once children are recorded, then resumed: the same children, bit for bit, the
    // same state and shared weights.
    let killed = base.join("killed");
    let at_kill = kill_once_recorded(&search_args(&cfg, &killed), &killed, 3);
    assert!(
        (3..8).contains(&at_kill),
        "killed with {at_kill} of 8 children recorded; the test needs a run cut short"
    );
    let o = nasgpu(&["search", "--resume", killed.to_str().unwrap()]);
    assert!(o.status.success(), "resume failed: {}", stderr(&o));
    assert_eq!(
        stripped(&reference),
        stripped(&history(&killed)),
        "killed at {at_kill}"
    );
    assert!(
        exact_state(&whole, "evaluator") == exact_state(&killed, "evaluator"),
        "state.json or the supernet checkpoint differs after SIGKILL at {at_kill} and --resume"
    );
    assert_eq!(
        std::fs::read(whole.join("derived.json")).unwrap(),
        std::fs::read(killed.join("derived.json")).unwrap(),
        "the resumed run derives another architecture"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn settings_the_enas_space_cannot_work_with_are_refused_naming_the_field() {
    let mut darts = config();
    darts.run.strategy = StrategyKind::Darts;
    refused(&darts, &[], &["run.space", "--strategy darts", "enas"]);
    let mut wide = config();
    wide.enas_space.channels = 1024;
    wide.enas_space.layers = 24;
    refused(&wide, &[], &["enas_space.channels", "1024"]);
    let mut none = config();
    none.enas_space.layers = 0;
    refused(&none, &[], &["enas_space.layers", "0 is not in 1..=96"]);
}
