//! The NAS-Bench-201 supernet: a genotype's path through the shared weights computes exactly
//! what the standalone network of that genotype computes with those weights loaded (the
//! supernet and the standalone network run the same cell code, so the logits must be equal to
//! the bit, in training and in evaluation mode), the path's tensors are exactly the standalone
//! network's, and one set of weights serves every genotype.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use nasgpu::autograd::Graph;
use nasgpu::data::{self, DeviceDataset};
use nasgpu::device::Gpu;
use nasgpu::nn::supernet::Nb201Supernet;
use nasgpu::nn::train::{Schedule, SharedTrainer, TrainConfig, Trainer};
use nasgpu::nn::weights::{self, NamedTensor};
use nasgpu::nn::{Architecture, Binder, NB201_EDGES, Nb201Genotype, Nb201Network, Network};
use nasgpu::tensor::Tensor;

const GENOTYPES: [&str; 4] = [
    // Every operation (the example string of the NAS-Bench-201 paper).
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    // Node 1 only `none` (zeros), convs of both sizes on the same edges as above swapped.
    "|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    // Convs everywhere: every edge's 3x3 weights.
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    // No parameters in the cells at all.
    "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
];

const SHAPE: [usize; 4] = [2, 3, 9, 9];

fn shape() -> Nb201Network {
    Nb201Network {
        genotype: GENOTYPES[0].parse().unwrap(),
        cells_per_stage: 2,
        channels: 4,
    }
}

fn arch(genotype: &Nb201Genotype) -> Architecture {
    Architecture {
        input: [SHAPE[1], SHAPE[2], SHAPE[3]],
        classes: 7,
        layers: Vec::new(),
        darts: None,
        enas: None,
        nb201: Some(Nb201Network {
            genotype: *genotype,
            ..shape()
        }),
    }
}

/// A supernet whose every tensor is redrawn from `seed`.
fn supernet(gpu: &Arc<Gpu>, seed: u64) -> Nb201Supernet {
    let mut rng = nasgpu::util::seeded_rng(seed);
    let net =
        Nb201Supernet::new(gpu, &shape(), [SHAPE[1], SHAPE[2], SHAPE[3]], 7, &mut rng).unwrap();
    common::supernet::redraw(&net, seed);
    net
}

fn logits(
    gpu: &Arc<Gpu>,
    x: &[f64],
    forward: impl FnOnce(&mut Graph, &mut Binder, nasgpu::autograd::Value) -> nasgpu::autograd::Value,
) -> Vec<f32> {
    common::supernet::logits(gpu, &SHAPE, x, forward)
}

#[test]
fn a_path_computes_what_the_standalone_network_computes_with_its_weights() {
    let gpu = gpu();
    let seed = fresh_seed();
    let supernet = supernet(&gpu, seed);
    let x = uniform(&mut common::rng(seed ^ 7), SHAPE.iter().product());
    for g in GENOTYPES {
        let genotype: Nb201Genotype = g.parse().unwrap();
        let standalone = Network::new(&gpu, &arch(&genotype), seed + 1).unwrap();
        let path: Vec<NamedTensor> = supernet
            .path_state(&genotype)
            .into_iter()
            .map(|(name, t)| NamedTensor {
                name,
                shape: t.shape().to_vec(),
                data: t.to_f32().unwrap(),
            })
            .collect();
        // The same tensors, in the same order, as the standalone network's state.
        let want: Vec<(String, Vec<usize>)> = standalone
            .state()
            .into_iter()
            .map(|(n, t)| (n, t.shape().to_vec()))
            .collect();
        let got: Vec<(String, Vec<usize>)> = path
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone()))
            .collect();
        assert_eq!(got, want, "{g}: path tensors");
        weights::apply(&standalone, &path, "path").unwrap();
        for train in [false, true] {
            let a = logits(&gpu, &x, |g, b, xv| {
                supernet.forward(g, b, xv, &genotype, train).unwrap()
            });
            let s = logits(&gpu, &x, |g, b, xv| {
                standalone.forward(g, b, xv, train).unwrap()
            });
            assert!(a.iter().all(|v| v.is_finite()), "{g}: {a:?}");
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                s.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{g} train={train} (seed {seed}): supernet {a:?} vs standalone {s:?}"
            );
        }
    }
}

