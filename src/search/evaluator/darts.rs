//! The evaluator half of DARTS (Liu et al. 2019) on a mixed supernet (the NAS-Bench-201 cell,
//! the DARTS cells). DARTS's
//! strategy (`strategy/darts.rs`) owns the architecture weights alpha, but they are trained by
//! gradient inside the supernet's graph, so both halves share one `DartsCore`: the compiled
//! weight step and architecture step of `DartsTrainer` over the same shared weights.
//!
//! The update phase before each child runs `darts.steps_per_derivation` alternating pairs (a
//! weight step on a training batch, then an architecture step on a validation batch), as
//! DARTS alternates them; the strategy then derives the cell alpha stands for and this
//! evaluator measures it as the supernet evaluator measures a path: its accuracy on the shared
//! weights over `supernet.eval_images` validation images, batch statistics in batch norm.
//!
//! With the DARTS- remedy (Chu et al., ICLR 2021) every mixed edge also carries `beta * x`,
//! beta decaying linearly from 1 to 0 over the search's steps; derivation and measurement
//! ignore it (the derived cell is a plain cell of the space).
//!
//! For `--resume`, the state after each update phase is one checkpoint
//! (`darts-NNNNNN.safetensors`: shared weights and their momentum, alpha and its Adam moments)
//! named in `state.json` with the step count, written before the child it measures is, so a
//! killed search continues bit for bit: both feeds (their shuffles, cursors, learning-rate
//! schedule and Adam's step count) are functions of the step count.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{EvalEvent, Evaluator, Job, OnEvent, PathSource, ProxyTask, checkpoint, measure_path};
use crate::device::Gpu;
use crate::nn::supernet::{ArchWeights, AuxSkip, MixedSupernet};
use crate::nn::train::{
    ArchConfig, ArchOrder, DartsTrainer, Evaluator as Validator, Schedule, TrainConfig,
};
use crate::nn::weights::NamedTensor;
use crate::search::config::{DartsConfig, DartsRemedy, SearchConfig, SupernetConfig};
use crate::search::error::SearchError;
use crate::search::run_dir::RunDir;
use crate::search::strategy::Saved;

fn darts_error(message: String) -> SearchError {
    SearchError::Other(format!("darts: {message}"))
}

/// Suffixes and names of the non-weight tensors in the checkpoint.
const MOMENTUM: &str = ".momentum";
const ALPHA: &str = "darts.alpha";
const ADAM_M: &str = "darts.alpha.adam_m";
const ADAM_V: &str = "darts.alpha.adam_v";

fn checkpoint_name(step: usize) -> String {
    format!("darts-{step:06}.safetensors")
}

/// What `state.json` keeps of the evaluator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedState {
    /// The checkpoint of the shared weights, their momentum, alpha and its Adam moments.
    checkpoint: String,
    /// Alternating step pairs taken.
    steps: usize,
}

/// The supernet and alpha DARTS trains, shared by its strategy and its evaluator.
pub struct DartsCore<S: MixedSupernet> {
    pub trainer: DartsTrainer<S>,
    /// DARTS-'s auxiliary skip coefficient (None without the remedy).
    aux: Option<AuxSkip>,
    task: ProxyTask,
    supernet: SupernetConfig,
    pub darts: DartsConfig,
    /// Alternating step pairs of the whole search (the schedules' horizon).
    total_steps: usize,
    /// Alternating step pairs taken.
    steps: usize,
}

/// The shared handle both halves hold.
pub type SharedCore<S> = Rc<RefCell<DartsCore<S>>>;

