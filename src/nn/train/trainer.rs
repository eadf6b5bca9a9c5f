//! Planned training of one network: the training step (gather, forward, loss, backward, SGD
//! update, metrics) compiled once into one plan; per step the host writes the batch cursor and
//! the learning rate and submits the plan once. Loss and accuracy accumulate on the device and
//! are read back only when asked (every N steps, or at the end of an epoch).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::batch::gather;
use super::feed::StepFeed;
use super::metrics::Metrics;
use super::schedule::Schedule;
use crate::autograd::ops::{
    Update, accumulate_metrics, apply_update, clip_gradients, cross_entropy_mean,
};
use crate::autograd::{AutogradError, Graph, Phase, Plan, PlanStats, Value, run_eager};
use crate::data::{Augment, DeviceDataset};
use crate::device::{DeviceError, Gpu};
use crate::kernels::optim::SgdSpec;
use crate::nn::network::Network;
use crate::nn::param::{Binder, Parameter};
use crate::tensor::Tensor;

/// Hyper-parameters of one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
    pub schedule: Schedule,
    /// Seeds the shuffling and the augmentation draws.
    pub seed: u64,
    #[serde(skip)]
    pub augment: Augment,
    /// Gradients are clipped to this global norm before each update (0 = off); ENAS and
    /// DARTS clip their weights at 5.
    #[serde(default)]
    pub grad_clip: f32,
}

/// Trains one network on a set of training indices of a device dataset.
pub struct Trainer {
    gpu: Arc<Gpu>,
    pub net: Network,
    pub feed: StepFeed,
    plan: Plan,
    /// The recorded step, kept for the unplanned baseline.
    graph: Graph,
    /// The gathered images and labels and the mean loss, kept readable after a step.
    probe: [Value; 3],
}

/// Records one training step into `g`: gather a batch from `feed`, `forward` (images ->
/// logits), the mean cross-entropy and its metrics, the backward pass, and an SGD update of
/// every parameter the forward pass bound, with momentum in `velocity(param)`. Returns the
/// values worth keeping readable: images, labels and the loss.
pub(super) fn record_step(
    g: &mut Graph,
    feed: &StepFeed,
    forward: impl FnOnce(&mut Graph, &mut Binder, Value) -> Result<Value, AutogradError>,
    mut velocity: impl FnMut(&Parameter) -> Result<Tensor, DeviceError>,
) -> Result<[Value; 3], AutogradError> {
    let config = &feed.config;
    let mut binder = Binder::new();
    let (images, labels) = gather(g, &feed.source, config.batch);
    let logits = forward(g, &mut binder, images)?;
    let (loss, losses) = cross_entropy_mean(g, logits, labels)?;
    accumulate_metrics(g, losses, logits, labels, feed.metrics.tensor());
    g.backward(loss)?;
    g.set_phase(Phase::Update);
    let trained: Vec<(&Parameter, Value)> = binder
        .bound()
        .iter()
        .filter_map(|(param, value)| g.grad(*value).map(|grad| (param, grad)))
        .collect();
    if config.grad_clip > 0.0 {
        let grads: Vec<Value> = trained.iter().map(|(_, grad)| *grad).collect();
        clip_gradients(g, &grads, config.grad_clip)?;
    }
    for (param, grad) in trained {
        let spec = SgdSpec {
            momentum: config.momentum,
            nesterov: config.nesterov,
            weight_decay: if param.decay {
                config.weight_decay
            } else {
                0.0
            },
        };
        let velocity = velocity(param)?;
        apply_update(
            g,
            &param.tensor,
            grad,
            &feed.scalars,
            Update::Sgd { velocity, spec },
        );
    }
    // Images and labels live until the first conv's and the loss's backward anyway, so keeping
    // them (and the scalar loss) readable costs no memory.
    Ok([images, labels, loss])
}

/// Dispatch, submit and memory facts of a compiled training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// Recorded ops (the eager baseline submits once per op).
    pub nodes: usize,
    pub dispatches_per_step: usize,
    pub submits_per_step: usize,
    pub host_writes_per_step: usize,
    /// Activation and gradient buffers after lifetime-based reuse.
    pub planned_bytes: u64,
    /// The same values with one buffer each.
    pub unplanned_bytes: u64,
    /// Parameters, optimiser state and other tensors outside the plan's buffers.
    pub external_bytes: u64,
    /// Scratch the kernels hold for themselves (packed operands, partial sums).
    #[serde(default)]
    pub scratch_bytes: u64,
}

