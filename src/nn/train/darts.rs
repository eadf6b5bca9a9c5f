//! First-order DARTS (Liu et al. 2019) on a mixed supernet (`MixedSupernet`: the NAS-Bench-201
//! cell, the DARTS cells): architecture weights alpha (one row per edge) mix every edge's
//! operations, and training alternates two steps, each compiled
//! once into its own plan (the mixed graph is the same every step, so nothing is recompiled):
//! - the weight step: the mixed forward on a training batch, cross-entropy, backward and
//!   SGD-Nesterov on the shared weights; alpha is an input and stays as it is;
//! - the architecture step: the mixed forward on a validation batch, the gradient to alpha only
//!   (the shared weights are inputs, so no weight gradient is computed) and Adam on alpha.
//!
//! First order means alpha follows dL_val/dalpha at the current weights, the DARTS paper's
//! xi = 0 variant; `ArchOrder::Second` takes the unrolled gradient through one virtual weight
//! step instead (`darts_unrolled.rs`).

use std::sync::Arc;

use super::batch::gather;
use super::darts_unrolled::{UnrolledArch, UnrolledInputs};
use super::feed::StepFeed;
use super::metrics::Metrics;
use super::schedule::Schedule;
use super::trainer::{TrainConfig, record_step};
use crate::autograd::ops::{Update, accumulate_metrics, apply_update, cross_entropy_mean};
use crate::autograd::{AutogradError, Graph, Plan, Value};
use crate::data::DeviceDataset;
use crate::device::{DeviceError, Gpu};
use crate::kernels::optim::AdamSpec;
use crate::nn::param::Binder;
use crate::nn::supernet::{ArchWeights, MixedSupernet};
use crate::tensor::Tensor;

/// Hyper-parameters of the architecture step (DARTS's defaults, which NAS-Bench-201's DARTS
/// baseline keeps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchConfig {
    pub learning_rate: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// L2 on alpha, added to its gradient (torch's Adam `weight_decay`, as DARTS uses it).
    pub weight_decay: f32,
    /// First-order (alpha gradient at the current weights) or second-order (unrolled) DARTS.
    pub order: ArchOrder,
}

/// Which architecture gradient DARTS follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchOrder {
    /// dL_val(w, alpha)/dalpha (DARTS's xi = 0).
    #[default]
    First,
    /// The gradient of L_val(w', alpha) through one virtual SGD step w' of the weights at the
    /// weight step's rate, with a finite-difference Hessian-vector product (DARTS's xi = lr).
    Second,
}

impl Default for ArchConfig {
    fn default() -> ArchConfig {
        ArchConfig {
            learning_rate: 3e-4,
            beta1: 0.5,
            beta2: 0.999,
            weight_decay: 1e-3,
            order: ArchOrder::First,
        }
    }
}

/// Salt of the validation order's seed, so both halves are not shuffled alike.
const VALID_SEED_SALT: u64 = 0xDA27_5A17_0000_0001;

/// Alternating DARTS training of a mixed supernet and its alpha.
pub struct DartsTrainer<S: MixedSupernet> {
    pub supernet: S,
    pub alpha: ArchWeights,
    /// Training batches, the SGD step's rate and the training metrics.
    pub train_feed: StepFeed,
    /// Validation batches, Adam's rate and step count, and the validation metrics.
    pub valid_feed: StepFeed,
    /// Adam's moments of alpha.
    adam: (Tensor, Tensor),
    /// Momentum of each shared parameter, by name, in binding order.
    velocities: Vec<(String, Tensor)>,
    weight_plan: Plan,
    arch_plan: Plan,
    /// The architecture step's mean validation loss and its gradient to alpha.
    arch_probe: [Value; 2],
    /// The second-order step, when `ArchConfig::order` asks for it (then `arch_plan` is the
    /// first-order step, compiled but not run).
    unrolled: Option<UnrolledArch>,
}

