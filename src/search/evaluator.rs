//! Training children for their reward. The children of a step are trained together: their
//! planned steps are encoded into one encoder and submitted once, so small networks fill the
//! device. A child that cannot be built, runs out of memory or diverges is recorded as failed
//! with reward 0, and the others go on.

use std::sync::Arc;
use std::time::Instant;

use super::config::ChildConfig;
use super::record::ChildStatus;
use crate::autograd::AutogradError;
use crate::data::{Augment, DeviceDataset};
use crate::device::{DeviceError, Gpu};
use crate::nn::train::{Evaluator, Schedule, TrainConfig, Trainer};
use crate::nn::{Architecture, Network};

/// The proxy task children are trained on: subsets of one device-resident training set.
pub struct ProxyTask {
    pub data: Arc<DeviceDataset>,
    pub train_ids: Vec<u32>,
    pub val_ids: Vec<u32>,
    pub augment: Augment,
}

/// How one child's training ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildOutcome {
    pub status: ChildStatus,
    pub val_accuracy: Vec<f64>,
    /// Wall time of the child's group divided by the children trained in it.
    pub train_seconds: f64,
    pub error: Option<String>,
}

/// What the evaluator reports, by child position in the batch (`slot`).
pub enum ChildEvent {
    /// A child finished an epoch.
    Epoch { slot: usize, epoch: usize },
    /// A child's outcome is known: handed over at once, so finished work is saved even if the
    /// rest of the batch is interrupted. Within a group, outcomes come in slot order.
    Done { slot: usize, outcome: ChildOutcome },
}

/// Device memory a group of concurrently trained children may hold for their steps (planned
/// activations and gradients plus kernel scratch); beyond it the next child starts a new group.
const GROUP_BYTES: u64 = 3 << 30;

fn failure(e: &AutogradError) -> (ChildStatus, String) {
    let status = match e {
        AutogradError::Device(DeviceError::OutOfMemory { .. } | DeviceError::TooLarge { .. }) => {
            ChildStatus::OutOfMemory
        }
        AutogradError::Shape { .. } | AutogradError::Kernel(_) => ChildStatus::Invalid,
        _ => ChildStatus::Failed,
    };
    (status, e.to_string())
}

fn failed(status: ChildStatus, error: String) -> ChildOutcome {
    ChildOutcome {
        status,
        val_accuracy: Vec::new(),
        train_seconds: 0.0,
        error: Some(error),
    }
}

struct Member {
    slot: usize,
    trainer: Trainer,
    val: Evaluator,
    accuracy: Vec<f64>,
}

/// Receives the evaluator's events.
pub type OnEvent<'a> = dyn FnMut(ChildEvent) -> Result<(), DeviceError> + 'a;

/// Trains every architecture (`seeds[i]` seeds child i), reporting progress and each outcome
/// through `on_event`. `concurrent` caps the children trained at once. Returns false if `stop` ended
/// it early (checked between steps); the children in flight are then dropped.
// The arguments are independent inputs of one call site (the driver); a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn train_children(
    gpu: &Arc<Gpu>,
    task: &ProxyTask,
    archs: &[Architecture],
    seeds: &[u64],
    config: &ChildConfig,
    concurrent: usize,
    stop: &dyn Fn() -> bool,
    on_event: &mut OnEvent<'_>,
) -> Result<bool, DeviceError> {
    let mut next = 0;
    while next < archs.len() {
        // Build a group: as many children as fit the cap and the memory budget.
        let mut group: Vec<Member> = Vec::new();
        let mut pending_failures: Vec<(usize, ChildOutcome)> = Vec::new();
        let mut planned = 0u64;
        while next < archs.len() && group.len() < concurrent.max(1) {
            match build(gpu, task, &archs[next], seeds[next], config) {
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
                    pending_failures.push((next, failed(status, message)));
                }
            }
            next += 1;
        }
        let mut outcomes: Vec<(usize, ChildOutcome)> = pending_failures;
        if group.is_empty() {
            deliver(outcomes, on_event)?;
            continue;
        }
        let started = Instant::now();
        let size = group.len();
        let steps = group[0].trainer.steps_per_epoch();
        for epoch in 0..config.epochs {
            for m in group.iter_mut() {
                m.trainer.begin_epoch(epoch);
            }
            for s in 0..steps {
                if stop() {
                    // The group is in flight; its build failures go with it (cheap to redo), so
                    // the history never has a gap.
                    return Ok(false);
                }
                for m in group.iter_mut() {
                    m.trainer.prepare_step(s);
                }
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    for m in &group {
                        m.trainer.encode_step(&mut pass);
                    }
                }
                gpu.submit(encoder.finish());
                gpu.check_errors()?;
            }
            let mut diverged = Vec::new();
            for (i, m) in group.iter_mut().enumerate() {
                let train = m.trainer.read_metrics()?;
                if !train.loss.is_finite() {
                    diverged.push(i);
                    continue;
                }
                m.accuracy.push(m.val.evaluate()?.accuracy);
                on_event(ChildEvent::Epoch {
                    slot: m.slot,
                    epoch: epoch + 1,
                })?;
            }
            for &i in diverged.iter().rev() {
                let m = group.remove(i);
                let message = format!("training loss became non-finite in epoch {}", epoch + 1);
                outcomes.push((m.slot, failed(ChildStatus::NanLoss, message)));
            }
            if group.is_empty() {
                break;
            }
        }
        let share = started.elapsed().as_secs_f64() / size as f64;
        for m in group {
            let outcome = ChildOutcome {
                status: ChildStatus::Ok,
                val_accuracy: m.accuracy,
                train_seconds: share,
                error: None,
            };
            outcomes.push((m.slot, outcome));
        }
        deliver(outcomes, on_event)?;
        gpu.trim_pool();
    }
    Ok(true)
}

/// Hands a group's outcomes over in child order.
fn deliver(
    mut outcomes: Vec<(usize, ChildOutcome)>,
    on_event: &mut OnEvent<'_>,
) -> Result<(), DeviceError> {
    outcomes.sort_by_key(|(slot, _)| *slot);
    for (slot, outcome) in outcomes {
        on_event(ChildEvent::Done { slot, outcome })?;
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
        augment: task.augment,
    };
    let trainer = Trainer::new(gpu, net, &task.data, task.train_ids.clone(), train_config)?;
    let val = Evaluator::new(&trainer.net, &task.data, &task.val_ids, config.batch_size)?;
    Ok(Member {
        slot: 0,
        trainer,
        val,
        accuracy: Vec::new(),
    })
}
