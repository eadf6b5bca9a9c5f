//! The training step of one network as a benchmark that another framework can be held against:
//! it exports the initial weights, the first batches and their losses (so the other side can
//! check it does equal work), and serves timed steps on request over stdin/stdout, so a driver
//! script can alternate our step with its own in one run (`scripts/compare-pytorch.sh`).
//!
//! Protocol, one request per line: `step K` runs K steps back to back, waits, and answers
//! `ok SECONDS` (the total); `profile` answers `op NAME NODES SECONDS` and `kernel NAME
//! LAUNCHES SECONDS` lines (every node or launch submitted and waited for on its own), then
//! `end`; `peak` answers `ok GFLOPS`, the peak-FMA ceiling measured now (median of 5 runs; for
//! drivers that alternate it with the step samples); `quit` (or end of input) stops.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::data::{self, Amount, DeviceDataset, Sampling};
use crate::device::Gpu;
use crate::nn::arch::Architecture;
use crate::nn::train::{Schedule, TrainConfig, Trainer};
use crate::nn::weights::{self, NamedTensor};
use crate::nn::{Network, preset};

use super::{CeilingKernels, Ceilings, TimerKind, choose_timer};

/// Rows of a profile: (name, nodes or launches, seconds), largest first.
pub type ProfileRows = Vec<(String, usize, f64)>;

/// Images held out of the bundled training set (as the train-step bench does).
const HELD_OUT: usize = 200;

/// Everything the other framework needs to rebuild the same step, written as `meta.json`.
#[derive(Debug, Clone, Serialize)]
pub struct StepMeta {
    pub adapter: String,
    pub architecture: serde_json::Value,
    pub batch: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
    pub batch_norm_eps: f32,
    pub batch_norm_momentum: f32,
    pub parameters: usize,
    /// Useful FLOPs of one training step: 3 x forward (forward, gradient to the input, gradient
    /// to the weights), the usual convention.
    pub step_flops: f64,
    /// Mean loss of each exported step, each on the weights the previous steps left.
    pub losses: Vec<f32>,
    /// Names of the weights in `weights.safetensors` that take weight decay.
    pub decayed: Vec<String>,
}

/// A trainer on the bundled Fashion-MNIST subset with fixed hyper-parameters.
pub struct StepBench {
    gpu: Arc<Gpu>,
    trainer: Trainer,
    arch: Architecture,
    next: usize,
    /// The peak-FMA kernel and its timer, built on the first `peak` request.
    peak: Option<(CeilingKernels, TimerKind)>,
}

/// The architecture of a preset name, or of a file.
pub fn architecture(
    preset_name: Option<&str>,
    file: Option<&Path>,
) -> Result<Architecture, String> {
    match (preset_name, file) {
        (_, Some(path)) => Architecture::load(path).map_err(|e| e.to_string()),
        (Some(name), None) => preset::preset(name, [1, 28, 28], 10).ok_or_else(|| {
            format!(
                "unknown preset '{name}'; presets are {}",
                preset::PRESETS.join(", ")
            )
        }),
        (None, None) => Err("give a preset or an architecture file".into()),
    }
}

impl StepBench {
    /// Builds the network from `seed` and compiles its training step at `batch`.
    pub fn new(
        gpu: &Arc<Gpu>,
        arch: &Architecture,
        batch: usize,
        seed: u64,
    ) -> Result<StepBench, String> {
        let tt = data::bundled().map_err(|e| e.to_string())?;
        if arch.input != tt.train.image_shape || arch.classes != tt.train.classes as usize {
            return Err(format!(
                "the architecture takes {:?} images and {} classes; the bundled set has {:?} and {}",
                arch.input, arch.classes, tt.train.image_shape, tt.train.classes
            ));
        }
        let split = data::split_train_validation(
            &tt.train,
            Amount::Count(HELD_OUT),
            Sampling::Stratified,
            0,
        )
        .map_err(|e| e.to_string())?;
        let device = Arc::new(
            DeviceDataset::upload(gpu, &tt.train, &tt.train.channel_stats())
                .map_err(|e| e.to_string())?,
        );
        let config = TrainConfig {
            epochs: 1,
            batch,
            learning_rate: 0.01,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            schedule: Schedule::Const,
            seed,
            augment: data::Augment::NONE,
            grad_clip: 0.0,
        };
        let net = Network::new(gpu, arch, seed).map_err(|e| e.to_string())?;
        let mut trainer =
            Trainer::new(gpu, net, &device, split.train, config).map_err(|e| e.to_string())?;
        trainer.begin_epoch(0);
        Ok(StepBench {
            gpu: gpu.clone(),
            trainer,
            arch: arch.clone(),
            next: 0,
            peak: None,
        })
    }

    /// Useful FLOPs of one training step (3 x forward).
    pub fn step_flops(&self) -> f64 {
        3.0 * self.arch.forward_flops() * self.trainer.feed.config.batch as f64
    }