impl<S: MixedSupernet> DartsTrainer<S> {
    /// Compiles both steps of `supernet` with architecture weights `alpha`: weight steps over
    /// `train_ids`, architecture steps over `valid_ids` of `data`, both in batches of
    /// `config.batch` (the validation order is shuffled from a seed derived from `config.seed`).
    pub fn new(
        gpu: &Arc<Gpu>,
        supernet: S,
        alpha: ArchWeights,
        data: &Arc<DeviceDataset>,
        (train_ids, valid_ids): (Vec<u32>, Vec<u32>),
        config: TrainConfig,
        arch: ArchConfig,
    ) -> Result<DartsTrainer<S>, AutogradError> {
        if alpha.shape() != supernet.alpha_shape() {
            return Err(AutogradError::Backward {
                message: format!(
                    "architecture weights are {:?}, the supernet mixes {:?} (edges x operations)",
                    alpha.shape(),
                    supernet.alpha_shape()
                ),
            });
        }
        let valid_config = TrainConfig {
            learning_rate: arch.learning_rate,
            schedule: Schedule::Const,
            momentum: 0.0,
            nesterov: false,
            // Unused: the validation feed drives Adam, whose decay is in its spec.
            weight_decay: 0.0,
            seed: config.seed ^ VALID_SEED_SALT,
            ..config.clone()
        };
        let train_feed = StepFeed::new(gpu, data, train_ids, config)?;
        let valid_feed = StepFeed::new(gpu, data, valid_ids, valid_config)?;
        let adam = (
            Tensor::zeros(gpu, alpha.tensor.shape())?,
            Tensor::zeros(gpu, alpha.tensor.shape())?,
        );

        let mut g = Graph::new(gpu);
        let mut velocities = Vec::new();
        let probe = record_step(
            &mut g,
            &train_feed,
            |g, b, images| {
                let a = g.input(&alpha.tensor, "alpha");
                supernet.forward_mixed(g, b, images, a, true)
            },
            |param| {
                let v = Tensor::zeros(gpu, param.tensor.shape())?;
                velocities.push((param.name.clone(), v.clone()));
                Ok(v)
            },
        )?;
        let weight_plan = Plan::compile(&g, &probe)?;

        let mut g = Graph::new(gpu);
        let spec = AdamSpec {
            beta1: arch.beta1,
            beta2: arch.beta2,
            eps: 1e-8,
            weight_decay: arch.weight_decay,
        };
        let arch_probe = record_arch_step(&mut g, &supernet, &alpha.tensor, &valid_feed)?;
        let [_, dalpha] = arch_probe;
        let (m, v) = adam.clone();
        apply_update(
            &mut g,
            &alpha.tensor,
            dalpha,
            &valid_feed.scalars,
            Update::Adam { m, v, spec },
        );
        let arch_plan = Plan::compile(&g, &arch_probe)?;
        let unrolled = match arch.order {
            ArchOrder::First => None,
            ArchOrder::Second => Some(UnrolledArch::new(
                gpu,
                UnrolledInputs {
                    supernet: &supernet,
                    alpha: &alpha,
                    train_feed: &train_feed,
                    valid_feed: &valid_feed,
                    velocities: &velocities,
                    adam: (adam.0.clone(), adam.1.clone(), spec),
                },
            )?),
        };
        Ok(DartsTrainer {
            supernet,
            alpha,
            train_feed,
            valid_feed,
            adam,
            velocities,
            weight_plan,
            arch_plan,
            arch_probe,
            unrolled,
        })
    }

    /// Alternating steps per epoch: as many as the smaller half fills.
    pub fn steps_per_epoch(&self) -> usize {
        self.train_feed
            .steps_per_epoch()
            .min(self.valid_feed.steps_per_epoch())
    }

    /// Reshuffles both halves for `epoch` and zeroes both sets of metrics.
    pub fn begin_epoch(&mut self, epoch: usize) {
        self.train_feed.begin_epoch(epoch);
        self.valid_feed.begin_epoch(epoch);
    }

    /// Step `index` of the epoch: a weight step on training batch `index`, then an
    /// architecture step on validation batch `index` (two submits). Second order takes the
    /// architecture step first, as DARTS's search loop does, so its virtual step is the weight
    /// step that follows (same batch, rate and momentum).
    pub fn step(&mut self, index: usize) -> Result<(), DeviceError> {
        if self.unrolled.is_some() {
            self.arch_step(index)?;
            return self.weight_step(index);
        }
        self.weight_step(index)?;
        self.arch_step(index)
    }

    /// The weight step on training batch `index` of the epoch (alpha unchanged).
    pub fn weight_step(&mut self, index: usize) -> Result<(), DeviceError> {
        self.train_feed.prepare_step(index);
        self.weight_plan.run_all()
    }

