//! Training children from scratch for their measurements. The children of a batch are trained
//! together: their planned steps are encoded into one encoder and submitted once, so small
//! networks fill the device. A child that cannot be built, runs out of memory or diverges is
//! reported as failed, and the others go on. Options: successive halving (Jamieson & Talwalkar
//! 2016: after `min_epochs`, then every factor `eta` more, only the best 1/eta of the batch go
//! on) and early stopping (a child whose best validation accuracy has not improved for
//! `patience` epochs stops). Every child that trained is then timed for inference latency.
//!
//! A group is the set of children resident on the device together; each epoch trains it in
//! chunks of `concurrent` children per encoder. Without halving a group is one chunk. With
//! halving the whole batch is one group, so that the ranking at a rung is over the batch, unless
//! its planned memory exceeds `GROUP_BYTES` (then each resident group is ranked on its own).

use std::sync::Arc;
use std::time::Instant;

use super::{EvalEvent, Evaluator, Job, OnEvent};
use crate::autograd::AutogradError;
use crate::data::{Augment, DeviceDataset};
use crate::device::{DeviceError, Gpu};
use crate::nn::train::{Evaluator as Validator, Schedule, TrainConfig, Trainer};
use crate::nn::{Architecture, Network};
use crate::search::config::{ChildConfig, HalvingConfig};
use crate::search::error::SearchError;
use crate::search::objective::Measurement;
use crate::search::record::ChildStatus;

/// The proxy task children are trained on: subsets of one device-resident training set.
#[derive(Clone)]
pub struct ProxyTask {
    pub data: Arc<DeviceDataset>,
    pub train_ids: Vec<u32>,
    pub val_ids: Vec<u32>,
    pub augment: Augment,
}

impl ProxyTask {
    /// The images' shape `[C, H, W]` and the number of classes.
    pub fn shape(&self) -> ([usize; 3], usize) {
        (self.data.image_shape(), self.data.classes() as usize)
    }
}

/// Trains each job from scratch on the proxy task.
pub struct ScratchEvaluator {
    gpu: Arc<Gpu>,
    task: ProxyTask,
    config: ChildConfig,
    halving: HalvingConfig,
    /// Children trained at once at most.
    concurrent: usize,
}

impl ScratchEvaluator {
    pub fn new(
        gpu: &Arc<Gpu>,
        task: ProxyTask,
        config: &ChildConfig,
        halving: &HalvingConfig,
        concurrent: usize,
    ) -> ScratchEvaluator {
        ScratchEvaluator {
            gpu: gpu.clone(),
            task,
            config: config.clone(),
            halving: halving.clone(),
            concurrent: concurrent.max(1),
        }
    }

    /// The proxy task (its data, for building more evaluators on it).
    pub fn task(&self) -> &ProxyTask {
        &self.task
    }
}

impl HalvingConfig {
    /// Whether `epochs_done` is a rung at which the weaker children stop (never the last epoch).
    pub fn is_rung(&self, epochs_done: usize, epochs: usize) -> bool {
        if self.min_epochs == 0 || epochs_done >= epochs {
            return false;
        }
        let mut rung = self.min_epochs;
        while rung < epochs_done {
            rung *= self.eta;
        }
        rung == epochs_done
    }
}

/// Device memory a group of concurrently trained children may hold for their steps (planned
/// activations and gradients plus kernel scratch); beyond it the next child starts a new group.
const GROUP_BYTES: u64 = 3 << 30;

fn failure(e: &AutogradError) -> (ChildStatus, String) {
    let status = match e {
        AutogradError::Device(
            DeviceError::OutOfMemory { .. }
            | DeviceError::TooLarge { .. }
            | DeviceError::WontFit { .. },
        ) => ChildStatus::OutOfMemory,
        AutogradError::Shape { .. } | AutogradError::Kernel(_) => ChildStatus::Invalid,
        _ => ChildStatus::Failed,
    };
    (status, e.to_string())
}

fn failed(status: ChildStatus, error: String) -> Measurement {
    Measurement {
        status,
        val_accuracy: Vec::new(),
        train_seconds: 0.0,
        latency: None,
        error: Some(error),
    }
}

struct Member {
    slot: usize,
    trainer: Trainer,
    val: Validator,
    accuracy: Vec<f64>,
    /// This child's share of the group's wall time so far.
    seconds: f64,
}

