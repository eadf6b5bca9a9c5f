//! What a planned training step reads from the host: the batch source (a gather at a cursor
//! into a shuffled order of the training indices), the step scalars (learning rate, step
//! count) and the on-device metrics. Per epoch the host uploads a new order; per step it writes
//! the cursor and the scalars, two small writes that ride along with the step's submit. The
//! trainer of one network and the shared-weight trainer of a supernet both feed their plans
//! from one of these.

use std::sync::Arc;

use super::batch::BatchSource;
use super::metrics::{Metrics, MetricsTensor};
use super::trainer::TrainConfig;
use crate::autograd::AutogradError;
use crate::data::{BatchCursor, DeviceDataset};
use crate::device::{DeviceError, Gpu};
use crate::kernels::optim::{StepScalars, step_scalars_tensor, write_step_scalars};
use crate::tensor::Tensor;

pub struct StepFeed {
    gpu: Arc<Gpu>,
    pub config: TrainConfig,
    train_ids: Vec<u32>,
    pub source: BatchSource,
    pub scalars: Tensor,
    pub metrics: MetricsTensor,
    /// Steps taken so far over the whole run (drives the schedule and the step counter).
    step: usize,
}

impl StepFeed {
    /// A feed over `train_ids` of `data`; an error if they cannot fill one batch.
    pub fn new(
        gpu: &Arc<Gpu>,
        data: &Arc<DeviceDataset>,
        train_ids: Vec<u32>,
        config: TrainConfig,
    ) -> Result<StepFeed, AutogradError> {
        if train_ids.len() < config.batch {
            return Err(AutogradError::Shape {
                op: "trainer",
                message: format!(
                    "{} training images cannot fill one batch of {}",
                    train_ids.len(),
                    config.batch
                ),
            });
        }
        let source = BatchSource {
            data: data.clone(),
            order: Tensor::from_u32(gpu, &[train_ids.len()], &train_ids)?,
            cursor: BatchCursor::new(gpu).map_err(|e| AutogradError::Backward {
                message: e.to_string(),
            })?,
            augment: config.augment,
        };
        Ok(StepFeed {
            gpu: gpu.clone(),
            scalars: step_scalars_tensor(gpu)?,
            metrics: MetricsTensor::new(gpu)?,
            config,
            train_ids,
            source,
            step: 0,
        })
    }

    /// Full batches per epoch (the last partial batch of a shuffled epoch is dropped).
    pub fn steps_per_epoch(&self) -> usize {
        self.train_ids.len() / self.config.batch
    }

    /// Total steps of the run, for the schedule.
    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch() * self.config.epochs
    }

    /// Reshuffles the training order for `epoch` (one upload) and zeroes the epoch metrics.
    pub fn begin_epoch(&mut self, epoch: usize) {
        let seed = self.config.seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let order = crate::data::shuffled(&self.train_ids, seed);
        self.gpu
            .write_bytes(self.source.order.raw(), bytemuck::cast_slice(&order));
        self.metrics.reset();
    }

    /// Writes the cursor and learning rate of step `index` of the epoch.
    pub fn prepare_step(&mut self, index: usize) {
        self.peek_step(index);
        self.step += 1;
    }

    /// Writes what `prepare_step(index)` writes (cursor, augmentation seed, rate, step count)
    /// without counting a step: a plan that looks at the coming step's batch first (DARTS's
    /// unrolled architecture step) leaves the schedule where it was.
    pub fn peek_step(&self, index: usize) {
        let b = self.config.batch;
        let seed = (self.config.seed as u32) ^ (self.step as u32).wrapping_mul(0x85EB_CA6B);
        self.source.cursor.set((index * b) as u32, b as u32, seed);
        let lr =
            self.config
                .schedule
                .rate(self.config.learning_rate, self.step, self.total_steps());
        write_step_scalars(
            &self.scalars,
            StepScalars {
                lr,
                step: self.step as u32 + 1,
                _pad: [0; 2],
            },
        );
    }

    /// Steps taken so far over the whole run.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Continues a run restored after `steps` steps: the schedule and step counter carry on
    /// from there, and the order of the epoch in progress is shuffled again as it was.
    pub fn resume_at(&mut self, steps: usize) {
        self.step = steps;
        let per_epoch = self.steps_per_epoch().max(1);
        self.begin_epoch(steps / per_epoch);
    }

    /// Loss and accuracy accumulated since `begin_epoch` (waits for the GPU).
    pub fn read_metrics(&self) -> Result<Metrics, DeviceError> {
        self.metrics.read()
    }
}
