//! DARTS's continuous relaxation of the DARTS cell space (`DartsSupernet` as a
//! `MixedSupernet`): with alpha peaked on one cell's choices the mixed forward computes that
//! cell's path, and the derivation reads the cell back; the gradient to alpha is the derivative
//! of the loss (central finite differences through the engine's own mixed forward); and the
//! memory estimate of DARTS's compiled steps bounds what they really plan, for both spaces.

mod common;

use std::sync::Arc;

use common::*;
use nasgpu::autograd::ops::cross_entropy_mean;
use nasgpu::autograd::{Graph, Plan};
use nasgpu::data::{self, DeviceDataset};
use nasgpu::device::Gpu;
use nasgpu::nn::darts_cell::DARTS_NODES;
use nasgpu::nn::darts_cell::DartsCellGenotype;
use nasgpu::nn::supernet::{
    ArchWeights, DARTS_ALPHA_COLUMNS, DARTS_CELL_EDGES, DartsSupernet, MixedSupernet,
    Nb201Supernet, Supernet,
};
use nasgpu::nn::train::{ArchConfig, ArchOrder, DartsTrainer, Schedule, TrainConfig};
use nasgpu::nn::{Binder, DartsGenotype, DartsNetwork, Nb201Network};
use nasgpu::search::footprint::{SupernetFootprint, costliest_darts_genotype};
use nasgpu::search::{EvaluatorKind, SearchConfig, SpaceKind, StrategyKind};
use nasgpu::tensor::Tensor;
use rand::RngExt;

/// Images `[2, 2, 9, 7]` (odd sizes: the reduction cells' same-padded strided windows),
/// 5 classes.
const SHAPE: [usize; 4] = [2, 2, 9, 7];
const CLASSES: usize = 5;

fn shape(channels: usize, cells: usize) -> DartsNetwork {
    DartsNetwork {
        genotype: costliest_darts_genotype(),
        channels,
        cells,
    }
}

/// A supernet (C = 3, 4 cells: normal, reduction, reduction, normal) with every parameter
/// redrawn from `seed`, so no batch-norm scale or shift sits at a neutral 1 or 0.
fn redrawn_supernet(gpu: &Arc<Gpu>, seed: u64) -> DartsSupernet {
    let mut rng = nasgpu::util::seeded_rng(seed);
    let input = [SHAPE[1], SHAPE[2], SHAPE[3]];
    let net = DartsSupernet::new(gpu, &shape(3, 4), input, CLASSES, &mut rng).unwrap();
    let mut r = common::rng(seed ^ 0x5EED);
    for p in net.shared_parameters() {
        p.tensor
            .write_f32(&to_f32(&uniform_in(&mut r, p.tensor.numel(), -0.6, 0.6)));
    }
    net
}

/// Alpha whose row of each chosen edge peaks (+30) on its operation's column and whose other
/// rows peak on `none`, the rest uniform in [-2, 2]: every other operation weighs at most
/// e^-28 ~ 7e-13.
fn peaked_rows(path: &DartsGenotype, r: &mut common::TestRng) -> Vec<Vec<f32>> {
    let block = |cell: &DartsCellGenotype, r: &mut common::TestRng| {
        let mut rows = Vec::with_capacity(DARTS_CELL_EDGES);
        for j in 0..DARTS_NODES {
            for i in 0..j + 2 {
                let chosen = cell.nodes[j].iter().find(|e| e.input == i);
                let peak = chosen.map_or(0, |e| 1 + e.op.id());
                rows.push(
                    (0..DARTS_ALPHA_COLUMNS)
                        .map(|c| if c == peak { 30.0 } else { 0.0 } + r.random_range(-2.0f32..2.0))
                        .collect(),
                );
            }
        }
        rows
    };
    let mut rows = block(&path.normal, r);
    rows.extend(block(&path.reduce, r));
    rows
}

