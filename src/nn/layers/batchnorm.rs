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
}