    /// Writes `weights.safetensors` (the initial weights), then runs `steps` steps writing
    /// their batches to `batches.safetensors` and the losses with everything else to
    /// `meta.json` in `dir`. Call it before any other step.
    pub fn export(&mut self, dir: &Path, steps: usize) -> Result<StepMeta, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut state = Vec::new();
        for (name, t) in self.trainer.net.state() {
            let data = t.to_f32().map_err(|e| e.to_string())?;
            state.push(NamedTensor {
                name,
                shape: t.shape().to_vec(),
                data,
            });
        }
        let decayed = self
            .trainer
            .net
            .parameters()
            .iter()
            .filter(|p| p.decay)
            .map(|p| p.name.clone())
            .collect();
        let path = dir.join("weights.safetensors");
        weights::save(&path, &state, &BTreeMap::new())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let [c, h, w] = self.arch.input;
        let b = self.trainer.feed.config.batch;
        let mut batches = Vec::new();
        let mut losses = Vec::new();
        for i in 0..steps {
            self.step(1)?;
            let (images, labels, loss) = self.trainer.last_batch().map_err(|e| e.to_string())?;
            batches.push(NamedTensor {
                name: format!("images.{i}"),
                shape: vec![b, c, h, w],
                data: images,
            });
            batches.push(NamedTensor {
                name: format!("labels.{i}"),
                shape: vec![b],
                data: labels.iter().map(|&l| l as f32).collect(),
            });
            losses.push(loss);
        }
        let path = dir.join("batches.safetensors");
        weights::save(&path, &batches, &BTreeMap::new())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let bn = crate::nn::layers::DEFAULT_BATCH_NORM;
        let config = &self.trainer.feed.config;
        let meta = StepMeta {
            adapter: self.gpu.describe(),
            architecture: serde_json::from_str(&self.arch.to_json()).expect("valid JSON"),
            batch: b,
            learning_rate: config.learning_rate,
            momentum: config.momentum,
            nesterov: config.nesterov,
            weight_decay: config.weight_decay,
            batch_norm_eps: bn.eps,
            batch_norm_momentum: bn.momentum,
            parameters: self.arch.parameter_count(),
            step_flops: self.step_flops(),
            losses,
            decayed,
        };
        let path = dir.join("meta.json");
        let text = serde_json::to_string_pretty(&meta).expect("meta serialises");
        crate::util::atomic_write(&path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(meta)
    }

    /// Runs `k` steps back to back and waits: their total seconds.
    pub fn step(&mut self, k: usize) -> Result<f64, String> {
        let start = Instant::now();
        let per_epoch = self.trainer.steps_per_epoch();
        for _ in 0..k {
            self.trainer
                .step(self.next % per_epoch)
                .map_err(|e| e.to_string())?;
            self.next += 1;
        }
        self.gpu.sync().map_err(|e| e.to_string())?;
        Ok(start.elapsed().as_secs_f64())
    }

    /// Per-op and per-(op, kernel) time of one step, each node or launch waited for alone.
    pub fn profile(&mut self) -> Result<(ProfileRows, ProfileRows), String> {
        let per_epoch = self.trainer.steps_per_epoch();
        let ops = self
            .trainer
            .profile_step(self.next % per_epoch)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(n, c, s)| (n.to_string(), c, s))
            .collect();
        let kernels = self
            .trainer
            .profile_step_kernels(self.next % per_epoch + 1)
            .map_err(|e| e.to_string())?;
        self.next += 2;
        Ok((ops, kernels))
    }

    /// The peak-FMA ceiling now: median GFLOPS of five runs.
    pub fn peak_gflops(&mut self) -> Result<f64, String> {
        if self.peak.is_none() {
            let kernels = CeilingKernels::build(&self.gpu).map_err(|e| e.to_string())?;
            let timer =
                choose_timer(&self.gpu, &[kernels.fma_launch()]).map_err(|e| e.to_string())?;
            self.peak = Some((kernels, timer.kind));
        }
        let (kernels, timer) = self.peak.as_ref().expect("built above");
        kernels
            .peak_gflops(&self.gpu, *timer, 5)
            .map_err(|e| e.to_string())
    }

    /// Answers requests from `input` on `output` until `quit` or end of input.
    pub fn serve(&mut self, input: impl BufRead, mut output: impl Write) -> Result<(), String> {
        let io = |e: std::io::Error| e.to_string();
        for line in input.lines() {
            let line = line.map_err(io)?;
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["step", k] => {
                    let k: usize = k.parse().map_err(|_| format!("bad step count '{k}'"))?;
                    let t = self.step(k.max(1))?;
                    writeln!(output, "ok {t:.9}").map_err(io)?;
                }
                ["profile"] => {
                    let (ops, kernels) = self.profile()?;
                    for (name, count, s) in ops {
                        writeln!(output, "op {name} {count} {s:.9}").map_err(io)?;
                    }
                    for (name, count, s) in kernels {
                        writeln!(output, "kernel {name} {count} {s:.9}").map_err(io)?;
                    }
                    writeln!(output, "end").map_err(io)?;
                }
                ["peak"] => {
                    let g = self.peak_gflops()?;
                    writeln!(output, "ok {g:.6}").map_err(io)?;
                }
                ["quit"] => break,
                [] => continue,
                _ => writeln!(output, "error unknown request '{line}'").map_err(io)?,
            }
            output.flush().map_err(io)?;
        }
        Ok(())
    }
}

/// The device's peak-FMA and copy ceilings, measured now (the step's share is against these).
pub fn measure_ceilings(gpu: &Arc<Gpu>) -> Result<Ceilings, String> {
    let kernels = CeilingKernels::build(gpu).map_err(|e| e.to_string())?;
    let timer = choose_timer(gpu, &[kernels.fma_launch()]).map_err(|e| e.to_string())?;
    kernels
        .measure(gpu, timer.kind, 3, 15)
        .map_err(|e| e.to_string())
}