/// The mixed forward at a peaked alpha is the path of the cell it peaks on (training and
/// evaluation mode, sampled cells), and the derivation gives that cell back. Tolerance
/// 1e-5 + 1e-4 |ref| against the path's own f32 logits: the neglected operations add below
/// 1e-11 relative (every node keeps two order-one edges, so no batch norm rescales them), the
/// rest is f32 rounding of the extra terms of each weighted sum.
#[test]
fn peaked_alpha_computes_the_path_it_derives() {
    let gpu = gpu();
    let seed = fresh_seed();
    eprintln!("seed {seed}");
    let supernet = redrawn_supernet(&gpu, seed);
    assert_eq!(
        supernet.alpha_shape(),
        [2 * DARTS_CELL_EDGES, DARTS_ALPHA_COLUMNS]
    );
    let mut r = common::rng(seed ^ 0xA1FA);
    let x = uniform(&mut r, SHAPE.iter().product());
    let mut sampler = nasgpu::util::seeded_rng(seed ^ 0xCE11);
    let mut worst = 0.0f64;
    for _ in 0..3 {
        let path = supernet.sample_path(&mut sampler);
        let rows = peaked_rows(&path, &mut r);
        assert_eq!(
            supernet.derive(&rows),
            path,
            "the derivation reads the cell back"
        );
        let alpha = ArchWeights::from_rows(&gpu, &rows).unwrap();
        for train in [true, false] {
            let mixed = common::supernet::logits(&gpu, &SHAPE, &x, |g, b, xv| {
                let a = g.input(&alpha.tensor, "alpha");
                supernet.forward_mixed(g, b, xv, a, train).unwrap()
            });
            let single = common::supernet::logits(&gpu, &SHAPE, &x, |g, b, xv| {
                supernet.forward_path(g, b, xv, &path, train).unwrap()
            });
            let want = to_f64(&single);
            assert!(want.iter().all(|v| v.is_finite()));
            assert_close(
                &format!("{path} train={train}"),
                seed,
                &mixed,
                &want,
                1e-5,
                1e-4,
            );
            for (m, p) in mixed.iter().zip(&want) {
                worst = worst.max((*m as f64 - p).abs());
            }
        }
    }
    eprintln!("peaked mixture vs path: worst |diff| {worst:e}");
}

