//! Loss and accuracy accumulated on the device (F32 [3]: loss sum, correct, count) and read
//! back only when needed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::device::{DeviceError, Gpu};
use crate::tensor::Tensor;

/// Averages over the samples seen since the last reset.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub loss: f64,
    pub accuracy: f64,
    pub samples: usize,
}

/// The device accumulator.
pub struct MetricsTensor {
    tensor: Tensor,
}

impl MetricsTensor {
    pub fn new(gpu: &Arc<Gpu>) -> Result<MetricsTensor, DeviceError> {
        Ok(MetricsTensor {
            tensor: Tensor::zeros(gpu, &[3])?,
        })
    }

    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }

    /// Zeroes the sums (rides along with the next submit).
    pub fn reset(&self) {
        self.tensor
            .gpu()
            .write_bytes(self.tensor.raw(), bytemuck::cast_slice(&[0f32; 3]));
    }

    /// Reads the sums back (waits for the GPU) and turns them into averages.
    pub fn read(&self) -> Result<Metrics, DeviceError> {
        let v = self.tensor.to_f32()?;
        let samples = v[2] as usize;
        let n = (samples as f64).max(1.0);
        Ok(Metrics {
            loss: v[0] as f64 / n,
            accuracy: v[1] as f64 / n,
            samples,
        })
    }
}
