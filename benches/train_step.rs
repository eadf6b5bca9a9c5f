//! Training-step time of a preset network with and without planned execution, on the bundled
//! Fashion-MNIST subset: the planned step (one encoder, one submit, buffers and bind groups made
//! once) against the eager step (every op allocates, binds and submits on its own).
//!
//! `cargo bench --bench train_step [-- PRESET [BATCH]]` (defaults: small-cnn, 64).

use std::sync::Arc;
use std::time::Instant;

use nasgpu::bench::summarise;
use nasgpu::data::{self, Amount, DeviceDataset, Sampling};
use nasgpu::device::{DeviceOptions, Gpu};
use nasgpu::nn::Network;
use nasgpu::nn::preset::preset;
use nasgpu::nn::train::{Schedule, TrainConfig, Trainer};

const WARMUP: usize = 3;
const SAMPLES: usize = 15;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let name = args.first().map(String::as_str).unwrap_or("small-cnn");
    let batch: usize = args.get(1).and_then(|b| b.parse().ok()).unwrap_or(64);
    let gpu = Gpu::open(&DeviceOptions::default()).expect("a GPU adapter");
    let tt = data::bundled().expect("bundled data");
    let split =
        data::split_train_validation(&tt.train, Amount::Count(200), Sampling::Stratified, 0)
            .expect("split");
    let device = Arc::new(
        DeviceDataset::upload(&gpu, &tt.train, &tt.train.channel_stats()).expect("upload"),
    );
    let arch =
        preset(name, tt.train.image_shape, tt.train.classes as usize).expect("a preset name");
    let config = TrainConfig {
        epochs: 1,
        batch,
        learning_rate: 0.01,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 5e-4,
        schedule: Schedule::Const,
        seed: 0,
        augment: data::Augment::NONE,
        grad_clip: 0.0,
    };
    let net = Network::new(&gpu, &arch, 0).expect("network");
    let mut trainer = Trainer::new(&gpu, net, &device, split.train, config).expect("trainer");
    trainer.begin_epoch(0);
    let report = trainer.report();
    let steps = trainer.steps_per_epoch();
    let mut time = |planned: bool| {
        let mut samples = Vec::new();
        for i in 0..WARMUP + SAMPLES {
            let t = Instant::now();
            if planned {
                trainer.step(i % steps).expect("planned step");
            } else {
                trainer.step_eager(i % steps).expect("eager step");
            }
            gpu.sync().expect("sync");
            if i >= WARMUP {
                samples.push(t.elapsed().as_secs_f64());
            }
        }
        summarise(samples)
    };
    let planned = time(true);
    let eager = time(false);
    println!("adapter {}", gpu.describe());
    println!(
        "preset {name}, batch {batch}, {} parameters, {:.1} MFLOP/image forward",
        arch.parameter_count(),
        arch.forward_flops() / 1e6
    );
    println!(
        "planned step: {} dispatches, 1 submit, 2 host writes; activation+gradient buffers {} (one buffer per value: {}); kernel scratch {}; external tensors (parameters, inputs) {}",
        report.dispatches_per_step,
        nasgpu::util::human_bytes(report.planned_bytes),
        nasgpu::util::human_bytes(report.unplanned_bytes),
        nasgpu::util::human_bytes(report.scratch_bytes),
        nasgpu::util::human_bytes(report.external_bytes)
    );
    println!(
        "eager step:   {} dispatches, {} submits (one per op), buffers and bind groups made every step",
        report.dispatches_per_step, report.nodes
    );
    for (label, t) in [("planned", planned), ("eager", eager)] {
        println!(
            "{label:<8} median {:8.2} ms  min {:8.2}  max {:8.2}  ({:.0} images/s)",
            t.median * 1e3,
            t.min * 1e3,
            t.max * 1e3,
            batch as f64 / t.median
        );
    }
    println!(
        "planned / eager step time: {:.2}x faster",
        eager.median / planned.median
    );
}