/// Alpha of the wrong shape is refused naming both shapes, not read out of bounds.
#[test]
fn alpha_of_another_shape_is_refused() {
    let gpu = gpu();
    let supernet = redrawn_supernet(&gpu, 3);
    let mut g = Graph::new(&gpu);
    let x = g.input(&Tensor::zeros(&gpu, &SHAPE).unwrap(), "images");
    let alpha = Tensor::zeros(&gpu, &[6, 5]).unwrap();
    let a = g.input(&alpha, "alpha");
    let mut b = Binder::new();
    let e = supernet
        .forward_mixed(&mut g, &mut b, x, a, true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[6, 5]") && e.contains("[28, 8]"), "{e}");
}

/// Draws the gradient check may take before one agrees (a max-pool or ReLU kink within the FD
/// step bends a difference; a wrong gradient misses on every draw).
const ATTEMPTS: u64 = 4;

/// The gradient of the mean cross-entropy to alpha (training mode, alpha uniform in [-1, 1] so
/// every operation weighs in, random labels) against central finite differences of the same
/// loss through the engine's mixed forward (f32 on the device, per-sample losses summed in f64
/// on the host), Richardson-extrapolated from h = 2e-3 and h/2, on 40 entries drawn from both
/// cells' rows. Tolerance as the NAS-Bench-201 check's (`darts_nb201.rs`): per entry
/// 1.5e-2 max |fd| + 2e-2 |fd| and relative L2 error below 3e-2.
#[test]
fn the_alpha_gradient_is_the_derivative_of_the_loss() {
    let first = fresh_seed();
    let mut misses = Vec::new();
    for attempt in 0..ATTEMPTS {
        match alpha_gradient_misses_fd(first.wrapping_add(attempt)) {
            None => return,
            Some(why) => {
                eprintln!("{why}: a kink within the FD step, redrawing");
                misses.push(why);
            }
        }
    }
    panic!(
        "dalpha missed the FD at {ATTEMPTS} draws from seed {first}:\n{}",
        misses.join("\n")
    );
}

fn alpha_gradient_misses_fd(seed: u64) -> Option<String> {
    let gpu = gpu();
    eprintln!("seed {seed}");
    let supernet = redrawn_supernet(&gpu, seed);
    let [rows, cols] = supernet.alpha_shape();
    let mut r = common::rng(seed ^ 0xF0);
    let start = uniform_in(&mut r, rows * cols, -1.0, 1.0);
    let x = upload(&gpu, &SHAPE, &uniform(&mut r, SHAPE.iter().product()));
    let labels: Vec<u32> = (0..SHAPE[0])
        .map(|_| r.random_range(0..CLASSES as u32))
        .collect();
    let labels = Tensor::from_u32(&gpu, &[SHAPE[0]], &labels).unwrap();

    // The gradient: alpha a parameter of the graph.
    let at = Tensor::from_f32(&gpu, &[rows, cols], &to_f32(&start)).unwrap();
    let mut g = Graph::new(&gpu);
    let xv = g.input(&x, "images");
    let lv = g.input(&labels, "labels");
    let a = g.param(&at, "alpha");
    let mut b = Binder::new();
    let logits = supernet.forward_mixed(&mut g, &mut b, xv, a, true).unwrap();
    let (loss, _) = cross_entropy_mean(&mut g, logits, lv).unwrap();
    g.backward(loss).unwrap();
    let da = g.grad(a).expect("a gradient reaches alpha");
    let plan = Plan::compile(&g, &[da]).unwrap();
    let out = plan.tensor(da).unwrap();
    out.write_f32(&vec![f32::NAN; out.numel()]);
    plan.run_all().unwrap();
    let grad = download(out);

    // The loss alone, alpha an input the host rewrites.
    let mut g = Graph::new(&gpu);
    let xv = g.input(&x, "images");
    let lv = g.input(&labels, "labels");
    let a = g.input(&at, "alpha");
    let mut b = Binder::new();
    let logits = supernet.forward_mixed(&mut g, &mut b, xv, a, true).unwrap();
    let (_, losses) = cross_entropy_mean(&mut g, logits, lv).unwrap();
    let plan = Plan::compile(&g, &[losses]).unwrap();
    let eval = |alpha: &[f64]| -> f64 {
        at.write_f32(&to_f32(alpha));
        plan.run_all().unwrap();
        let per_sample = download(plan.tensor(losses).unwrap());
        per_sample.iter().map(|&l| l as f64).sum::<f64>() / SHAPE[0] as f64
    };
    let entries: Vec<usize> = (0..40).map(|_| r.random_range(0..rows * cols)).collect();
    let h = 2e-3;
    let fd_at = |i: usize, h: f64| {
        let mut p = start.clone();
        p[i] += h;
        let plus = eval(&p);
        p[i] -= 2.0 * h;
        let minus = eval(&p);
        (plus - minus) / (2.0 * h)
    };
    let fd: Vec<f64> = entries
        .iter()
        .map(|&i| (4.0 * fd_at(i, h / 2.0) - fd_at(i, h)) / 3.0)
        .collect();
    let got: Vec<f64> = entries.iter().map(|&i| grad[i] as f64).collect();
    assert!(got.iter().all(|v| v.is_finite()), "dalpha not written");
    let scale = fd.iter().map(|f| f.abs()).fold(0.0, f64::max);
    assert!(
        scale > 1e-6,
        "the loss does not depend on alpha (largest |fd| {scale})"
    );
    let diff: f64 = got.iter().zip(&fd).map(|(g, f)| (g - f).powi(2)).sum();
    let norm: f64 = fd.iter().map(|f| f * f).sum();
    let relative = (diff / norm).sqrt();
    eprintln!("dalpha vs FD: relative L2 error {relative:e}, largest |fd| {scale:e}");
    if relative >= 3e-2 {
        return Some(format!("seed {seed}: relative L2 error {relative}"));
    }
    let atol = 1.5e-2 * scale;
    got.iter()
        .zip(&fd)
        .zip(&entries)
        .find(|((g, f), _)| (**g - **f).abs() > atol + 2e-2 * f.abs())
        .map(|((g, f), i)| format!("seed {seed}: entry {i} gpu {g} fd {f}"))
}

/// Bundled training images on the device.
fn bundled(gpu: &Arc<Gpu>) -> (Arc<DeviceDataset>, [usize; 3], usize) {
    let tt = data::bundled().unwrap();
    let device =
        Arc::new(DeviceDataset::upload(gpu, &tt.train, &tt.train.channel_stats()).unwrap());
    (device, tt.train.image_shape, tt.train.classes as usize)
}

fn train_config(batch: usize) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch,
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 3e-4,
        schedule: Schedule::Cosine,
        seed: 1,
        augment: data::Augment::NONE,
        grad_clip: 0.0,
    }
}

