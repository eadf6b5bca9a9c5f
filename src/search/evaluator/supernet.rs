//! Weight-sharing evaluation (single-path one-shot, Guo et al. 2020; the shared-weight half of
//! ENAS, Pham et al. 2018): one supernet's weights serve every architecture of the space. The
//! first update phase trains the shared weights for `warmup_steps` steps and each later one
//! (before each batch of proposals) for `steps_per_update`, each step on a path drawn
//! uniformly; a proposal is then measured by the accuracy of its path, with the shared weights
//! as they are, on the validation images. Measuring costs a few forward passes instead of a
//! training run.
//!
//! Batch norm on a path uses the statistics of the batch, in training and in evaluation (a
//! path's running statistics would mix every path that passed through the layer), so the
//! validation images are taken in full batches only, and the running statistics, never read,
//! are not checkpointed.
//!
//! For `--resume`, the state after each update phase is a checkpoint
//! (`supernet-NNNNNN.safetensors`: the shared weights and their momentum) named in
//! `state.json` with the step count and the path sampler, written before the batch it
//! measures is, so a killed search continues with the same weights, schedule and paths.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{EvalEvent, Evaluator, Job, OnEvent, PathSource, ProxyTask, checkpoint, measure_path};
use crate::autograd::AutogradError;
use crate::device::Gpu;
use crate::nn::supernet::Supernet;
use crate::nn::train::{Evaluator as Validator, Schedule, SharedTrainer, TrainConfig};
use crate::nn::weights::NamedTensor;
use crate::search::config::{SearchConfig, SupernetConfig, TrainingPaths};
use crate::search::error::SearchError;
use crate::search::run_dir::RunDir;
use crate::search::strategy::Saved;
use crate::util::SeededRng;

/// How the shared weights are trained and paths measured: the `supernet` section, with the
/// whole search's step count (the cosine schedule's horizon) and the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SupernetSettings {
    pub supernet: SupernetConfig,
    /// Shared-weight steps the whole search will take.
    pub total_steps: usize,
    pub seed: u64,
}

impl SupernetSettings {
    /// The settings of `config` for its budget and batch size m.
    pub fn of(config: &SearchConfig) -> SupernetSettings {
        SupernetSettings {
            supernet: config.supernet.clone(),
            total_steps: config
                .supernet
                .total_steps(config.run.budget, config.reinforce.children_per_step),
            seed: config.run.seed,
        }
    }
}

fn shape_error(message: String) -> SearchError {
    SearchError::Other(format!("supernet evaluator: {message}"))
}

/// What `state.json` keeps of the evaluator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedState {
    /// The checkpoint file of the shared weights and their momentum.
    checkpoint: String,
    /// Shared-weight steps taken.
    steps: usize,
    /// Update phases run.
    updates: usize,
    /// The path sampler of the update phases.
    rng: SeededRng,
}

fn checkpoint_name(step: usize) -> String {
    format!("supernet-{step:06}.safetensors")
}

/// Suffix of a momentum buffer's name in the checkpoint.
const MOMENTUM: &str = ".momentum";

/// Measures proposals on the shared weights of a supernet of type `S`.
pub struct SupernetEvaluator<S: Supernet> {
    trainer: SharedTrainer<S>,
    task: ProxyTask,
    settings: SupernetSettings,
    /// Draws the paths of the update phase.
    rng: SeededRng,
    /// Shared-weight steps taken.
    steps: usize,
    /// Update phases run (the first is the warm-up).
    updates: usize,
    /// The checkpoint `state.json` names (None before the first).
    checkpoint: Option<String>,
    /// The opening line about the supernet and its memory.
    description: Option<String>,
}