    /// The architecture step on validation batch `index` of the epoch (weights unchanged,
    /// batch-norm running statistics updated as in every training-mode forward).
    /// Second order also reads training batch `index` at the coming weight step's rate (the
    /// training feed's schedule does not advance) and submits its three plans at once.
    pub fn arch_step(&mut self, index: usize) -> Result<(), DeviceError> {
        self.valid_feed.prepare_step(index);
        match &self.unrolled {
            None => self.arch_plan.run_all(),
            Some(u) => {
                self.train_feed.peek_step(index);
                u.run()
            }
        }
    }

    /// The last architecture step's gradient to alpha, before weight decay (its planned
    /// buffer: a test may poison it before the step); second order: the unrolled gradient.
    pub fn alpha_grad(&self) -> &Tensor {
        if let Some(u) = &self.unrolled {
            return u.grad();
        }
        self.arch_plan
            .tensor(self.arch_probe[1])
            .expect("probe values are kept")
    }

    /// The last architecture step's mean validation loss (its planned buffer); second order:
    /// at the virtual weights w'.
    pub fn arch_loss(&self) -> &Tensor {
        if let Some(u) = &self.unrolled {
            return u.valid_loss();
        }
        self.arch_plan
            .tensor(self.arch_probe[0])
            .expect("probe values are kept")
    }

    /// Bytes of every compiled plan: (planned activations and gradients after reuse, the
    /// same without reuse, kernel scratch).
    pub fn planned_bytes(&self) -> (u64, u64, u64) {
        let mut all = vec![self.weight_plan.stats(), self.arch_plan.stats()];
        if let Some(u) = &self.unrolled {
            all.extend(u.plan_stats());
        }
        all.iter().fold((0, 0, 0), |(p, u, s), st| {
            (
                p + st.planned_bytes,
                u + st.unplanned_bytes,
                s + st.scratch_bytes,
            )
        })
    }

    /// The second-order step's buffers (None in first order).
    pub fn unrolled(&self) -> Option<&UnrolledArch> {
        self.unrolled.as_ref()
    }

    /// Alpha read back, one row per edge (waits for the GPU).
    pub fn read_alpha(&self) -> Result<Vec<Vec<f32>>, DeviceError> {
        self.alpha.read()
    }

    /// The path alpha stands for now (waits for the GPU).
    pub fn genotype(&self) -> Result<S::Path, DeviceError> {
        Ok(self.supernet.derive(&self.alpha.read()?))
    }

    /// Adam's first and second moments of alpha.
    pub fn adam_moments(&self) -> (&Tensor, &Tensor) {
        (&self.adam.0, &self.adam.1)
    }

    /// Every shared parameter's momentum buffer, by name, in binding order.
    pub fn momentum_buffers(&self) -> &[(String, Tensor)] {
        &self.velocities
    }

    /// Training and validation loss and accuracy since `begin_epoch` (waits for the GPU).
    pub fn read_metrics(&self) -> Result<(Metrics, Metrics), DeviceError> {
        Ok((
            self.train_feed.read_metrics()?,
            self.valid_feed.read_metrics()?,
        ))
    }
}

/// Records the architecture step's forward and backward into `g`: a validation batch from
/// `feed`, the mixed forward with alpha a parameter and every shared weight an input (so the
/// backward computes activation gradients and alpha's, no weight gradients), the mean
/// cross-entropy and its metrics. Returns the loss and its gradient to alpha.
fn record_arch_step<S: MixedSupernet>(
    g: &mut Graph,
    supernet: &S,
    alpha: &Tensor,
    feed: &StepFeed,
) -> Result<[Value; 2], AutogradError> {
    let mut b = Binder::new();
    for p in supernet.shared_parameters() {
        let v = g.input(&p.tensor, &p.name);
        b.bind_to(p, v);
    }
    let (images, labels) = gather(g, &feed.source, feed.config.batch);
    let a = g.param(alpha, "alpha");
    let logits = supernet.forward_mixed(g, &mut b, images, a, true)?;
    let (loss, losses) = cross_entropy_mean(g, logits, labels)?;
    accumulate_metrics(g, losses, logits, labels, feed.metrics.tensor());
    g.backward(loss)?;
    let dalpha = g.grad(a).ok_or_else(|| AutogradError::Backward {
        message: "no gradient reached the architecture weights".into(),
    })?;
    Ok([loss, dalpha])
}