impl Evaluator for ScratchEvaluator {
    fn name(&self) -> &'static str {
        "train"
    }

    fn epochs(&self) -> usize {
        self.config.epochs
    }

    fn batch_coupled(&self) -> bool {
        self.halving.min_epochs > 0
    }

    fn evaluate(
        &mut self,
        jobs: &[Job],
        stop: &dyn Fn() -> bool,
        on_event: &mut OnEvent<'_>,
    ) -> Result<bool, SearchError> {
        let mut next = 0;
        while next < jobs.len() {
            let (group, failures, after) = self.build_group(jobs, next);
            next = after;
            if !self.train_group(group, failures, stop, on_event)? {
                return Ok(false);
            }
            self.gpu.trim_pool();
        }
        Ok(true)
    }
}

impl ScratchEvaluator {
    /// As many children from `jobs[next..]` as fit the cap and the memory budget, the build
    /// failures met on the way, and where the next group starts.
    fn build_group(
        &self,
        jobs: &[Job],
        mut next: usize,
    ) -> (Vec<Member>, Vec<(usize, Measurement)>, usize) {
        let mut group: Vec<Member> = Vec::new();
        let mut failures = Vec::new();
        let mut planned = 0u64;
        // Halving ranks the group, so its size is bounded by memory only.
        let cap = if self.batch_coupled() {
            usize::MAX
        } else {
            self.concurrent
        };
        while next < jobs.len() && group.len() < cap {
            let job = &jobs[next];
            match build(
                &self.gpu,
                &self.task,
                &job.architecture,
                job.seed,
                &self.config,
            ) {
                Ok(member) => {
                    let bytes = member.trainer.report().working_bytes();
                    if !group.is_empty() && planned + bytes > GROUP_BYTES {
                        break; // rebuilt at the start of the next group
                    }
                    planned += bytes;
                    group.push(Member {
                        slot: next,
                        ..member
                    });
                }
                Err(e)
                    if !group.is_empty() && matches!(failure(&e).0, ChildStatus::OutOfMemory) =>
                {
                    break;
                }
                Err(e) => {
                    let (status, message) = failure(&e);
                    failures.push((next, failed(status, message)));
                }
            }
            next += 1;
        }
        (group, failures, next)
    }

    /// Trains one group to the end (or to its stop), then hands over its measurements.
    /// False if `stop` ended it: the group is in flight, and its build failures go with it
    /// (cheap to redo), so the history never has a gap.
    fn train_group(
        &self,
        mut group: Vec<Member>,
        mut outcomes: Vec<(usize, Measurement)>,
        stop: &dyn Fn() -> bool,
        on_event: &mut OnEvent<'_>,
    ) -> Result<bool, SearchError> {
        let gpu = &self.gpu;
        let epochs = self.config.epochs;
        let mut finished: Vec<(Member, ChildStatus)> = Vec::new();
        let steps = group.first().map_or(0, |m| m.trainer.steps_per_epoch());
        for epoch in 0..epochs {
            if group.is_empty() {
                break;
            }
            for chunk in group.chunks_mut(self.concurrent) {
                if !train_epoch(gpu, chunk, epoch, steps, stop)? {
                    return Ok(false);
                }
            }
            let mut diverged = Vec::new();
            for (i, m) in group.iter_mut().enumerate() {
                let train = m.trainer.read_metrics()?;
                if !train.loss.is_finite() {
                    diverged.push(i);
                    continue;
                }
                m.accuracy.push(m.val.evaluate()?.accuracy);
                on_event(EvalEvent::Epoch {
                    slot: m.slot,
                    epoch: epoch + 1,
                })?;
            }
            for &i in diverged.iter().rev() {
                let m = group.remove(i);
                let message = format!("training loss became non-finite in epoch {}", epoch + 1);
                outcomes.push((m.slot, failed(ChildStatus::NanLoss, message)));
            }
            self.stop_early(&mut group, &mut finished);
            if self.halving.is_rung(epoch + 1, epochs) {
                halve(&mut group, &mut finished, self.halving.eta);
            }
        }
        finished.extend(group.into_iter().map(|m| (m, ChildStatus::Ok)));
        for (m, status) in finished {
            let latency = if self.config.latency {
                Some(super::measure_latency(
                    gpu,
                    &m.trainer.net,
                    self.config.batch_size,
                    super::LATENCY_PASSES,
                )?)
            } else {
                None
            };
            outcomes.push((
                m.slot,
                Measurement {
                    status,
                    val_accuracy: m.accuracy,
                    train_seconds: m.seconds,
                    latency,
                    error: None,
                },
            ));
        }
        deliver(outcomes, on_event)?;
        Ok(true)
    }

