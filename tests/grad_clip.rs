//! Global-norm gradient clipping: the kernels against an f64 reference on odd sizes with the
//! outputs poisoned first (a norm above the bound scales every gradient by max_norm / |g|, a
//! norm within it leaves every bit), and in a training step: one SGD step with clipping moves
//! every weight by the unclipped step times the same factor, max_norm / |g|.

mod common;

use std::sync::Arc;

use common::*;
use nasgpu::data::{self, DeviceDataset};
use nasgpu::kernels::grad_clip::{CLIP_STATS, clip_factor, clip_scale, sum_squares};
use nasgpu::nn::Network;
use nasgpu::nn::preset::preset;
use nasgpu::nn::train::{Schedule, TrainConfig, Trainer};
use nasgpu::tensor::Tensor;
use rand::RngExt;

/// Runs the three kernels over `grads` (in place) with bound `max_norm`; returns the stats.
fn clip(grads: &[Tensor], max_norm: f32) -> Vec<f32> {
    let gpu = gpu();
    let partials = Tensor::from_f32(&gpu, &[grads.len()], &vec![f32::NAN; grads.len()]).unwrap();
    let stats = Tensor::from_f32(&gpu, &[CLIP_STATS], &[f32::NAN; CLIP_STATS]).unwrap();
    let mut launches = Vec::new();
    for (slot, g) in grads.iter().enumerate() {
        launches.push(sum_squares(&gpu, g, &partials, slot).unwrap());
    }
    launches.push(clip_factor(&gpu, &partials, max_norm, &stats).unwrap());
    for g in grads {
        launches.push(clip_scale(&gpu, &stats, g).unwrap());
    }
    gpu.run(&launches.iter().collect::<Vec<_>>()).unwrap();
    stats.to_f32().unwrap()
}

#[test]
fn clipping_matches_the_f64_reference_and_keeps_bits_within_the_bound() {
    let seed = fresh_seed();
    let mut r = rng(seed);
    let gpu = gpu();
    let sizes = [1usize, 97, 1031, 4];
    let values: Vec<Vec<f32>> = sizes
        .iter()
        .map(|&n| (0..n).map(|_| r.random_range(-1.0f32..1.0)).collect())
        .collect();
    let norm = values
        .iter()
        .flatten()
        .map(|&v| (v as f64) * (v as f64))
        .sum::<f64>()
        .sqrt();
    let upload = || -> Vec<Tensor> {
        values
            .iter()
            .zip(&sizes)
            .map(|(v, &n)| Tensor::from_f32(&gpu, &[n], v).unwrap())
            .collect()
    };

    // Above the bound: every gradient times max_norm / |g|.
    let max_norm = (norm / 3.0) as f32;
    let grads = upload();
    let stats = clip(&grads, max_norm);
    assert_close("|g|", seed, &stats[..1], &[norm], 1e-5, 1e-5);
    let factor = max_norm as f64 / norm;
    assert_close("factor", seed, &stats[1..], &[factor], 1e-5, 1e-5);
    for (g, v) in grads.iter().zip(&values) {
        let want: Vec<f64> = v.iter().map(|&x| x as f64 * factor).collect();
        assert_close("clipped", seed, &g.to_f32().unwrap(), &want, 1e-6, 1e-5);
    }

    // Within the bound (and exactly at it): factor 1, the same bits.
    for max_norm in [(norm * 2.0) as f32, stats[0]] {
        let grads = upload();
        let stats = clip(&grads, max_norm);
        assert_eq!(stats[1], 1.0, "seed {seed}: factor within the bound");
        for (g, v) in grads.iter().zip(&values) {
            assert!(
                g.to_f32().unwrap() == *v,
                "seed {seed}: an unclipped gradient changed"
            );
        }
    }
    assert!(
        clip_factor(
            &gpu,
            &Tensor::zeros(&gpu, &[2]).unwrap(),
            0.0,
            &Tensor::zeros(&gpu, &[2]).unwrap()
        )
        .is_err(),
        "a bound of 0 is refused"
    );
}

fn config(grad_clip: f32) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch: 16,
        learning_rate: 0.1,
        momentum: 0.0,
        nesterov: false,
        weight_decay: 0.0,
        schedule: Schedule::Const,
        seed: 2,
        augment: data::Augment::NONE,
        grad_clip,
    }
}

/// One plain SGD step (no momentum, no decay) of small-cnn on the same batch, clipped to a
/// tiny norm and not at all: each weight's move is the unclipped move times max_norm / |g|,
/// with |g| the unclipped step's length / lr.
#[test]
fn a_clipped_step_is_the_unclipped_step_scaled_by_max_norm_over_the_norm() {
    let gpu = gpu();
    let tt = data::bundled().unwrap();
    let device: Arc<DeviceDataset> =
        Arc::new(DeviceDataset::upload(&gpu, &tt.train, &tt.train.channel_stats()).unwrap());
    let arch = preset("small-cnn", tt.train.image_shape, tt.train.classes as usize).unwrap();
    let step = |grad_clip: f32| -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let net = Network::new(&gpu, &arch, 7).unwrap();
        let before: Vec<Vec<f32>> = net
            .parameters()
            .iter()
            .map(|p| p.tensor.to_f32().unwrap())
            .collect();
        let mut t = Trainer::new(&gpu, net, &device, (0..64).collect(), config(grad_clip)).unwrap();
        t.begin_epoch(0);
        t.step(0).unwrap();
        let after = t
            .net
            .parameters()
            .iter()
            .map(|p| p.tensor.to_f32().unwrap())
            .collect();
        (before, after)
    };
    let moves = |(b, a): (Vec<Vec<f32>>, Vec<Vec<f32>>)| -> Vec<f64> {
        b.iter()
            .flatten()
            .zip(a.iter().flatten())
            .map(|(&b, &a)| a as f64 - b as f64)
            .collect()
    };
    let free = moves(step(0.0));
    let lr = 0.1;
    let norm = free.iter().map(|d| d * d).sum::<f64>().sqrt() / lr;
    assert!(norm > 0.01, "the step moved nothing (|g| = {norm})");
    let max_norm = (norm / 10.0) as f32;
    let clipped = moves(step(max_norm));
    let factor = max_norm as f64 / norm;
    let want: Vec<f64> = free.iter().map(|d| d * factor).collect();
    let got: Vec<f32> = clipped.iter().map(|&d| d as f32).collect();
    // The moves are differences of f32 weights near 0.1: absolute error about 1e-8.
    assert_close("clipped moves", 0, &got, &want, 3e-7, 1e-3);
}