/// The supernet holds one 1x1 and one 3x3 ReLU-conv-BN per edge of every cell besides the
/// skeleton, and a genotype with convs of one size on every edge reads a disjoint half of them.
#[test]
fn every_genotype_shares_one_set_of_weights() {
    let gpu = gpu();
    let supernet = supernet(&gpu, 3);
    let n = shape();
    let all: usize = supernet.parameters().iter().map(|p| p.tensor.numel()).sum();
    let cells: usize = n
        .stage_channels()
        .iter()
        .map(|&c| n.cells_per_stage * 6 * ((c * c + 2 * c) + (9 * c * c + 2 * c)))
        .sum();
    let empty = arch(&GENOTYPES[3].parse().unwrap());
    assert_eq!(
        all,
        cells + empty.parameter_count(),
        "skeleton + every edge's convs"
    );

    let names = |g: &str| -> BTreeSet<String> {
        let genotype: Nb201Genotype = g.parse().unwrap();
        let standalone: BTreeSet<String> = supernet
            .path_state(&genotype)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        standalone
    };
    let threes = names(GENOTYPES[2]);
    let ones = names(&GENOTYPES[2].replace("3x3", "1x1"));
    // The standalone names agree (same edges), but the tensors behind them differ in size.
    assert_eq!(threes, ones);
    let size = |g: &str| -> usize {
        supernet
            .path_state(&g.parse().unwrap())
            .iter()
            .map(|(_, t)| t.numel())
            .sum()
    };
    assert!(size(GENOTYPES[2]) > size(&GENOTYPES[2].replace("3x3", "1x1")));
}

/// Bundled training images on the device, shaped like the supernet's input for these tests.
fn bundled(gpu: &Arc<Gpu>) -> (Arc<DeviceDataset>, [usize; 3], usize) {
    let tt = data::bundled().unwrap();
    let device =
        Arc::new(DeviceDataset::upload(gpu, &tt.train, &tt.train.channel_stats()).unwrap());
    (device, tt.train.image_shape, tt.train.classes as usize)
}

fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch: 16,
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 5e-4,
        schedule: Schedule::Cosine,
        seed,
        augment: data::Augment::NONE,
        grad_clip: 0.0,
    }
}