    /// Moves the children whose best accuracy is `patience` epochs old out of `group`.
    fn stop_early(&self, group: &mut Vec<Member>, finished: &mut Vec<(Member, ChildStatus)>) {
        let p = self.config.patience;
        if p == 0 {
            return;
        }
        let mut i = 0;
        while i < group.len() {
            let acc = &group[i].accuracy;
            let best_at = acc
                .iter()
                .enumerate()
                .fold(0, |b, (k, &a)| if a > acc[b] { k } else { b });
            if acc.len() < self.config.epochs && acc.len() - 1 - best_at >= p {
                finished.push((group.remove(i), ChildStatus::EarlyStopped));
            } else {
                i += 1;
            }
        }
    }
}

/// Trains `chunk` for one epoch, all its children's steps in one encoder per step, and gives
/// each child an equal share of the chunk's wall time. False if `stop` ended it.
fn train_epoch(
    gpu: &Gpu,
    chunk: &mut [Member],
    epoch: usize,
    steps: usize,
    stop: &dyn Fn() -> bool,
) -> Result<bool, SearchError> {
    let started = Instant::now();
    for m in chunk.iter_mut() {
        m.trainer.begin_epoch(epoch);
    }
    for s in 0..steps {
        if stop() {
            return Ok(false);
        }
        for m in chunk.iter_mut() {
            m.trainer.prepare_step(s);
        }
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for m in chunk.iter() {
                m.trainer.encode_step(&mut pass);
            }
        }
        gpu.submit(encoder.finish());
        gpu.check_errors()?;
    }
    let share = started.elapsed().as_secs_f64() / chunk.len() as f64;
    for m in chunk.iter_mut() {
        m.seconds += share;
    }
    Ok(true)
}

/// Keeps the best ceil(n / eta) of `group` by best accuracy so far (ties: the earlier child)
/// and marks the rest eliminated.
fn halve(group: &mut Vec<Member>, finished: &mut Vec<(Member, ChildStatus)>, eta: usize) {
    let keep = group.len().div_ceil(eta.max(1));
    let best = |m: &Member| m.accuracy.iter().copied().fold(0.0f64, f64::max);
    let mut order: Vec<usize> = (0..group.len()).collect();
    order.sort_by(|&a, &b| best(&group[b]).total_cmp(&best(&group[a])).then(a.cmp(&b)));
    let mut dropped: Vec<usize> = order[keep..].to_vec();
    dropped.sort_unstable_by(|a, b| b.cmp(a));
    for i in dropped {
        finished.push((group.remove(i), ChildStatus::Eliminated));
    }
}

/// Hands a group's outcomes over in child order.
fn deliver(
    mut outcomes: Vec<(usize, Measurement)>,
    on_event: &mut OnEvent<'_>,
) -> Result<(), SearchError> {
    outcomes.sort_by_key(|(slot, _)| *slot);
    for (slot, measurement) in outcomes {
        on_event(EvalEvent::Done { slot, measurement })?;
    }
    Ok(())
}

fn build(
    gpu: &Arc<Gpu>,
    task: &ProxyTask,
    arch: &Architecture,
    seed: u64,
    config: &ChildConfig,
) -> Result<Member, AutogradError> {
    // Estimated first, so a child too large for the device or the host is recorded as out of
    // memory without allocating any of it.
    crate::nn::footprint::check_training(gpu, arch, config.batch_size, "child").map_err(|e| {
        AutogradError::Device(DeviceError::WontFit {
            message: format!("{e} (child.batch_size {})", config.batch_size),
        })
    })?;
    let net = Network::new(gpu, arch, seed)?;
    let train_config = TrainConfig {
        epochs: config.epochs,
        batch: config.batch_size,
        learning_rate: config.learning_rate,
        momentum: config.momentum,
        nesterov: config.nesterov,
        weight_decay: config.weight_decay,
        schedule: Schedule::Cosine,
        seed,
        grad_clip: 0.0,
        augment: task.augment,
    };
    let trainer = Trainer::new(gpu, net, &task.data, task.train_ids.clone(), train_config)?;
    let val = Validator::new(&trainer.net, &task.data, &task.val_ids, config.batch_size)?;
    Ok(Member {
        slot: 0,
        trainer,
        val,
        accuracy: Vec::new(),
        seconds: 0.0,
    })
}
