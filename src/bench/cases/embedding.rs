//! Benchmark cases of the embedding kernels at controller size (a vocabulary of decisions,
//! D = 35, batch 8): dispatch-bound like the rest of the controller.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::embedding;
use crate::tensor::Tensor;

/// Embedding forward + backward, V = 16, D = 35, N = 8.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let (v, d, n) = (16usize, 35usize, 8usize);
    let table = Tensor::full(gpu, &[v, d], 0.2)?;
    let ids = Tensor::from_u32(gpu, &[n], &(0..n as u32).map(|i| i % 3).collect::<Vec<_>>())?;
    let out = Tensor::zeros(gpu, &[n, d])?;
    let dtable = Tensor::zeros(gpu, &[v, d])?;
    Ok(vec![BenchCase {
        kernel: "embedding_fwd_bwd".into(),
        shape: format!("v{v} d{d} n{n}"),
        flops: 0.0,
        bytes: ((2 * n * d + 2 * v * d) * 4) as f64,
        launches: vec![
            embedding::embedding_forward(gpu, &table, &ids, &out)?,
            embedding::embedding_backward(gpu, &out, &ids, &dtable)?,
        ],
        keep: vec![table, ids, out, dtable],
    }])
}