/// Planned and scratch bytes of DARTS's compiled steps on `net` (training configuration,
/// architecture step, training and validation ids), alpha drawn from `rng`.
fn compiled_bytes<S: MixedSupernet>(
    gpu: &Arc<Gpu>,
    net: S,
    data: &Arc<DeviceDataset>,
    (config, arch, ids): (TrainConfig, ArchConfig, (Vec<u32>, Vec<u32>)),
    rng: &mut nasgpu::util::SeededRng,
) -> (u64, u64) {
    let alpha = ArchWeights::new(gpu, net.alpha_shape(), rng).unwrap();
    let t = DartsTrainer::new(gpu, net, alpha, data, ids, config, arch).unwrap();
    let (planned, _, scratch) = t.planned_bytes();
    (planned, scratch)
}

/// The estimate `nasgpu search --strategy darts` gates on against the plans DARTS really
/// compiles, first and second order, on both spaces: never below them (it refuses what cannot
/// fit) and within 4x (so it does not refuse what fits).
#[test]
fn the_memory_estimate_bounds_the_compiled_darts_steps() {
    let gpu = gpu();
    let (data, input, classes) = bundled(&gpu);
    let batch = 8;
    let ids = (
        (0..16).collect::<Vec<u32>>(),
        (16..32).collect::<Vec<u32>>(),
    );
    for space in [SpaceKind::Darts, SpaceKind::Nb201] {
        for order in [1, 2] {
            let mut c = SearchConfig::quick();
            c.run.space = space;
            c.run.strategy = StrategyKind::Darts;
            c.run.evaluator = EvaluatorKind::Supernet;
            c.supernet.batch_size = batch;
            c.darts.order = order;
            c.darts_space.channels = 4;
            c.darts_space.cells = 3;
            c.nb201.channels = 4;
            c.nb201.cells_per_stage = 1;
            let estimate = SupernetFootprint::of(&gpu, &c, input, classes);
            let arch = ArchConfig {
                order: if order == 2 {
                    ArchOrder::Second
                } else {
                    ArchOrder::First
                },
                ..ArchConfig::default()
            };
            let mut rng = nasgpu::util::seeded_rng(1);
            let steps = || (train_config(batch), arch, ids.clone());
            let (planned, scratch) = if space == SpaceKind::Darts {
                let net = DartsSupernet::new(&gpu, &shape(4, 3), input, classes, &mut rng).unwrap();
                compiled_bytes(&gpu, net, &data, steps(), &mut rng)
            } else {
                let net_shape = Nb201Network {
                    genotype: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
                        .parse()
                        .unwrap(),
                    cells_per_stage: 1,
                    channels: 4,
                };
                let net = Nb201Supernet::new(&gpu, &net_shape, input, classes, &mut rng).unwrap();
                compiled_bytes(&gpu, net, &data, steps(), &mut rng)
            };
            let real = (planned + scratch) as f64;
            let estimated = estimate.plans as f64 * estimate.path_bytes;
            let ratio = estimated / real;
            eprintln!(
                "{} order {order}: estimate {:.1} MiB for {} plans, compiled {:.1} MiB (planned {:.1}, scratch {:.1}); ratio {ratio:.2}",
                space.name(),
                estimated / 1048576.0,
                estimate.plans,
                real / 1048576.0,
                planned as f64 / 1048576.0,
                scratch as f64 / 1048576.0
            );
            assert!(
                (1.0..4.0).contains(&ratio),
                "{} order {order}: estimate / compiled = {ratio}",
                space.name()
            );
        }
    }
}