impl<S: Supernet> SupernetEvaluator<S> {
    pub fn new(
        gpu: &Arc<Gpu>,
        supernet: S,
        task: ProxyTask,
        settings: SupernetSettings,
    ) -> Result<SupernetEvaluator<S>, SearchError> {
        let s = &settings.supernet;
        let batch = s.batch_size;
        if task.val_ids.len() < batch || s.eval_images < batch {
            return Err(shape_error(format!(
                "{} validation images ({} to measure on) cannot fill one batch of {batch}",
                task.val_ids.len(),
                s.eval_images
            )));
        }
        let steps_per_epoch = (task.train_ids.len() / batch).max(1);
        let config = TrainConfig {
            epochs: settings.total_steps.div_ceil(steps_per_epoch).max(1),
            batch,
            learning_rate: s.learning_rate,
            momentum: s.momentum,
            nesterov: true,
            weight_decay: s.weight_decay,
            schedule: Schedule::Cosine,
            seed: settings.seed,
            augment: task.augment,
            grad_clip: s.grad_clip,
        };
        let trainer = SharedTrainer::new(
            gpu,
            supernet,
            &task.data,
            task.train_ids.clone(),
            config,
            s.plan_cache,
        )
        .map_err(|e| shape_error(e.to_string()))?;
        Ok(SupernetEvaluator {
            trainer,
            rng: crate::util::seeded_rng(settings.seed ^ 0x5eed_5afe),
            task,
            settings,
            steps: 0,
            updates: 0,
            checkpoint: None,
            description: None,
        })
    }

    /// Sets the line `describe` gives (the supernet's size and memory estimate).
    pub fn with_description(mut self, line: String) -> SupernetEvaluator<S> {
        self.description = Some(line);
        self
    }

    /// The shared weights and their momentum, as a checkpoint's tensors.
    fn checkpoint_tensors(&self) -> Result<Vec<NamedTensor>, SearchError> {
        let read = |name: String, t: &crate::tensor::Tensor| -> Result<NamedTensor, SearchError> {
            Ok(NamedTensor {
                name,
                shape: t.shape().to_vec(),
                data: t.to_f32().map_err(|e| shape_error(e.to_string()))?,
            })
        };
        let mut out = Vec::new();
        for p in self.trainer.supernet.shared_parameters() {
            out.push(read(p.name.clone(), &p.tensor)?);
        }
        for (name, t) in self.trainer.momentum_buffers() {
            out.push(read(format!("{name}{MOMENTUM}"), t)?);
        }
        Ok(out)
    }

    /// Loads a checkpoint written by `checkpoint_tensors` into a trainer that has not stepped.
    fn load_checkpoint(&mut self, tensors: &[NamedTensor]) -> Result<(), String> {
        let by_name: BTreeMap<&str, &NamedTensor> =
            tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        for p in self.trainer.supernet.shared_parameters() {
            let saved = by_name
                .get(p.name.as_str())
                .ok_or_else(|| format!("lacks the shared parameter '{}'", p.name))?;
            if saved.shape != p.tensor.shape() {
                return Err(format!(
                    "'{}' is {:?}, the supernet's is {:?}",
                    p.name,
                    saved.shape,
                    p.tensor.shape()
                ));
            }
            check_finite(saved)?;
            p.tensor.write_f32(&saved.data);
        }
        let mut weights = 0;
        for t in tensors {
            match t.name.strip_suffix(MOMENTUM) {
                Some(name) => {
                    check_finite(t)?;
                    self.trainer.restore_momentum(name, &t.data)?;
                }
                None => weights += 1,
            }
        }
        let known = self.trainer.supernet.shared_parameters().len();
        if weights != known {
            return Err(format!(
                "holds {weights} weight tensors, the supernet has {known} shared parameters"
            ));
        }
        Ok(())
    }

