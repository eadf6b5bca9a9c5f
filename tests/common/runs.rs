//! Synthesised search runs and training folders for tests that read them (export, report),
//! built through the public run-directory API with records from JSON, so they need no GPU.
//! Included by the tests that use it with `#[path = "common/runs.rs"] mod runs;`.
#![allow(dead_code)]

use std::path::Path;

use nasgpu::nn::{Architecture, LayerSpec};
use nasgpu::search::{ChildRecord, RunDir, SearchConfig, SearchState, StrategyKind as Strategy};
use rand::{RngExt, SeedableRng};

pub type Rng = rand::rngs::Xoshiro256PlusPlus;

/// A random NAS-RL-like architecture of `layers` layers (odd filters, strides, skips).
pub fn random_arch(rng: &mut Rng, layers: usize) -> Architecture {
    let sides = [1, 3, 5, 7];
    let counts = [24, 36, 48, 64];
    let layers = (0..layers)
        .map(|i| LayerSpec {
            filter_height: sides[rng.random_range(0..4)],
            filter_width: sides[rng.random_range(0..4)],
            filters: counts[rng.random_range(0..4)],
            stride: if rng.random_range(0..4) == 0 { 2 } else { 1 },
            inputs: if i == 0 {
                vec![]
            } else {
                let mut v: Vec<usize> = (0..i).filter(|_| rng.random_range(0..3) == 0).collect();
                if v.is_empty() {
                    v.push(i - 1);
                }
                v
            },
        })
        .collect();
    Architecture::layered([1, 28, 28], 10, layers)
}

/// The space of the synthesised runs: every architecture `random_arch` draws is one of it
/// (filter sides 1..7, counts 24..64, strides 1 and 2, skips, 1 to 8 layers).
pub fn synth_space() -> nasgpu::search::MacroSpace {
    let mut space = SearchConfig::quick().space;
    space.filter_heights = vec![1, 3, 5, 7];
    space.filter_widths = vec![1, 3, 5, 7];
    space.filter_counts = vec![24, 36, 48, 64];
    space.max_layers = 8;
    space
}

/// The canonical name and rollout of `arch` in `synth_space()`, so a synthesised history line
/// agrees with itself as a search's does.
fn rollout_of(arch: &Architecture) -> (String, nasgpu::search::Rollout) {
    use nasgpu::search::Space;
    let name = arch
        .layers
        .iter()
        .map(|l| {
            let inputs: Vec<String> = l.inputs.iter().map(|i| i.to_string()).collect();
            format!(
                "k{}x{}-c{}-s{}-i[{}]",
                l.filter_height,
                l.filter_width,
                l.filters,
                l.stride,
                inputs.join(",")
            )
        })
        .collect::<Vec<_>>()
        .join("/");
    let space = synth_space();
    let rollout = space
        .parse(&name)
        .expect("a synthesised architecture of the space");
    assert_eq!(
        &space.architecture(&rollout, arch.input, arch.classes),
        arch,
        "{name}"
    );
    (space.canonical(&rollout), rollout)
}

/// One history record from its fields (through JSON, as `history.jsonl` holds it).
pub fn record(
    index: usize,
    arch: &Architecture,
    val_accuracy: &[f64],
    seconds: f64,
    ok: bool,
) -> ChildRecord {
    let best = val_accuracy.iter().copied().fold(0.0, f64::max);
    let reward = if ok { best.powi(3) } else { 0.0 };
    let (canonical, rollout) = rollout_of(arch);
    let value = serde_json::json!({
        "index": index,
        "controller_step": index / 8,
        "architecture": arch,
        "rollout": rollout,
        "canonical": canonical,
        "reward": reward,
        "val_accuracy": val_accuracy,
        "parameters": arch.parameter_count(),
        "flops": arch.forward_flops(),
        "train_seconds": seconds,
        "status": if ok { "ok" } else { "nan_loss" },
        "error": if ok { serde_json::Value::Null } else { "training loss became NaN".into() },
    });
    serde_json::from_value(value).expect("a ChildRecord")
}

/// A finished run of `children` synthesised children whose accuracy improves over the run
/// (more for `Strategy::Reinforce`), with about 2% failures.
pub fn synth_run(dir: &Path, strategy: Strategy, seed: u64, children: usize, epochs: usize) {
    let _ = std::fs::remove_dir_all(dir);
    let mut config = SearchConfig::quick();
    config.space = synth_space();
    config.run.strategy = strategy;
    config.run.seed = seed;
    config.run.budget = children;
    let run = RunDir::create(dir, &config).expect("create run");
    // history.jsonl written in one go: RunDir::record syncs every line, slow for 12,800.
    let mut history = String::new();
    let mut best: Option<(f64, Architecture)> = None;
    let mut rng = Rng::seed_from_u64(seed);
    let mut child_seconds = 0.0;
    for i in 0..children {
        let progress = i as f64 / children.max(1) as f64;
        let depth = rng.random_range(3..9);
        let arch = random_arch(&mut rng, depth);
        let gain = if strategy == Strategy::Reinforce {
            0.25
        } else {
            0.05
        };
        let top = (0.45 + gain * progress + rng.random_range(0.0..0.25)).min(0.95);
        let curve: Vec<f64> = (1..=epochs)
            .map(|e| top * (1.0 - 0.6f64.powi(e as i32)) + rng.random_range(-0.01..0.01))
            .collect();
        let ok = rng.random_range(0..50) != 0;
        let seconds = arch.forward_flops() / 2e6 + rng.random_range(0.5..2.0);
        child_seconds += seconds;
        let r = record(i, &arch, &curve, seconds, ok);
        if best.as_ref().is_none_or(|(b, _)| r.reward > *b) {
            best = Some((r.reward, arch.clone()));
        }
        history.push_str(&serde_json::to_string(&r).expect("record serialises"));
        history.push('\n');
    }
    std::fs::write(dir.join("history.jsonl"), history).expect("history");
    if let Some((_, arch)) = best {
        std::fs::write(dir.join("best.json"), arch.to_json()).expect("best.json");
    }
    let mut state = SearchState::new(seed);
    state.children_done = children;
    state.step = children / 8;
    let reinforce = strategy == Strategy::Reinforce;
    state.cost = nasgpu::search::SearchCost {
        total_seconds: child_seconds * 1.004,
        child_seconds,
        controller_sample_seconds: if reinforce {
            0.008 * children as f64
        } else {
            0.0
        },
        controller_update_seconds: if reinforce {
            0.06 * state.step as f64
        } else {
            0.0
        },
        controller_compile_seconds: if reinforce { 1.5 } else { 0.0 },
        controller_updates: if reinforce { state.step } else { 0 },
        sampled_architectures: children,
        update_seconds: 0.0,
    };
    run.save_state(&state).expect("state");
}
