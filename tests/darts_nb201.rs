//! First-order DARTS on the NAS-Bench-201 supernet: the mixed forward is the single-path
//! forward when alpha picks one operation per edge, the architecture step's gradient to alpha
//! is the derivative of the validation loss (central finite differences through the engine's
//! own forward), alternating steps train (the training loss falls, alpha moves, each step leaves
//! the other's variables alone) and reproduce to the bit from a seed.

mod common;

use std::sync::Arc;

use common::*;
use nasgpu::autograd::ops::cross_entropy_mean;
use nasgpu::autograd::{Graph, Plan, Value};
use nasgpu::data::{self, DeviceDataset};
use nasgpu::device::Gpu;
use nasgpu::nn::supernet::{
    ALPHA_SHAPE, AlphaRow, ArchWeights, MixedSupernet, Nb201Supernet, derive_genotype,
};
use nasgpu::nn::train::{ArchConfig, DartsTrainer, Schedule, TrainConfig, gather};
use nasgpu::nn::{Binder, NB201_EDGES, Nb201Genotype, Nb201Network, Nb201Op};
use nasgpu::tensor::Tensor;
use rand::RngExt;

const SHAPE: [usize; 4] = [2, 3, 9, 9];
const CLASSES: usize = 7;

fn shape(cells_per_stage: usize, channels: usize) -> Nb201Network {
    Nb201Network {
        genotype: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
            .parse()
            .unwrap(),
        cells_per_stage,
        channels,
    }
}

/// A supernet whose every tensor is redrawn from `seed`.
fn redrawn_supernet(gpu: &Arc<Gpu>, seed: u64) -> Nb201Supernet {
    let mut rng = nasgpu::util::seeded_rng(seed);
    let input = [SHAPE[1], SHAPE[2], SHAPE[3]];
    let net = Nb201Supernet::new(gpu, &shape(2, 4), input, CLASSES, &mut rng).unwrap();
    common::supernet::redraw(&net, seed);
    net
}

fn logits(
    gpu: &Arc<Gpu>,
    x: &[f64],
    forward: impl FnOnce(&mut Graph, &mut Binder, Value) -> Value,
) -> Vec<f32> {
    common::supernet::logits(gpu, &SHAPE, x, forward)
}

/// Whether some node of the cell has only `none` inputs (it is then exactly zero on a path, but
/// about e^-28 times its mixed operations in the peaked mixture, which a training-mode batch
/// norm downstream rescales to order one).
fn has_empty_node(genotype: &Nb201Genotype) -> bool {
    (1..4).any(|node| {
        genotype
            .0
            .iter()
            .zip(&NB201_EDGES)
            .filter(|(_, e)| e.1 == node)
            .all(|(op, _)| *op == Nb201Op::None)
    })
}

