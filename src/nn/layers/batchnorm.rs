//! BatchNorm2d (also for `[N, C]`): scale and shift per channel, running statistics for
//! evaluation.

use std::sync::Arc;

use crate::autograd::ops::RunningStats;
use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::batchnorm::BatchNormSpec;
use crate::nn::param::{Binder, Parameter};
use crate::tensor::Tensor;

pub struct BatchNorm2d {
    /// Prefix of its parameter and statistics names (`stage1.cell0.edge_0_1.bn`).
    pub name: String,
    pub gamma: Parameter,
    pub beta: Parameter,
    pub running: RunningStats,
    pub spec: BatchNormSpec,
}

/// PyTorch's defaults: eps 1e-5, momentum 0.1.
pub const DEFAULT_BATCH_NORM: BatchNormSpec = BatchNormSpec {
    eps: 1e-5,
    momentum: 0.1,
};

impl BatchNorm2d {
    pub fn new(gpu: &Arc<Gpu>, name: &str, channels: usize) -> Result<BatchNorm2d, DeviceError> {
        Ok(BatchNorm2d {
            name: name.to_string(),
            gamma: Parameter {
                name: format!("{name}.gamma"),
                tensor: Tensor::full(gpu, &[channels], 1.0)?,
                decay: false,
            },
            beta: Parameter {
                name: format!("{name}.beta"),
                tensor: Tensor::zeros(gpu, &[channels])?,
                decay: false,
            },
            running: RunningStats {
                mean: Tensor::zeros(gpu, &[channels])?,
                var: Tensor::full(gpu, &[channels], 1.0)?,
            },
            spec: DEFAULT_BATCH_NORM,
        })
    }

    /// Batch statistics (and a running-statistics update) when `train`, else running statistics.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let gamma = b.bind(g, &self.gamma);
        let beta = b.bind(g, &self.beta);
        if train {
            ops::batch_norm_train(g, x, gamma, beta, &self.running, self.spec)
        } else {
            ops::batch_norm_inference(g, x, gamma, beta, &self.running, self.spec)
        }
    }

    pub fn parameters(&self) -> Vec<&Parameter> {
        vec![&self.gamma, &self.beta]
    }

    /// Running mean and variance by name (`{name}.running_mean`, `{name}.running_var`): the
    /// non-trainable part of a weights file.
    pub fn running_state(&self) -> [(String, &Tensor); 2] {
        [
            (format!("{}.running_mean", self.name), &self.running.mean),
            (format!("{}.running_var", self.name), &self.running.var),
        ]
    }
}
