//! A path's training step in a supernet against the same architecture built standalone (issue
//! 8 asks for at most 1.3x), on the bundled Fashion-MNIST subset, in the same run on equal work
//! (same path, batch and data):
//!   - standalone: `Trainer` on the path's own network;
//!   - supernet, path cached: `SharedTrainer` stepping the same path again (its plan compiled);
//!   - supernet, plan compiled every step: what uniform single-path sampling costs, where a path
//!     seldom comes back. For equal work it alternates the path with another of the same cost
//!     (NAS-Bench-201: a permutation of its operations over the edges, all of one size; DARTS:
//!     each normal-cell node's two operations swapped between its inputs, which have one size;
//!     ENAS macro: max and average pooling swapped, each pair within one stage) with one plan
//!     cached, so each step compiles its plan first.
//!
//! `cargo bench --bench supernet_step [-- nb201 CELLS CHANNELS BATCH]` (defaults: 2 16 64),
//! `-- darts CELLS CHANNELS BATCH` (defaults: 5 8 64), the path DARTS V2, or
//! `-- enas LAYERS CHANNELS BATCH` (defaults: 12 16 64), the path `ENAS_PATH`.

use std::sync::Arc;
use std::time::Instant;

use nasgpu::bench::summarise;
use nasgpu::data::{self, Amount, DeviceDataset, Sampling};
use nasgpu::device::{DeviceOptions, Gpu};
use nasgpu::nn::darts_cell::{DARTS_V2, DartsCellGenotype};
use nasgpu::nn::supernet::{DartsSupernet, EnasSupernet, Nb201Supernet, Supernet};
use nasgpu::nn::train::{Schedule, SharedTrainer, TrainConfig, Trainer};
use nasgpu::nn::{
    Architecture, DartsGenotype, DartsNetwork, EnasLayers, EnasMacroNetwork, Nb201Genotype,
    Nb201Network, Network,
};

const WARMUP: usize = 3;
const SAMPLES: usize = 15;
/// Every operation, two 3x3 convs: a path of about the average cost.
const GENOTYPE: &str =
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";
/// The same operations on other edges.
const PERMUTED: &str =
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|";

/// An ENAS macro path of 12 layers with every operation in every stage and skips within and
/// across stages; its pools are swapped in the equal-cost alternative.
const ENAS_PATH: &str = "conv_3x3|sep_conv_5x5+0|max_pool_3x3|avg_pool_3x3+1|conv_5x5+0|sep_conv_3x3+4|max_pool_3x3+2|avg_pool_3x3+5+6|conv_3x3+3|sep_conv_5x5+8|max_pool_3x3+0+9|avg_pool_3x3+7";

