//! Benchmark cases of the elementwise kernels (memory-bound: reported in GB/s).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::elementwise::{self, Binary, Unary};
use crate::tensor::Tensor;

/// relu and add over NAS-sized activations (batch 64, 48 channels, 32x32).
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let shape = [64usize, 48, 32, 32];
    let n: usize = shape.iter().product();
    let a = Tensor::full(gpu, &shape, 0.5)?;
    let b = Tensor::full(gpu, &shape, -0.25)?;
    let c = Tensor::zeros(gpu, &shape)?;
    let label = "n64 c48 32x32".to_string();
    Ok(vec![
        BenchCase {
            kernel: "relu".into(),
            shape: label.clone(),
            flops: 0.0,
            bytes: (2 * n * 4) as f64,
            launches: vec![elementwise::unary(gpu, Unary::Relu, &a, &c)?],
            keep: vec![a.clone(), c.clone()],
        },
        BenchCase {
            kernel: "add".into(),
            shape: label,
            flops: 0.0,
            bytes: (3 * n * 4) as f64,
            launches: vec![elementwise::binary(gpu, Binary::Add, &a, &b, &c)?],
            keep: vec![a, b, c],
        },
    ])
}
