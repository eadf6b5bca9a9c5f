//! Weight-sharing evaluation (single-path one-shot, Guo et al. 2020; the shared-weight half of
//! ENAS, Pham et al. 2018): one supernet's weights serve every architecture of the space. The
//! update phase before each batch of proposals trains the shared weights for
//! `steps_per_update` steps, each on a path drawn uniformly; a proposal is then measured by
//! the accuracy of its path, with the shared weights as they are, on the validation images.
//! Measuring costs a few forward passes instead of a training run.
//!
//! Batch norm on a path uses the statistics of the batch, in training and in evaluation (a
//! path's running statistics would mix every path that passed through the layer), so the
//! validation images are taken in full batches only.

use std::sync::Arc;
use std::time::Instant;

use super::{EvalEvent, Evaluator, Job, OnEvent, ProxyTask};
use crate::autograd::AutogradError;
use crate::device::Gpu;
use crate::nn::supernet::Supernet;
use crate::nn::train::{Evaluator as Validator, Schedule, SharedTrainer, TrainConfig};
use crate::search::error::SearchError;
use crate::search::objective::Measurement;
use crate::search::record::ChildStatus;
use crate::util::SeededRng;

/// How the shared weights are trained and paths measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SupernetSettings {
    /// Shared-weight steps before each batch of proposals.
    pub steps_per_update: usize,
    /// Shared-weight steps the whole search will take, for the cosine schedule.
    pub total_steps: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    /// Validation images a path is measured on (rounded down to full batches).
    pub eval_images: usize,
    /// Compiled path steps kept (a path drawn again soon reuses its plan).
    pub plan_cache: usize,
    pub seed: u64,
}

fn shape_error(message: String) -> SearchError {
    SearchError::Other(format!("supernet evaluator: {message}"))
}

/// Measures proposals on the shared weights of a supernet of type `S`.
pub struct SupernetEvaluator<S: Supernet> {
    trainer: SharedTrainer<S>,
    task: ProxyTask,
    settings: SupernetSettings,
    /// Draws the paths of the update phase.
    rng: SeededRng,
    /// Shared-weight steps taken.
    steps: usize,
}

impl<S: Supernet> SupernetEvaluator<S> {
    pub fn new(
        gpu: &Arc<Gpu>,
        supernet: S,
        task: ProxyTask,
        settings: SupernetSettings,
    ) -> Result<SupernetEvaluator<S>, SearchError> {
        let batch = settings.batch_size;
        if task.val_ids.len() < batch || settings.eval_images < batch {
            return Err(shape_error(format!(
                "{} validation images ({} to measure on) cannot fill one batch of {batch}",
                task.val_ids.len(),
                settings.eval_images
            )));
        }
        let steps_per_epoch = (task.train_ids.len() / batch).max(1);
        let config = TrainConfig {
            epochs: settings.total_steps.div_ceil(steps_per_epoch).max(1),
            batch,
            learning_rate: settings.learning_rate,
            momentum: settings.momentum,
            nesterov: true,
            weight_decay: settings.weight_decay,
            schedule: Schedule::Cosine,
            seed: settings.seed,
            augment: task.augment,
        };
        let trainer = SharedTrainer::new(
            gpu,
            supernet,
            &task.data,
            task.train_ids.clone(),
            config,
            settings.plan_cache,
        )
        .map_err(|e| shape_error(e.to_string()))?;
        Ok(SupernetEvaluator {
            trainer,
            rng: crate::util::seeded_rng(settings.seed ^ 0x5eed_5afe),
            task,
            settings,
            steps: 0,
        })
    }

    /// Shared-weight steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn supernet(&self) -> &S {
        &self.trainer.supernet
    }

    /// Trains the shared weights for one step on `path`.
    pub fn train_step(&mut self, path: &S::Path) -> Result<(), AutogradError> {
        let per_epoch = self.trainer.steps_per_epoch();
        let index = self.steps % per_epoch;
        if index == 0 {
            self.trainer.begin_epoch(self.steps / per_epoch);
        }
        self.trainer.step(path, index)?;
        self.steps += 1;
        Ok(())
    }

    /// Validation accuracy of `path` on the shared weights.
    pub fn path_accuracy(&self, path: &S::Path) -> Result<f64, AutogradError> {
        let batch = self.settings.batch_size;
        let n = self.settings.eval_images.min(self.task.val_ids.len()) / batch * batch;
        let supernet = &self.trainer.supernet;
        let validator = Validator::with_forward(
            &self.task.data,
            &self.task.val_ids[..n],
            batch,
            |g, b, x| supernet.forward_path(g, b, x, path, true),
        )?;
        Ok(validator.evaluate()?.accuracy)
    }
}

impl<S: Supernet> Evaluator for SupernetEvaluator<S> {
    fn name(&self) -> &'static str {
        "supernet"
    }

    fn epochs(&self) -> usize {
        0
    }

    fn update(&mut self, stop: &dyn Fn() -> bool) -> Result<bool, SearchError> {
        for _ in 0..self.settings.steps_per_update {
            if stop() {
                return Ok(false);
            }
            let path = self.trainer.supernet.sample_path(&mut self.rng);
            self.train_step(&path)
                .map_err(|e| shape_error(format!("shared-weight step: {e}")))?;
        }
        Ok(true)
    }

    fn evaluate(
        &mut self,
        jobs: &[Job],
        stop: &dyn Fn() -> bool,
        on_event: &mut OnEvent<'_>,
    ) -> Result<bool, SearchError> {
        for (slot, job) in jobs.iter().enumerate() {
            if stop() {
                return Ok(false);
            }
            let started = Instant::now();
            let measurement = match self.trainer.supernet.path_of(&job.architecture) {
                Err(e) => Measurement {
                    status: ChildStatus::Invalid,
                    val_accuracy: Vec::new(),
                    train_seconds: 0.0,
                    latency: None,
                    error: Some(e),
                },
                Ok(path) => {
                    let accuracy = self
                        .path_accuracy(&path)
                        .map_err(|e| shape_error(format!("measuring child {}: {e}", job.index)))?;
                    Measurement {
                        status: ChildStatus::Ok,
                        val_accuracy: vec![accuracy],
                        train_seconds: started.elapsed().as_secs_f64(),
                        latency: None,
                        error: None,
                    }
                }
            };
            on_event(EvalEvent::Done { slot, measurement })?;
        }
        Ok(true)
    }
}