/// With alpha +30 on one operation per edge (the others uniform in [-2, 2], so each weighs at
/// most e^-28 ~ 7e-13), the mixed forward computes the single path of that genotype: in
/// evaluation mode for every genotype, in training mode for those without an empty node (see
/// `has_empty_node`). Tolerance 1e-5 + 1e-4 |ref| against the path's own f32 logits: the
/// neglected operations add below 1e-11 relative, the rest is f32 rounding of the one extra
/// weighted sum per edge (worst seen: exact).
#[test]
fn peaked_alpha_computes_the_argmax_path() {
    let gpu = gpu();
    let seed = fresh_seed();
    eprintln!("seed {seed}");
    let supernet = redrawn_supernet(&gpu, seed);
    let mut r = common::rng(seed ^ 0x5EED);
    let x = uniform(&mut r, SHAPE.iter().product());
    let mut genotypes: Vec<Nb201Genotype> = [
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
        "|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    for _ in 0..2 {
        genotypes.push(Nb201Genotype(std::array::from_fn(|_| {
            Nb201Op::ALL[r.random_range(0..5)]
        })));
    }
    let mut worst = 0.0f64;
    for genotype in genotypes {
        let rows: [AlphaRow; 6] = std::array::from_fn(|e| {
            std::array::from_fn(|o| {
                let peak = if Nb201Op::ALL[o] == genotype.0[e] {
                    30.0
                } else {
                    0.0
                };
                peak + r.random_range(-2.0f32..2.0)
            })
        });
        assert_eq!(derive_genotype(&rows), genotype);
        let alpha = ArchWeights::from_rows(&gpu, &rows).unwrap();
        for train in [false, true] {
            if train && has_empty_node(&genotype) {
                continue;
            }
            let mixed = logits(&gpu, &x, |g, b, xv| {
                let a = g.input(&alpha.tensor, "alpha");
                supernet.forward_mixed(g, b, xv, a, train).unwrap()
            });
            let path = logits(&gpu, &x, |g, b, xv| {
                supernet.forward(g, b, xv, &genotype, train).unwrap()
            });
            let want = to_f64(&path);
            assert!(want.iter().all(|v| v.is_finite()));
            assert_close(
                &format!("{genotype} train={train}"),
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

/// The derivation takes the largest weight per edge, `none` included, the first on a tie.
#[test]
fn the_genotype_is_the_argmax_of_each_row_none_included() {
    let mut rows = [[0.0f32; 5]; 6];
    rows[0] = [0.3, 0.1, 0.2, 0.0, -1.0]; // none
    rows[1] = [0.0, 0.0, 0.0, 0.0, 0.0]; // a tie: the first (none)
    rows[2] = [-0.5, 0.2, 0.2, 0.1, 0.0]; // tie of skip and 1x1: skip
    rows[3] = [0.0, 0.0, 0.0, 1e-3, 0.0]; // 3x3
    rows[4] = [-1.0, -1.0, -1.0, -1.0, -0.5]; // avg pool
    rows[5] = [0.0, 0.0, 2.0, 0.0, 0.0]; // 1x1
    assert_eq!(
        derive_genotype(&rows).to_string(),
        "|none~0|+|none~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    );
}

/// Bundled training images on the device.
fn bundled(gpu: &Arc<Gpu>) -> (Arc<DeviceDataset>, [usize; 3], usize) {
    let tt = data::bundled().unwrap();
    let device =
        Arc::new(DeviceDataset::upload(gpu, &tt.train, &tt.train.channel_stats()).unwrap());
    (device, tt.train.image_shape, tt.train.classes as usize)
}

fn config(batch: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 4,
        batch,
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

/// A trainer of an N = 1 supernet of `channels` channels from `seed` (weights and alpha drawn
/// from it), weight steps over images 0..n_train and architecture steps over the next n_valid.
fn trainer(
    gpu: &Arc<Gpu>,
    data: &Arc<DeviceDataset>,
    (input, classes): ([usize; 3], usize),
    (channels, batch, n_train, n_valid): (usize, usize, u32, u32),
    seed: u64,
) -> DartsTrainer<Nb201Supernet> {
    let mut rng = nasgpu::util::seeded_rng(seed);
    let supernet = Nb201Supernet::new(gpu, &shape(1, channels), input, classes, &mut rng).unwrap();
    let alpha = ArchWeights::new(gpu, ALPHA_SHAPE, &mut rng).unwrap();
    let ids = (
        (0..n_train).collect(),
        (n_train..n_train + n_valid).collect(),
    );
    let cfg = config(batch, seed);
    DartsTrainer::new(gpu, supernet, alpha, data, ids, cfg, ArchConfig::default()).unwrap()
}

/// The architecture step's gradient to alpha (N = 1, C = 4, a batch of 4, alpha uniform in
/// [-1, 1] so every operation weighs in) against central finite differences of the same
/// validation batch's loss, evaluated by the engine's mixed forward at alpha ± h e_i (f32 on the
/// device, per-sample losses summed in f64 on the host), Richardson-extrapolated from h = 2e-3
/// and h/2. The engine's loss at alpha itself must equal the step's loss to the bit (same batch,
/// weights and graph), so both sides see one function. The FD side is limited from both ends:
/// larger h crosses ReLU kinks (at h = 1e-2 entries were 5-25% off, converging to the gradient
/// as h shrank), smaller h meets the f32 loss noise (~1e-6 over 2h). Tolerance: per entry
/// 1.5e-2 max|fd| + 2e-2 |fd|, and relative L2 error below 3e-2 (worst seen ~1e-3 absolute
/// with max |fd| 0.14). A kink can still fall within h on a draw (seen once in CI: one entry
/// 1.5e-3 off, tolerance 1.1e-3, relative L2 1.9e-2), so a draw that misses is redrawn with the
/// next seed, up to `ATTEMPTS` times; a wrong gradient misses on every draw.
#[test]
fn the_alpha_gradient_is_the_derivative_of_the_validation_loss() {
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

/// Draws the check above may take before one agrees.
const ATTEMPTS: u64 = 4;

/// The check of the test above for one draw: why dalpha misses the FD, or None when it agrees.
fn alpha_gradient_misses_fd(seed: u64) -> Option<String> {
    let gpu = gpu();
    eprintln!("seed {seed}");
    let (data, input, classes) = bundled(&gpu);
    let batch = 4;
    let mut t = trainer(&gpu, &data, (input, classes), (4, batch, 64, 64), seed);
    let mut r = common::rng(seed ^ 0xA1FA);
    let start = uniform_in(&mut r, 30, -1.0, 1.0);
    let rows: [AlphaRow; 6] =
        std::array::from_fn(|e| std::array::from_fn(|o| start[e * 5 + o] as f32));
    t.alpha.write(&rows);
    t.begin_epoch(0);
    // One weight step first, so the weights are not at their initial draw.
    t.weight_step(0).unwrap();
    let grad_t = t.alpha_grad();
    grad_t.write_f32(&vec![f32::NAN; grad_t.numel()]);
    t.arch_step(1).unwrap();
    let grad = download(t.alpha_grad());
    let step_loss = download(t.arch_loss())[0];
    assert_ne!(
        t.read_alpha().unwrap(),
        rows,
        "the architecture step moved alpha"
    );

    // The validation batch of that step (its cursor is still set) through the mixed forward.
    let mut g = Graph::new(&gpu);
    let (images, labels) = gather(&mut g, &t.valid_feed.source, batch);
    let at = Tensor::from_f32(&gpu, &[6, 5], &to_f32(&start)).unwrap();
    let a = g.input(&at, "alpha");
    let mut b = Binder::new();
    let logits = t
        .supernet
        .forward_mixed(&mut g, &mut b, images, a, true)
        .unwrap();
    let (loss, losses) = cross_entropy_mean(&mut g, logits, labels).unwrap();
    let plan = Plan::compile(&g, &[loss, losses]).unwrap();
    let eval = |alpha: &[f64]| -> (f32, f64) {
        at.write_f32(&to_f32(alpha));
        plan.run_all().unwrap();
        let per_sample = download(plan.tensor(losses).unwrap());
        let sum: f64 = per_sample.iter().map(|&l| l as f64).sum();
        (download(plan.tensor(loss).unwrap())[0], sum / batch as f64)
    };
    let (loss_at_start, _) = eval(&start);
    assert_eq!(
        loss_at_start.to_bits(),
        step_loss.to_bits(),
        "the finite differences must see the step's batch: loss {loss_at_start} vs step {step_loss}"
    );
    // Richardson extrapolation of steps h and h/2 cancels the h^2 term of the truncation error.
    let h = 2e-3;
    let coarse = finite_difference(|alpha| eval(alpha).1, &start, h);
    let fine = finite_difference(|alpha| eval(alpha).1, &start, h / 2.0);
    let fd: Vec<f64> = coarse
        .iter()
        .zip(&fine)
        .map(|(c, f)| (4.0 * f - c) / 3.0)
        .collect();
    let worst = grad
        .iter()
        .zip(&fd)
        .map(|(&g, f)| (g as f64 - f).abs())
        .fold(0.0, f64::max);
    let scale = fd.iter().map(|f| f.abs()).fold(0.0, f64::max);
    eprintln!("dalpha vs FD (h {h}): worst |diff| {worst:e}, largest |fd| {scale:e}");
    let diff: f64 = grad
        .iter()
        .zip(&fd)
        .map(|(&g, f)| (g as f64 - f).powi(2))
        .sum();
    let norm: f64 = fd.iter().map(|f| f * f).sum();
    let relative = (diff / norm).sqrt();
    eprintln!("dalpha vs FD: relative L2 error {relative:e}");
    if relative >= 3e-2 {
        return Some(format!(
            "dalpha vs FD (seed {seed}): relative L2 error {relative}"
        ));
    }
    let atol = 1.5e-2 * scale;
    grad.iter()
        .zip(&fd)
        .enumerate()
        .find(|(_, (g, f))| (**g as f64 - **f).abs() > atol + 2e-2 * f.abs())
        .map(|(i, (g, f))| {
            format!(
                "dalpha vs FD (seed {seed}): entry {i} gpu {g} fd {f}, tolerance {}",
                atol + 2e-2 * f.abs()
            )
        })
}

fn bits(rows: &[Vec<f32>]) -> Vec<u32> {
    rows.concat().iter().map(|v| v.to_bits()).collect()
}

fn weights_bits(t: &DartsTrainer<Nb201Supernet>) -> Vec<Vec<u32>> {
    t.supernet
        .parameters()
        .iter()
        .map(|p| {
            p.tensor
                .to_f32()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        })
        .collect()
}

/// Alternating steps on bundled Fashion-MNIST (N = 1, C = 4, batch 16, 128 training and 128
/// validation images, 3 epochs of 8 step pairs): a weight step leaves alpha as it was to the bit
/// and an architecture step leaves every shared weight as it was; the last epoch's training loss
/// is below the first's; alpha has moved (Adam at 3e-4 moves about lr per step early on) and
/// stays finite; and a second trainer from the same seed ends with bit-identical alpha and
/// weights.
#[test]
fn alternating_steps_train_and_reproduce_from_a_seed() {
    let gpu = gpu();
    let seed = fresh_seed();
    eprintln!("seed {seed}");
    let (data, input, classes) = bundled(&gpu);
    let sizes = (4, 16, 128, 128);
    let run = |check: bool| {
        let mut t = trainer(&gpu, &data, (input, classes), sizes, seed);
        let start = t.read_alpha().unwrap();
        let mut losses = Vec::new();
        for epoch in 0..3 {
            t.begin_epoch(epoch);
            for s in 0..t.steps_per_epoch() {
                if check && epoch == 0 && s == 0 {
                    let weights = weights_bits(&t);
                    t.weight_step(s).unwrap();
                    assert_eq!(bits(&t.read_alpha().unwrap()), bits(&start), "weight step");
                    assert_ne!(weights_bits(&t), weights, "the weight step trained");
                    let weights = weights_bits(&t);
                    t.arch_step(s).unwrap();
                    assert_eq!(weights_bits(&t), weights, "architecture step");
                } else {
                    t.step(s).unwrap();
                }
            }
            let (train, valid) = t.read_metrics().unwrap();
            eprintln!(
                "epoch {epoch}: train loss {:.4} acc {:.3}, valid loss {:.4} acc {:.3}",
                train.loss, train.accuracy, valid.loss, valid.accuracy
            );
            losses.push(train.loss);
        }
        let end = t.read_alpha().unwrap();
        (start, end, losses, weights_bits(&t), t.genotype().unwrap())
    };
    let (start, end, losses, weights, genotype) = run(true);
    assert!(
        losses[2] < losses[0],
        "training loss did not fall (seed {seed}): {losses:?}"
    );
    let moved = start
        .concat()
        .iter()
        .zip(&end.concat())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(end.concat().iter().all(|v| v.is_finite()));
    assert!(moved > 1e-3, "alpha moved at most {moved} (seed {seed})");
    eprintln!("alpha moved up to {moved:e}; derived {genotype}; final rows {end:?}");
    let (_, again, _, weights_again, _) = run(false);
    assert_eq!(bits(&again), bits(&end), "same seed, other alpha bits");
    assert!(weights_again == weights, "same seed, other weight bits");
}

/// One weight step and one architecture step at N = 1, C = 8, batch 32 on bundled images
/// (wall clock around a device sync; lavapipe times are ratios, not GPU speed). Run with
/// `--ignored --nocapture`.
#[test]
#[ignore]
fn time_darts_steps_n1_c8_b32() {
    let gpu = gpu();
    let (data, input, classes) = bundled(&gpu);
    let mut t = trainer(&gpu, &data, (input, classes), (8, 32, 512, 512), 1);
    t.begin_epoch(0);
    let time = |weight: bool, s: usize, t: &mut DartsTrainer<Nb201Supernet>| {
        let start = std::time::Instant::now();
        if weight {
            t.weight_step(s).unwrap();
        } else {
            t.arch_step(s).unwrap();
        }
        gpu.sync().unwrap();
        start.elapsed().as_secs_f64()
    };
    // Warm-up compiles the shaders.
    time(true, 0, &mut t);
    time(false, 0, &mut t);
    for (name, weight) in [("weight", true), ("architecture", false)] {
        let mut samples: Vec<f64> = (1..8).map(|s| time(weight, s, &mut t)).collect();
        samples.sort_by(f64::total_cmp);
        eprintln!(
            "{name} step: median {:.3} s (min {:.3}, max {:.3}, {} samples)",
            samples[samples.len() / 2],
            samples[0],
            samples[samples.len() - 1],
            samples.len()
        );
    }
}