/// What one measurement needs: the data, the recipe and the device.
struct Setup {
    gpu: Arc<Gpu>,
    device: Arc<DeviceDataset>,
    train: Vec<u32>,
    config: TrainConfig,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (space, numbers) = match args.first().map(String::as_str) {
        Some(s @ ("nb201" | "darts" | "enas")) => (s.to_string(), &args[1..]),
        _ => ("nb201".to_string(), &args[..]),
    };
    let numbers: Vec<usize> = numbers.iter().filter_map(|a| a.parse().ok()).collect();
    let darts = space == "darts";
    let enas = space == "enas";
    let cells = numbers.first().copied().unwrap_or(if darts {
        5
    } else if enas {
        12
    } else {
        2
    });
    let channels = numbers
        .get(1)
        .copied()
        .unwrap_or(if darts { 8 } else { 16 });
    let batch = numbers.get(2).copied().unwrap_or(64);
    let gpu = Gpu::open(&DeviceOptions::default()).expect("a GPU adapter");
    let tt = data::bundled().expect("bundled data");
    let split =
        data::split_train_validation(&tt.train, Amount::Count(200), Sampling::Stratified, 0)
            .expect("split");
    let device = Arc::new(
        DeviceDataset::upload(&gpu, &tt.train, &tt.train.channel_stats()).expect("upload"),
    );
    let (input, classes) = (tt.train.image_shape, tt.train.classes as usize);
    let setup = Setup {
        gpu: gpu.clone(),
        device,
        train: split.train.clone(),
        config: TrainConfig {
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
        },
    };
    println!("adapter {}", gpu.describe());
    if enas {
        let path: EnasLayers = ENAS_PATH.parse().expect("layers");
        let swapped: EnasLayers = ENAS_PATH
            .replace("max_pool", "tmp_pool")
            .replace("avg_pool", "max_pool")
            .replace("tmp_pool", "avg_pool")
            .parse()
            .expect("layers");
        let layers = path.0.len();
        assert_eq!(cells, layers, "ENAS_PATH has {layers} layers");
        let arch = |l: &EnasLayers| {
            Architecture::enas_macro(
                input,
                classes,
                EnasMacroNetwork {
                    layers: l.0.clone(),
                    channels,
                },
            )
        };
        println!(
            "ENAS macro L = {layers}, C = {channels}, batch {batch}, input {input:?}; path {path}"
        );
        measure(
            &setup,
            (arch(&path), arch(&swapped)),
            (path.clone(), swapped.clone()),
            || {
                let mut rng = nasgpu::util::seeded_rng(0);
                EnasSupernet::new(&gpu, layers, channels, input, classes, &mut rng)
                    .expect("supernet")
            },
        );
    } else if darts {
        let genotype: DartsGenotype = DARTS_V2.parse().expect("genotype");
        let swapped = |cell: &DartsCellGenotype| {
            let nodes: Vec<_> = cell
                .nodes
                .iter()
                .map(|n| [(n[1].op, n[0].input), (n[0].op, n[1].input)])
                .collect();
            DartsCellGenotype::new(&nodes).expect("valid cell")
        };
        let permuted = DartsGenotype {
            normal: swapped(&genotype.normal),
            reduce: genotype.reduce,
        };
        let shape = DartsNetwork {
            genotype,
            channels,
            cells,
        };
        let arch = |g: DartsGenotype| {
            Architecture::darts_cells(
                input,
                classes,
                DartsNetwork {
                    genotype: g,
                    ..shape.clone()
                },
            )
        };
        println!(
            "DARTS cells = {cells}, C = {channels}, batch {batch}, input {input:?}; path DARTS V2 {genotype}"
        );
        measure(
            &setup,
            (arch(genotype), arch(permuted)),
            (genotype, permuted),
            || {
                let mut rng = nasgpu::util::seeded_rng(0);
                DartsSupernet::new(&gpu, &shape, input, classes, &mut rng).expect("supernet")
            },
        );
    } else {
        let genotype: Nb201Genotype = GENOTYPE.parse().expect("genotype");
        let permuted: Nb201Genotype = PERMUTED.parse().expect("genotype");
        let shape = Nb201Network {
            genotype,
            cells_per_stage: cells,
            channels,
        };
        let arch = |g: Nb201Genotype| {
            Architecture::cell(
                input,
                classes,
                Nb201Network {
                    genotype: g,
                    ..shape.clone()
                },
            )
        };
        println!(
            "NAS-Bench-201 N = {cells}, C = {channels}, batch {batch}, input {input:?}; path {GENOTYPE}"
        );
        measure(
            &setup,
            (arch(genotype), arch(permuted)),
            (genotype, permuted),
            || {
                let mut rng = nasgpu::util::seeded_rng(0);
                Nb201Supernet::new(&gpu, &shape, input, classes, &mut rng).expect("supernet")
            },
        );
    }
}

/// Times the three kinds of step, interleaved, and prints medians with min/max and ratios.
fn measure<S: Supernet>(
    setup: &Setup,
    (arch, permuted_arch): (Architecture, Architecture),
    (path, permuted): (S::Path, S::Path),
    supernet: impl Fn() -> S,
) {
    assert_eq!(
        arch.forward_flops(),
        permuted_arch.forward_flops(),
        "the permuted path must cost the same"
    );
    assert!(path != permuted, "the permuted path must differ");
    let gpu = &setup.gpu;
    let net = Network::new(gpu, &arch, 0).expect("network");
    let mut standalone = Trainer::new(
        gpu,
        net,
        &setup.device,
        setup.train.clone(),
        setup.config.clone(),
    )
    .expect("trainer");
    let shared_trainer = || {
        let mut t = SharedTrainer::new(
            gpu,
            supernet(),
            &setup.device,
            setup.train.clone(),
            setup.config.clone(),
            1,
        )
        .expect("trainer");
        t.begin_epoch(0);
        t
    };
    let mut shared = shared_trainer();
    let mut compiling = shared_trainer();
    standalone.begin_epoch(0);
    let steps = standalone.steps_per_epoch();
    println!(
        "{} parameters standalone, supernet {}",
        arch.parameter_count(),
        shared
            .supernet
            .shared_parameters()
            .iter()
            .map(|p| p.tensor.numel())
            .sum::<usize>()
    );

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
            shared.step(&path, i % steps).expect("cached path step")
        });
        let p = if i % 2 == 0 { &path } else { &permuted };
        timed(2, &mut || {
            compiling.step(p, i % steps).expect("compiling step")
        });
    }
    let [standalone_t, cached_t, fresh_t] = samples.map(summarise);
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