fn host(state: Vec<(String, &Tensor)>) -> Vec<(String, Vec<u32>)> {
    state
        .into_iter()
        .map(|(n, t)| (n, t.to_f32().unwrap().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

/// Two steps of a path in the shared-weight trainer give, to the bit, the weights (and running
/// statistics) that two steps of `Trainer` give the standalone network started from the path's
/// weights; every parameter off the path stays as it was; and a second path picks up the
/// weights (and momentum) the first one left on the operations they share.
#[test]
fn shared_steps_train_the_path_exactly_as_standalone_training_does() {
    let gpu = gpu();
    let (data, input, classes) = bundled(&gpu);
    let shape = Nb201Network {
        genotype: GENOTYPES[0].parse().unwrap(),
        cells_per_stage: 1,
        channels: 4,
    };
    let mut rng = nasgpu::util::seeded_rng(5);
    let supernet = Nb201Supernet::new(&gpu, &shape, input, classes, &mut rng).unwrap();
    let ids: Vec<u32> = (0..64).collect();
    let mut shared = SharedTrainer::new(&gpu, supernet, &data, ids.clone(), config(9), 2).unwrap();
    let a: Nb201Genotype = GENOTYPES[0].parse().unwrap();
    let b: Nb201Genotype = GENOTYPES[1].parse().unwrap();

    // The standalone network of `a`, from the supernet's initial weights.
    let arch_a = Architecture {
        input,
        classes,
        layers: Vec::new(),
        darts: None,
        enas: None,
        nb201: Some(Nb201Network {
            genotype: a,
            ..shape.clone()
        }),
    };
    let standalone = Network::new(&gpu, &arch_a, 77).unwrap();
    let start: Vec<NamedTensor> = shared
        .supernet
        .path_state(&a)
        .into_iter()
        .map(|(name, t)| NamedTensor {
            name,
            shape: t.shape().to_vec(),
            data: t.to_f32().unwrap(),
        })
        .collect();
    weights::apply(&standalone, &start, "path").unwrap();
    let mut trainer = Trainer::new(&gpu, standalone, &data, ids, config(9)).unwrap();

    let everything_before = host(
        shared
            .supernet
            .parameters()
            .into_iter()
            .map(|p| (p.name.clone(), &p.tensor))
            .collect(),
    );
    shared.begin_epoch(0);
    trainer.begin_epoch(0);
    for s in 0..2 {
        shared.step(&a, s).unwrap();
        trainer.step(s).unwrap();
    }
    assert_eq!(
        host(shared.supernet.path_state(&a)),
        host(trainer.net.state()),
        "the path's weights after two shared steps differ from standalone training"
    );
    let on_path: BTreeSet<String> = shared
        .supernet
        .path_state(&a)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let after = host(
        shared
            .supernet
            .parameters()
            .into_iter()
            .map(|p| (p.name.clone(), &p.tensor))
            .collect(),
    );
    let mut changed = 0;
    for ((name, before), (_, now)) in everything_before.iter().zip(&after) {
        let standalone_name = name
            .replace(".nor_conv_1x1.", ".")
            .replace(".nor_conv_3x3.", ".");
        let on = on_path.contains(&standalone_name)
            && (name == &standalone_name
                || a.0
                    .iter()
                    .zip(NB201_EDGES)
                    .any(|(op, (i, j))| name.contains(&format!("edge_{i}_{j}.{}.", op.name()))));
        if on {
            changed += usize::from(before != now);
        } else {
            assert_eq!(before, now, "{name} is off the path but changed");
        }
    }
    assert!(changed > 10, "only {changed} path parameters changed");

    // Path b has no cell operation in common with a (on every edge another op), but shares the
    // skeleton: its step moves the stem weights a trained, through the momentum buffer a left.
    let stem = "stem.conv.weight";
    let read = |t: Option<&Tensor>| t.unwrap().to_f32().unwrap();
    let weight = |t: &SharedTrainer<Nb201Supernet>| {
        let p = t
            .supernet
            .parameters()
            .into_iter()
            .find(|p| p.name == stem)
            .unwrap();
        p.tensor.to_f32().unwrap()
    };
    let (weight_before, momentum_before) = (weight(&shared), read(shared.momentum(stem)));
    assert!(
        momentum_before.iter().any(|&v| v != 0.0),
        "a left no momentum"
    );
    let trained_by_a = shared.momenta();
    shared.step(&b, 2).unwrap();
    assert_ne!(
        weight(&shared),
        weight_before,
        "path b did not train the stem"
    );
    assert_ne!(
        read(shared.momentum(stem)),
        momentum_before,
        "b used another momentum buffer"
    );
    // 3 tensors (conv weight, BN gamma and beta) per conv op, in each of the 3 cells.
    let b_only: usize =
        b.0.iter()
            .filter(|op| op.name().starts_with("nor_conv"))
            .count()
            * 3
            * 3;
    assert_eq!(
        shared.momenta(),
        trained_by_a + b_only,
        "one momentum buffer per trained parameter: b adds only its own convs' (weight, gamma, beta)"
    );
    let cached: Vec<&Nb201Genotype> = shared.cached_paths().collect();
    assert_eq!(cached, vec![&b, &a], "most recent path first");
    shared.step(&GENOTYPES[2].parse().unwrap(), 3).unwrap();
    assert_eq!(shared.cached_paths().count(), 2, "the cache keeps 2 plans");
}

/// The weight-sharing evaluator: its update phase trains the supernet on uniformly drawn paths;
/// a proposal is measured by its path's validation accuracy on the shared weights, the same
/// every time it is asked (evaluation changes nothing); after the update phase a path of convs
/// is far above chance while a cell with no path from input to output stays near it; and an
/// architecture the supernet cannot hold is reported invalid, naming why.
#[test]
fn the_supernet_evaluator_ranks_paths_on_shared_weights() {
    use nasgpu::search::evaluator::{
        EvalEvent, Evaluator, Job, SupernetEvaluator, SupernetSettings,
    };
    use nasgpu::search::{ChildStatus, ProxyTask, Rollout};

    let gpu = gpu();
    let (data, input, classes) = bundled(&gpu);
    let shape = Nb201Network {
        genotype: GENOTYPES[0].parse().unwrap(),
        cells_per_stage: 1,
        channels: 8,
    };
    let mut rng = nasgpu::util::seeded_rng(11);
    let supernet = Nb201Supernet::new(&gpu, &shape, input, classes, &mut rng).unwrap();
    let task = ProxyTask {
        data,
        train_ids: (0..1200).collect(),
        val_ids: (1200..1600).collect(),
        augment: data::Augment::NONE,
    };
    let settings = SupernetSettings {
        supernet: nasgpu::search::config::SupernetConfig {
            warmup_steps: 60,
            steps_per_update: 60,
            batch_size: 32,
            learning_rate: 0.1,
            momentum: 0.9,
            weight_decay: 5e-4,
            eval_images: 256,
            plan_cache: 4,
            training_paths: nasgpu::search::config::TrainingPaths::Uniform,
            grad_clip: 0.0,
            derive_samples: 0,
        },
        total_steps: 120,
        seed: 3,
    };
    let mut evaluator = SupernetEvaluator::new(&gpu, supernet, task, settings).unwrap();
    let never = || false;
    for _ in 0..2 {
        assert!(
            evaluator
                .update(&never, &mut |_| Ok(None), &mut |_, _| {})
                .unwrap()
        );
    }
    assert_eq!(evaluator.steps(), 120);

    let convs = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let cut = "|none~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|";
    let job = |index: usize, g: &str, net: Nb201Network| Job {
        index,
        rollout: Rollout(vec![0; 6]),
        canonical: g.to_string(),
        architecture: Architecture {
            input,
            classes,
            layers: Vec::new(),
            darts: None,
            enas: None,
            nb201: Some(Nb201Network {
                genotype: g.parse().unwrap(),
                ..net
            }),
        },
        seed: 0,
    };
    let jobs = [
        job(0, convs, shape.clone()),
        job(1, cut, shape.clone()),
        job(2, convs, shape.clone()),
        job(
            3,
            convs,
            Nb201Network {
                channels: 16,
                ..shape.clone()
            },
        ),
    ];
    let mut got = Vec::new();
    let done = evaluator
        .evaluate(&jobs, &never, &mut |e| {
            if let EvalEvent::Done { slot, measurement } = e {
                got.push((slot, measurement));
            }
            Ok(())
        })
        .unwrap();
    assert!(done);
    assert_eq!(
        got.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    let acc = |k: usize| got[k].1.val_accuracy[0];
    println!(
        "after 120 shared steps: convs {:.3}, disconnected {:.3}",
        acc(0),
        acc(1)
    );
    // Seen: 0.336 and 0.078 (10 classes; 120 steps share the weights among 15,625 paths).
    assert!(acc(0) > 0.25, "a conv path learned nothing: {}", acc(0));
    assert!(acc(1) < 0.2, "a disconnected cell beats chance: {}", acc(1));
    assert_eq!(acc(0), acc(2), "measuring a path twice gave two answers");
    assert_eq!(got[3].1.status, ChildStatus::Invalid);
    let why = got[3].1.error.as_deref().unwrap();
    assert!(why.contains("C = 16") && why.contains("C = 8"), "{why}");
}

/// With `training_paths` "strategy", the update phase trains on the architectures the
/// strategy's sampler gives (ENAS: the controller's samples), drawing them with the
/// evaluator's generator: trained on a path without `nor_conv_1x1`, no `nor_conv_1x1` weight
/// moves while the path's `nor_conv_3x3` weights do; progress is told after every step;
/// "uniform" never asks the strategy.
#[test]
fn the_supernet_evaluator_trains_on_the_strategys_samples() {
    use nasgpu::nn::supernet::Supernet;
    use nasgpu::search::ProxyTask;
    use nasgpu::search::config::{SupernetConfig, TrainingPaths};
    use nasgpu::search::evaluator::{Evaluator, SupernetEvaluator, SupernetSettings};
    use rand::RngExt;

    let gpu = gpu();
    let (data, input, classes) = bundled(&gpu);
    let convs = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let shape = Nb201Network {
        genotype: convs.parse().unwrap(),
        cells_per_stage: 1,
        channels: 4,
    };
    let arch = Architecture {
        input,
        classes,
        layers: Vec::new(),
        darts: None,
        enas: None,
        nb201: Some(shape.clone()),
    };
    let evaluator = |paths: TrainingPaths| {
        let mut rng = nasgpu::util::seeded_rng(4);
        let supernet = Nb201Supernet::new(&gpu, &shape, input, classes, &mut rng).unwrap();
        let task = ProxyTask {
            data: data.clone(),
            train_ids: (0..256).collect(),
            val_ids: (256..320).collect(),
            augment: data::Augment::NONE,
        };
        let settings = SupernetSettings {
            supernet: SupernetConfig {
                warmup_steps: 6,
                batch_size: 16,
                training_paths: paths,
                ..SupernetConfig::default()
            },
            total_steps: 6,
            seed: 3,
        };
        SupernetEvaluator::new(&gpu, supernet, task, settings).unwrap()
    };
    let weights = |e: &SupernetEvaluator<Nb201Supernet>| -> Vec<(String, Vec<f32>)> {
        e.supernet()
            .shared_parameters()
            .iter()
            .map(|p| (p.name.clone(), p.tensor.to_f32().unwrap()))
            .collect()
    };
    let never = || false;

    let mut asked = 0;
    let mut e = evaluator(TrainingPaths::Strategy);
    let before = weights(&e);
    let mut sampler = |rng: &mut nasgpu::util::SeededRng| {
        asked += 1;
        let _: f32 = rng.random(); // a controller draws its uniforms from the evaluator's generator
        Ok(Some(vec![arch.clone(), arch.clone()]))
    };
    let mut told = Vec::new();
    assert!(
        e.update(&never, &mut sampler, &mut |done, of| told.push((done, of)))
            .unwrap()
    );
    assert_eq!(asked, 3, "6 steps, 2 architectures a call");
    assert_eq!(
        told,
        (1..=6).map(|k| (k, 6)).collect::<Vec<_>>(),
        "progress after each step"
    );
    let after = weights(&e);
    let moved = |op: &str| {
        before
            .iter()
            .zip(&after)
            .filter(|((name, _), _)| name.contains(op))
            .map(|((_, b), (_, a))| b != a)
            .collect::<Vec<bool>>()
    };
    let untouched = moved(".nor_conv_1x1.");
    assert!(
        !untouched.is_empty() && untouched.iter().all(|m| !m),
        "a nor_conv_1x1 weight moved"
    );
    assert!(
        moved(".nor_conv_3x3.").iter().any(|&m| m),
        "the path's convs did not train"
    );

    let mut e = evaluator(TrainingPaths::Uniform);
    let mut refused = |_: &mut nasgpu::util::SeededRng| -> Result<_, _> {
        panic!("uniform training asked the strategy for paths")
    };
    assert!(e.update(&never, &mut refused, &mut |_, _| {}).unwrap());
}