impl StepReport {
    /// Device memory the step holds beyond parameters and data: planned buffers and scratch.
    pub fn working_bytes(&self) -> u64 {
        self.planned_bytes + self.scratch_bytes
    }
}

impl Trainer {
    /// Compiles the training step of `net` over `train_ids` of `data` (on the device once).
    pub fn new(
        gpu: &Arc<Gpu>,
        net: Network,
        data: &Arc<DeviceDataset>,
        train_ids: Vec<u32>,
        config: TrainConfig,
    ) -> Result<Trainer, AutogradError> {
        let feed = StepFeed::new(gpu, data, train_ids, config)?;
        let mut g = Graph::new(gpu);
        let probe = record_step(
            &mut g,
            &feed,
            |g, b, images| net.forward(g, b, images, true),
            |param| Tensor::zeros(gpu, param.tensor.shape()),
        )?;
        let plan = Plan::compile(&g, &probe)?;
        Ok(Trainer {
            gpu: gpu.clone(),
            net,
            feed,
            plan,
            graph: g,
            probe,
        })
    }

    /// Full batches per epoch (the last partial batch of a shuffled epoch is dropped).
    pub fn steps_per_epoch(&self) -> usize {
        self.feed.steps_per_epoch()
    }

    /// Total steps of the run, for the schedule.
    pub fn total_steps(&self) -> usize {
        self.feed.total_steps()
    }

    /// Reshuffles the training order for `epoch` (one upload) and zeroes the epoch metrics.
    pub fn begin_epoch(&mut self, epoch: usize) {
        self.feed.begin_epoch(epoch);
    }

    /// Writes the cursor and learning rate of step `index` of the epoch (two small writes that
    /// ride along with the step's submit).
    pub fn prepare_step(&mut self, index: usize) {
        self.feed.prepare_step(index);
    }

    /// Encodes the prepared step (gather, forward, backward, update) into `pass`.
    pub fn encode_step(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.plan
            .encode(pass, &[Phase::Forward, Phase::Backward, Phase::Update]);
    }

    /// Prepares, encodes and submits step `index` of the epoch: one encoder, one submit.
    pub fn step(&mut self, index: usize) -> Result<(), DeviceError> {
        self.prepare_step(index);
        self.plan.run_all()
    }

    /// The last step's batch (images `[B, C, H, W]`, labels) and mean loss, read back (waits
    /// for the GPU): what a comparison with another framework feeds it and checks against.
    pub fn last_batch(&self) -> Result<(Vec<f32>, Vec<u32>, f32), DeviceError> {
        let t = |v: Value| self.plan.tensor(v).expect("probe values are kept");
        let [images, labels, loss] = self.probe;
        Ok((
            t(images).to_f32()?,
            t(labels).to_u32()?,
            t(loss).to_f32()?[0],
        ))
    }

    /// Loss and accuracy accumulated since `begin_epoch` (waits for the GPU).
    pub fn read_metrics(&self) -> Result<Metrics, DeviceError> {
        self.feed.read_metrics()
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// The compiled step's dispatches, submits, writes and memory.
    pub fn report(&self) -> StepReport {
        let s: PlanStats = self.plan.stats();
        StepReport {
            nodes: s.nodes,
            dispatches_per_step: s.dispatches,
            submits_per_step: 1,
            host_writes_per_step: 2,
            planned_bytes: s.planned_bytes,
            unplanned_bytes: s.unplanned_bytes,
            external_bytes: s.external_bytes,
            scratch_bytes: s.scratch_bytes,
        }
    }

    /// Per-op time of step `index` (see `Plan::profile`).
    pub fn profile_step(
        &mut self,
        index: usize,
    ) -> Result<Vec<(&'static str, usize, f64)>, DeviceError> {
        self.prepare_step(index);
        self.plan
            .profile(&[Phase::Forward, Phase::Backward, Phase::Update])
    }

    /// Per-(op, kernel) time of step `index` (see `Plan::profile_kernels`).
    pub fn profile_step_kernels(
        &mut self,
        index: usize,
    ) -> Result<Vec<(String, usize, f64)>, DeviceError> {
        self.prepare_step(index);
        self.plan
            .profile_kernels(&[Phase::Forward, Phase::Backward, Phase::Update])
    }

    /// Runs the prepared step unplanned: every node allocates, binds and submits on its own
    /// (the baseline that measures what planning gains).
    pub fn step_eager(&mut self, index: usize) -> Result<(), AutogradError> {
        self.prepare_step(index);
        run_eager(
            &self.graph,
            &[],
            &[Phase::Forward, Phase::Backward, Phase::Update],
        )?;
        Ok(())
    }
}