impl<S: MixedSupernet> DartsCore<S> {
    /// DARTS on fresh shared weights `supernet` (seeded as the supernet evaluator seeds them)
    /// for `config`'s search on `task`, with alpha from its own seed.
    pub fn new(
        config: &SearchConfig,
        gpu: &Arc<Gpu>,
        task: ProxyTask,
        mut supernet: S,
    ) -> Result<DartsCore<S>, SearchError> {
        let s = &config.supernet;
        let batch = s.batch_size;
        if task.val_ids.len() < batch || s.eval_images < batch {
            return Err(darts_error(format!(
                "{} validation images ({} to measure on) cannot fill one batch of {batch}",
                task.val_ids.len(),
                s.eval_images
            )));
        }
        let mut alpha_rng = crate::util::seeded_rng(config.run.seed ^ 0xa1fa_da27);
        let alpha = ArchWeights::new(gpu, supernet.alpha_shape(), &mut alpha_rng)
            .map_err(|e| darts_error(format!("alpha: {e}")))?;
        let aux = match config.darts.remedy {
            DartsRemedy::None => None,
            DartsRemedy::DartsMinus => {
                Some(AuxSkip::new(gpu, 1.0).map_err(|e| darts_error(e.to_string()))?)
            }
        };
        supernet.set_aux_skip(aux.clone());
        let total_steps = config.darts.total_steps(config.run.budget);
        let per_epoch = (task.train_ids.len() / batch)
            .min(task.val_ids.len() / batch)
            .max(1);
        let train = TrainConfig {
            epochs: total_steps.div_ceil(per_epoch).max(1),
            batch,
            learning_rate: s.learning_rate,
            momentum: s.momentum,
            nesterov: true,
            weight_decay: s.weight_decay,
            schedule: Schedule::Cosine,
            seed: config.run.seed,
            augment: task.augment,
            grad_clip: s.grad_clip,
        };
        let d = &config.darts;
        let arch = ArchConfig {
            learning_rate: d.learning_rate,
            beta1: d.beta1,
            beta2: d.beta2,
            weight_decay: d.weight_decay,
            order: if d.order == 2 {
                ArchOrder::Second
            } else {
                ArchOrder::First
            },
        };
        let ids = (task.train_ids.clone(), task.val_ids.clone());
        let trainer = DartsTrainer::new(gpu, supernet, alpha, &task.data, ids, train, arch)
            .map_err(|e| darts_error(e.to_string()))?;
        Ok(DartsCore {
            trainer,
            aux,
            task,
            supernet: config.supernet.clone(),
            darts: config.darts.clone(),
            total_steps,
            steps: 0,
        })
    }

    /// Alternating step pairs taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// DARTS-'s beta at step pair `t`: 1 at the start, 0 at the end of the search.
    pub fn beta(&self, t: usize) -> Option<f32> {
        self.aux.as_ref()?;
        let total = self.total_steps.max(1) as f64;
        Some((1.0 - (t as f64 / total).min(1.0)) as f32)
    }

    /// Alpha read back (waits for the GPU).
    pub fn alpha_rows(&self) -> Result<Vec<Vec<f32>>, SearchError> {
        self.trainer
            .read_alpha()
            .map_err(|e| darts_error(e.to_string()))
    }

    /// One alternating pair: a weight step, then an architecture step (second order: the
    /// architecture step first, unrolled through the weight step that follows, as DARTS does).
    fn step(&mut self) -> Result<(), SearchError> {
        let per_epoch = self.trainer.steps_per_epoch().max(1);
        let index = self.steps % per_epoch;
        if index == 0 {
            self.trainer.begin_epoch(self.steps / per_epoch);
        }
        if let (Some(aux), Some(beta)) = (&self.aux, self.beta(self.steps)) {
            aux.set(beta);
        }
        self.trainer
            .step(index)
            .map_err(|e| darts_error(format!("step {}: {e}", self.steps)))?;
        self.steps += 1;
        Ok(())
    }

    /// Validation accuracy of `genotype`'s path on the shared weights (no auxiliary skip).
    fn path_accuracy(&self, genotype: &S::Path) -> Result<f64, SearchError> {
        let batch = self.supernet.batch_size;
        let n = self.supernet.eval_images.min(self.task.val_ids.len()) / batch * batch;
        let supernet = &self.trainer.supernet;
        let validator = Validator::with_forward(
            &self.task.data,
            &self.task.val_ids[..n],
            batch,
            |g, b, x| supernet.forward_path(g, b, x, genotype, true),
        )
        .map_err(|e| darts_error(e.to_string()))?;
        Ok(validator
            .evaluate()
            .map_err(|e| darts_error(e.to_string()))?
            .accuracy)
    }

