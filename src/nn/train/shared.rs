//! Shared-weight training of a supernet, one path per step: the shared-weight phase of ENAS
//! (Pham et al. 2018) and of single-path one-shot search (Guo et al. 2020). Each path's step is
//! compiled once into a plan and kept in a small cache (the most recently used first), and
//! every path updates the same parameters through the same momentum buffers, so what one path
//! learns is what the next path with the same operation inherits.

use std::collections::HashMap;
use std::sync::Arc;

use super::feed::StepFeed;
use super::metrics::Metrics;
use super::trainer::{TrainConfig, record_step};
use crate::autograd::{AutogradError, Graph, Plan};
use crate::data::DeviceDataset;
use crate::device::{DeviceError, Gpu};
use crate::nn::supernet::Supernet;
use crate::tensor::Tensor;

/// Trains the shared weights of `supernet` on a set of training indices.
pub struct SharedTrainer<S: Supernet> {
    gpu: Arc<Gpu>,
    pub supernet: S,
    pub feed: StepFeed,
    /// Momentum of each shared parameter, by name, shared by every path that trains it.
    velocities: HashMap<String, Tensor>,
    /// Compiled steps of recent paths, most recent first.
    plans: Vec<(S::Path, Plan)>,
    /// Plans kept at most (each holds its activation buffers).
    cache: usize,
}

impl<S: Supernet> SharedTrainer<S> {
    /// A trainer of `supernet` over `train_ids` of `data`, keeping the compiled steps of the
    /// last `cache` paths (at least 1).
    pub fn new(
        gpu: &Arc<Gpu>,
        supernet: S,
        data: &Arc<DeviceDataset>,
        train_ids: Vec<u32>,
        config: TrainConfig,
        cache: usize,
    ) -> Result<SharedTrainer<S>, AutogradError> {
        Ok(SharedTrainer {
            gpu: gpu.clone(),
            supernet,
            feed: StepFeed::new(gpu, data, train_ids, config)?,
            velocities: HashMap::new(),
            plans: Vec::new(),
            cache: cache.max(1),
        })
    }

    pub fn config(&self) -> &TrainConfig {
        &self.feed.config
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.feed.steps_per_epoch()
    }

    /// Reshuffles the training order for `epoch` and zeroes the epoch metrics.
    pub fn begin_epoch(&mut self, epoch: usize) {
        self.feed.begin_epoch(epoch);
    }

    /// Step `index` of the epoch on `path`: compiles the path's step unless it is cached, then
    /// writes the cursor and learning rate and submits it once.
    pub fn step(&mut self, path: &S::Path, index: usize) -> Result<(), AutogradError> {
        let at = match self.plans.iter().position(|(p, _)| p == path) {
            Some(at) => at,
            None => {
                let plan = self.compile(path)?;
                if self.plans.len() == self.cache {
                    self.plans.pop();
                }
                self.plans.push((path.clone(), plan));
                self.plans.len() - 1
            }
        };
        let entry = self.plans.remove(at);
        self.plans.insert(0, entry);
        self.feed.prepare_step(index);
        self.plans[0].1.run_all()?;
        Ok(())
    }

    /// Paths whose compiled steps are cached, most recent first.
    pub fn cached_paths(&self) -> impl Iterator<Item = &S::Path> {
        self.plans.iter().map(|(p, _)| p)
    }

    /// The momentum buffer of shared parameter `name`, once a compiled path has trained it.
    pub fn momentum(&self, name: &str) -> Option<&Tensor> {
        self.velocities.get(name)
    }

    /// Momentum buffers held: one per shared parameter some compiled path trains.
    pub fn momenta(&self) -> usize {
        self.velocities.len()
    }

    /// Every momentum buffer, by parameter name, in name order (for a checkpoint).
    pub fn momentum_buffers(&self) -> Vec<(&str, &Tensor)> {
        let mut all: Vec<(&str, &Tensor)> = self
            .velocities
            .iter()
            .map(|(name, t)| (name.as_str(), t))
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }

    /// Restores the momentum of shared parameter `name` from a checkpoint. Only before the
    /// first step: compiled plans hold the buffers they were compiled with.
    pub fn restore_momentum(&mut self, name: &str, values: &[f32]) -> Result<(), String> {
        if !self.plans.is_empty() {
            return Err("momentum restored after a path was compiled".into());
        }
        let param = self
            .supernet
            .shared_parameters()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("'{name}' is not a shared parameter of the supernet"))?;
        let shape = param.tensor.shape().to_vec();
        if values.len() != crate::tensor::numel(&shape) {
            return Err(format!(
                "momentum of '{name}' holds {} values, the parameter {shape:?}",
                values.len()
            ));
        }
        let v = Tensor::from_f32(&self.gpu, &shape, values).map_err(|e| e.to_string())?;
        self.velocities.insert(name.to_string(), v);
        Ok(())
    }

    /// Loss and accuracy accumulated since `begin_epoch` (waits for the GPU).
    pub fn read_metrics(&self) -> Result<Metrics, DeviceError> {
        self.feed.read_metrics()
    }

    fn compile(&mut self, path: &S::Path) -> Result<Plan, AutogradError> {
        let mut g = Graph::new(&self.gpu);
        let (gpu, supernet, velocities) = (&self.gpu, &self.supernet, &mut self.velocities);
        let probe = record_step(
            &mut g,
            &self.feed,
            |g, b, images| supernet.forward_path(g, b, images, path, true),
            |param| match velocities.get(&param.name) {
                Some(v) => Ok(v.clone()),
                None => {
                    let v = Tensor::zeros(gpu, param.tensor.shape())?;
                    velocities.insert(param.name.clone(), v.clone());
                    Ok(v)
                }
            },
        )?;
        Plan::compile(&g, &probe)
    }
}
