//! A path's training step in the NAS-Bench-201 supernet against the same architecture built
//! standalone (issue 8 asks for at most 1.3x), on the bundled Fashion-MNIST subset, in the same
//! run on equal work (same genotype, batch and data):
//!   - standalone: `Trainer` on the genotype's own network;
//!   - supernet, path cached: `SharedTrainer` stepping the same path again (its plan compiled);
//!   - supernet, plan compiled every step: what uniform single-path sampling costs, where a path
//!     seldom comes back (15,625 genotypes). For equal work it alternates the genotype with a
//!     permutation of its operations over the edges (every edge has the same channels and size,
//!     so the same operations cost the same anywhere) with one plan cached, so each step
//!     compiles its plan first.
//!
//! `cargo bench --bench supernet_step [-- CELLS CHANNELS BATCH]` (defaults: 2 16 64).

use std::sync::Arc;
use std::time::Instant;

use nasgpu::bench::summarise;
use nasgpu::data::{self, Amount, DeviceDataset, Sampling};
use nasgpu::device::{DeviceOptions, Gpu};
use nasgpu::nn::supernet::Nb201Supernet;
use nasgpu::nn::train::{Schedule, SharedTrainer, TrainConfig, Trainer};
use nasgpu::nn::{Architecture, Nb201Genotype, Nb201Network, Network};

const WARMUP: usize = 3;
const SAMPLES: usize = 15;
/// Every operation, two 3x3 convs: a path of about the average cost.
const GENOTYPE: &str =
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";
/// The same operations on other edges.
const PERMUTED: &str =
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|";

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let cells = args.first().copied().unwrap_or(2);
    let channels = args.get(1).copied().unwrap_or(16);
    let batch = args.get(2).copied().unwrap_or(64);
    let gpu = Gpu::open(&DeviceOptions::default()).expect("a GPU adapter");
    let tt = data::bundled().expect("bundled data");
    let split =
        data::split_train_validation(&tt.train, Amount::Count(200), Sampling::Stratified, 0)
            .expect("split");
    let device = Arc::new(
        DeviceDataset::upload(&gpu, &tt.train, &tt.train.channel_stats()).expect("upload"),
    );
    let (input, classes) = (tt.train.image_shape, tt.train.classes as usize);
    let genotype: Nb201Genotype = GENOTYPE.parse().expect("genotype");
    let shape = Nb201Network {
        genotype,
        cells_per_stage: cells,
        channels,
    };
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
    };
    let arch = Architecture::cell(input, classes, shape.clone());
    let net = Network::new(&gpu, &arch, 0).expect("network");
    let mut standalone =
        Trainer::new(&gpu, net, &device, split.train.clone(), config.clone()).expect("trainer");
    assert_eq!(
        arch.forward_flops(),
        Architecture::cell(
            input,
            classes,
            Nb201Network {
                genotype: PERMUTED.parse().unwrap(),
                ..shape.clone()
            }
        )
        .forward_flops(),
        "the permuted path must cost the same"
    );
    let shared_trainer = || {
        let mut rng = nasgpu::util::seeded_rng(0);
        let supernet =
            Nb201Supernet::new(&gpu, &shape, input, classes, &mut rng).expect("supernet");
        let mut t = SharedTrainer::new(
            &gpu,
            supernet,
            &device,
            split.train.clone(),
            config.clone(),
            1,
        )
        .expect("trainer");
        t.begin_epoch(0);
        t
    };
    let mut shared = shared_trainer();
    let mut compiling = shared_trainer();
    let permuted: Nb201Genotype = PERMUTED.parse().expect("genotype");
    standalone.begin_epoch(0);
    let steps = standalone.steps_per_epoch();

    // Interleaved, one sample of each per round, so that a change of machine load affects all.
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..WARMUP + SAMPLES {
        let mut timed = |k: usize, step: &mut dyn FnMut()| {
            let t = Instant::now();
            step();
            gpu.sync().expect("sync");
            if i >= WARMUP {
                samples[k].push(t.elapsed().as_secs_f64());
            }
        };
        timed(0, &mut || {
            standalone.step(i % steps).expect("standalone step")
        });
        timed(1, &mut || {
            shared.step(&genotype, i % steps).expect("cached path step")
        });
        let path = if i % 2 == 0 { &genotype } else { &permuted };
        timed(2, &mut || {
            compiling.step(path, i % steps).expect("compiling step")
        });
    }
    let [standalone_t, cached_t, fresh_t] = samples.map(summarise);
    println!("adapter {}", gpu.describe());
    println!(
        "NAS-Bench-201 N = {cells}, C = {channels}, batch {batch}, input {input:?}; path {GENOTYPE} ({} parameters standalone, supernet {})",
        arch.parameter_count(),
        shared
            .supernet
            .parameters()
            .iter()
            .map(|p| p.tensor.numel())
            .sum::<usize>()
    );
    for (label, t) in [
        ("standalone", &standalone_t),
        ("supernet, path cached", &cached_t),
        ("supernet, compiling", &fresh_t),
    ] {
        println!(
            "{label:<22} median {:8.2} ms  min {:8.2}  max {:8.2}  ({:.2}x standalone)",
            t.median * 1e3,
            t.min * 1e3,
            t.max * 1e3,
            t.median / standalone_t.median
        );
    }
}