    /// Everything the next steps depend on, as a checkpoint's tensors.
    fn checkpoint_tensors(&self) -> Result<Vec<NamedTensor>, SearchError> {
        let read = |name: String, t: &crate::tensor::Tensor| -> Result<NamedTensor, SearchError> {
            Ok(NamedTensor {
                name,
                shape: t.shape().to_vec(),
                data: t.to_f32().map_err(|e| darts_error(e.to_string()))?,
            })
        };
        let tr = &self.trainer;
        let mut out = Vec::new();
        for p in tr.supernet.shared_parameters() {
            out.push(read(p.name.clone(), &p.tensor)?);
        }
        for (name, t) in tr.momentum_buffers() {
            out.push(read(format!("{name}{MOMENTUM}"), t)?);
        }
        let (m, v) = tr.adam_moments();
        out.push(read(ALPHA.into(), &tr.alpha.tensor)?);
        out.push(read(ADAM_M.into(), m)?);
        out.push(read(ADAM_V.into(), v)?);
        Ok(out)
    }

    /// Loads what `checkpoint_tensors` wrote; every tensor must be there, shaped and finite.
    fn load_checkpoint(&mut self, tensors: &[NamedTensor]) -> Result<(), String> {
        let by_name: BTreeMap<&str, &NamedTensor> =
            tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let tr = &self.trainer;
        let (m, v) = tr.adam_moments();
        let mut targets: Vec<(String, &crate::tensor::Tensor)> = tr
            .supernet
            .shared_parameters()
            .into_iter()
            .map(|p| (p.name.clone(), &p.tensor))
            .collect();
        for (name, t) in tr.momentum_buffers() {
            targets.push((format!("{name}{MOMENTUM}"), t));
        }
        targets.push((ALPHA.into(), &tr.alpha.tensor));
        targets.push((ADAM_M.into(), m));
        targets.push((ADAM_V.into(), v));
        if tensors.len() != targets.len() {
            return Err(format!(
                "holds {} tensors, a DARTS checkpoint of this supernet has {}",
                tensors.len(),
                targets.len()
            ));
        }
        for (name, t) in &targets {
            let saved = by_name
                .get(name.as_str())
                .ok_or_else(|| format!("lacks the tensor '{name}'"))?;
            if saved.shape != t.shape() {
                return Err(format!(
                    "'{name}' is {:?}, expected {:?}",
                    saved.shape,
                    t.shape()
                ));
            }
            if let Some(i) = saved.data.iter().position(|x| !x.is_finite()) {
                return Err(format!(
                    "'{name}'[{i}] is {}, not finite (a search that diverged is never saved, so \
                     this file was damaged)",
                    saved.data[i]
                ));
            }
        }
        for (name, t) in &targets {
            t.write_f32(&by_name[name.as_str()].data);
        }
        Ok(())
    }
}

/// Measures DARTS's derived cells on the shared weights, after training them and alpha.
pub struct DartsEvaluator<S: MixedSupernet> {
    core: SharedCore<S>,
    /// The checkpoint `state.json` names (None before the first).
    checkpoint: Option<String>,
    description: String,
}

