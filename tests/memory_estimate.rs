//! The memory estimate made before building a network (`nn::footprint`) against what the
//! compiled training step really holds: it must not fall short of the plan (it gates what may
//! be built) nor overshoot so far that it refuses networks that fit.

mod common;

use std::sync::Arc;

use nasgpu::data::{self, DeviceDataset};
use nasgpu::nn::footprint::Footprint;
use nasgpu::nn::preset::preset;
use nasgpu::nn::train::{Schedule, TrainConfig, Trainer};
use nasgpu::nn::{Architecture, Network};

fn compare(name: &str, arch: &Architecture, batch: usize) {
    let gpu = common::gpu();
    let tt = data::bundled().unwrap();
    let stats = tt.train.channel_stats();
    let device = Arc::new(DeviceDataset::upload(&gpu, &tt.train, &stats).unwrap());
    let estimate = Footprint::training(&gpu, arch, batch);
    let net = Network::new(&gpu, arch, 0).unwrap();
    let config = TrainConfig {
        epochs: 1,
        batch,
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 0.0,
        schedule: Schedule::Const,
        seed: 0,
        augment: data::Augment::NONE,
        grad_clip: 0.0,
    };
    let ids: Vec<u32> = (0..batch as u32).collect();
    let trainer = Trainer::new(&gpu, net, &device, ids, config).unwrap();
    let real = trainer.report();
    let real_total = (real.planned_bytes + real.scratch_bytes + real.external_bytes) as f64;
    let ratio = estimate.device_bytes() / real_total;
    eprintln!(
        "{name} batch {batch}: estimate {:.1} MiB (activations {:.1}, scratch {:.1}, parameters {:.1}); plan {:.1} MiB (planned {:.1}, unplanned {:.1}, scratch {:.1}, external {:.1}); ratio {ratio:.2}",
        estimate.device_bytes() / 1048576.0,
        estimate.activation_bytes / 1048576.0,
        estimate.scratch_bytes / 1048576.0,
        estimate.parameter_bytes / 1048576.0,
        real_total / 1048576.0,
        real.planned_bytes as f64 / 1048576.0,
        real.unplanned_bytes as f64 / 1048576.0,
        real.scratch_bytes as f64 / 1048576.0,
        real.external_bytes as f64 / 1048576.0,
    );
    assert_eq!(
        estimate.parameters as usize,
        arch.parameter_count(),
        "{name}"
    );
    assert!(
        estimate.activation_bytes >= real.planned_bytes as f64,
        "{name}: activations estimated below the plan's buffers"
    );
    // Scratch follows the kernels' own rules for packed weights and partial sums; small
    // buffers (bias partials, pool size classes) are left out, hence the 20% margin.
    assert!(
        estimate.scratch_bytes >= 0.8 * real.scratch_bytes as f64,
        "{name}: scratch estimated far below the kernels' own"
    );
    assert!(
        (1.0..4.0).contains(&ratio),
        "{name}: estimate {ratio:.2}x the plan"
    );
}

#[test]
fn the_estimate_bounds_the_compiled_plan_of_a_macro_network() {
    let small = preset("small-cnn", [1, 28, 28], 10).unwrap();
    compare("small-cnn", &small, 64);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/architectures/nasrl-child.json"
    ))
    .unwrap();
    let mut child = Architecture::from_json(&text, "nasrl-child.json").unwrap();
    child.input = [1, 28, 28];
    compare("nasrl-child", &child, 32);
}

#[test]
fn the_estimate_bounds_the_compiled_plan_of_a_cell_network() {
    let genotype =
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";
    let text = format!(
        r#"{{"input": [1, 28, 28], "classes": 10, "nb201": {{"genotype": "{genotype}", "cells_per_stage": 2, "channels": 8}}}}"#
    );
    let arch = Architecture::from_json(&text, "cell").unwrap();
    compare("nb201 N=2 C=8", &arch, 32);
}

#[test]
fn the_estimate_bounds_the_compiled_plan_of_a_darts_network() {
    let text = format!(
        r#"{{"input": [1, 28, 28], "classes": 10, "darts": {{"genotype": "{}", "channels": 8, "cells": 5}}}}"#,
        nasgpu::nn::darts_cell::DARTS_V2
    );
    let arch = Architecture::from_json(&text, "darts").unwrap();
    compare("darts v2 cells=5 C=8", &arch, 32);
}