    /// Shared-weight steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Steps taken when the current update phase began: a run restored from a checkpoint
    /// begins where the last saved phase ended.
    fn phase_start(&self) -> usize {
        match self.updates {
            0 => 0,
            k => {
                self.settings.supernet.warmup_steps
                    + (k - 1) * self.settings.supernet.steps_per_update
            }
        }
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
        let batch = self.settings.supernet.batch_size;
        let n = self
            .settings
            .supernet
            .eval_images
            .min(self.task.val_ids.len())
            / batch
            * batch;
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

fn check_finite(t: &NamedTensor) -> Result<(), String> {
    match t.data.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(format!(
            "'{}'[{i}] is {}, not finite (shared weights that diverged are never saved, so \
             this file was damaged)",
            t.name, t.data[i]
        )),
        None => Ok(()),
    }
}

impl<S: Supernet> Evaluator for SupernetEvaluator<S> {
    fn name(&self) -> &'static str {
        "supernet"
    }

    fn epochs(&self) -> usize {
        0
    }

    fn update(
        &mut self,
        stop: &dyn Fn() -> bool,
        paths: &mut PathSource<'_>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<bool, SearchError> {
        let steps = if self.updates == 0 {
            self.settings.supernet.warmup_steps
        } else {
            self.settings.supernet.steps_per_update
        };
        let target = self.phase_start() + steps;
        // The strategy's samples, a batch at a time; only within this phase, so a phase
        // restarted after a resume draws the same from the restored generator.
        let mut drawn: std::collections::VecDeque<S::Path> = Default::default();
        while self.steps < target {
            if stop() {
                return Ok(false);
            }
            if drawn.is_empty() && self.settings.supernet.training_paths == TrainingPaths::Strategy
            {
                for arch in paths(&mut self.rng)?.unwrap_or_default() {
                    let path = self.trainer.supernet.path_of(&arch).map_err(|e| {
                        SearchError::Other(format!(
                            "the strategy sampled an architecture the supernet cannot hold: {e}"
                        ))
                    })?;
                    drawn.push_back(path);
                }
            }
            let path = match drawn.pop_front() {
                Some(p) => p,
                None => self.trainer.supernet.sample_path(&mut self.rng),
            };
            self.train_step(&path)
                .map_err(|e| shape_error(format!("shared-weight step: {e}")))?;
            progress(steps - (target - self.steps), steps);
        }
        self.updates += 1;
        Ok(true)
    }

    fn save(&mut self, run: &RunDir, step: usize) -> Result<Saved, SearchError> {
        let tensors = self.checkpoint_tensors()?;
        let steps = self.steps;
        let obsolete = checkpoint::write(
            run,
            checkpoint_name(step),
            &tensors,
            steps,
            &mut self.checkpoint,
            |t, i| {
                shape_error(format!(
                    "after {steps} shared-weight steps '{}'[{i}] is {}: the shared weights \
                     diverged (try a lower supernet.learning_rate); the run directory is kept \
                     as of the batch before",
                    t.name, t.data[i]
                ))
            },
        )?;
        let state = SavedState {
            checkpoint: self.checkpoint.clone().expect("just written"),
            steps: self.steps,
            updates: self.updates,
            rng: self.rng.clone(),
        };
        Ok(Saved {
            state: serde_json::to_value(&state).expect("supernet state"),
            obsolete,
        })
    }

    fn restore(&mut self, saved: &Json, run: &RunDir) -> Result<(), SearchError> {
        let Some((state, path, tensors)) =
            checkpoint::read(saved, run, |s: &SavedState| &s.checkpoint)?
        else {
            return Ok(());
        };
        self.load_checkpoint(&tensors)
            .map_err(|e| SearchError::Other(format!("{}: {e}", path.display())))?;
        self.trainer.feed.resume_at(state.steps);
        self.steps = state.steps;
        self.updates = state.updates;
        self.rng = state.rng;
        self.checkpoint = Some(state.checkpoint);
        Ok(())
    }

    fn describe(&self) -> Option<String> {
        self.description.clone()
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
            let measurement =
                measure_path(self.trainer.supernet.path_of(&job.architecture), |path| {
                    self.path_accuracy(path)
                        .map_err(|e| shape_error(format!("measuring child {}: {e}", job.index)))
                })?;
            on_event(EvalEvent::Done { slot, measurement })?;
        }
        Ok(true)
    }
}