impl<S: MixedSupernet> DartsEvaluator<S> {
    /// The evaluator over `core`, its opening line ending with `memory` (the memory plan).
    pub fn new(core: SharedCore<S>, memory: &str) -> DartsEvaluator<S> {
        let description = {
            let c = core.borrow();
            let supernet = &c.trainer.supernet;
            let (planned, unplanned, scratch) = c.trainer.planned_bytes();
            let human_bytes = crate::util::human_bytes;
            let shared: usize = supernet
                .shared_parameters()
                .iter()
                .map(|p| p.tensor.shape().iter().product::<usize>())
                .sum();
            format!(
                "DARTS, {} order, {}: {shared} shared parameters, alpha {:?}; {} alternating steps per derived cell ({} in all), batch {}; remedy {}; estimated {memory}; compiled: {} planned ({} without reuse) and {} kernel scratch",
                if c.darts.order == 2 {
                    "second"
                } else {
                    "first"
                },
                supernet.describe(),
                supernet.alpha_shape(),
                c.darts.steps_per_derivation,
                c.total_steps,
                c.supernet.batch_size,
                match c.darts.remedy {
                    DartsRemedy::None => "none".to_string(),
                    DartsRemedy::DartsMinus =>
                        "DARTS- (auxiliary skip, beta 1 -> 0; Chu et al. 2021)".to_string(),
                },
                human_bytes(planned),
                human_bytes(unplanned),
                human_bytes(scratch)
            )
        };
        DartsEvaluator {
            core,
            checkpoint: None,
            description,
        }
    }
}

impl<S: MixedSupernet + 'static> Evaluator for DartsEvaluator<S> {
    fn name(&self) -> &'static str {
        "supernet"
    }

    fn epochs(&self) -> usize {
        0
    }

    /// DARTS trains its own mixed network: no sampled paths.
    fn update(
        &mut self,
        stop: &dyn Fn() -> bool,
        _paths: &mut PathSource<'_>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<bool, SearchError> {
        let mut core = self.core.borrow_mut();
        // Phases end at multiples of the block, so a restored run continues its block.
        let block = core.darts.steps_per_derivation;
        let target = (core.steps / block + 1) * block;
        while core.steps < target {
            if stop() {
                return Ok(false);
            }
            core.step()?;
            progress(block - (target - core.steps), block);
        }
        Ok(true)
    }

    fn save(&mut self, run: &RunDir, step: usize) -> Result<Saved, SearchError> {
        let core = self.core.borrow();
        let tensors = core.checkpoint_tensors()?;
        let obsolete = checkpoint::write(
            run,
            checkpoint_name(step),
            &tensors,
            core.steps,
            &mut self.checkpoint,
            |t, i| {
                darts_error(format!(
                    "after {} steps '{}'[{i}] is {}: the search diverged (try a lower \
                     supernet.learning_rate or darts.learning_rate); the run directory is kept \
                     as of the child before",
                    core.steps, t.name, t.data[i]
                ))
            },
        )?;
        let state = SavedState {
            checkpoint: self.checkpoint.clone().expect("just written"),
            steps: core.steps,
        };
        Ok(Saved {
            state: serde_json::to_value(&state).expect("darts state"),
            obsolete,
        })
    }

    fn restore(&mut self, saved: &Json, run: &RunDir) -> Result<(), SearchError> {
        let Some((state, path, tensors)) =
            checkpoint::read(saved, run, |s: &SavedState| &s.checkpoint)?
        else {
            return Ok(());
        };
        let mut core = self.core.borrow_mut();
        core.load_checkpoint(&tensors)
            .map_err(|e| SearchError::Other(format!("{}: {e}", path.display())))?;
        let tr = &mut core.trainer;
        tr.train_feed.resume_at(state.steps);
        tr.valid_feed.resume_at(state.steps);
        // Both halves shuffled for the epoch in progress, as the uninterrupted run has them.
        let per_epoch = tr.steps_per_epoch().max(1);
        tr.begin_epoch(state.steps / per_epoch);
        core.steps = state.steps;
        self.checkpoint = Some(state.checkpoint);
        Ok(())
    }

    fn describe(&self) -> Option<String> {
        Some(self.description.clone())
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
            let path = self
                .core
                .borrow()
                .trainer
                .supernet
                .path_of(&job.architecture);
            let measurement =
                measure_path(path, |genotype| self.core.borrow().path_accuracy(genotype))?;
            on_event(EvalEvent::Done { slot, measurement })?;
        }
        Ok(true)
    }
}
