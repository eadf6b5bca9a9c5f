//! Benchmark cases of the reduce kernels (memory-bound: reported in GB/s).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::reduce::{Reduction, reduce_axis, reduced_shape};
use crate::tensor::Tensor;

/// Bias-gradient shapes: a conv bias summed over batch*H*W rows of a [N*H*W, C] gradient, and
/// in NCHW as per-plane sums followed by a batch sum; a linear bias (sum over the batch); and a
/// 60,000-long vector (a dataset-sized sum).
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let shapes: [(&[usize], usize); 5] = [
        (&[64 * 32 * 32, 48], 0),
        (&[128 * 32 * 32, 64], 0),
        (&[64, 48, 32 * 32], 2),
        (&[128, 64], 0),
        (&[60_000], 0),
    ];
    let mut all = Vec::new();
    for (shape, axis) in shapes {
        let x = Tensor::full(gpu, shape, 0.5)?;
        let yshape = reduced_shape(shape, axis);
        let y = Tensor::zeros(gpu, &yshape)?;
        let n: usize = shape.iter().product();
        let m: usize = yshape.iter().product();
        all.push(BenchCase {
            kernel: "reduce_axis".into(),
            shape: format!("sum {shape:?} axis {axis}"),
            flops: n as f64,
            bytes: (4 * (n + m)) as f64,
            launches: reduce_axis(gpu, &x, axis, Reduction::Sum, &y)?,
            keep: vec![x, y],
        });
    }
    Ok(all)
}
