//! Benchmark cases of the shifted subsampling that feeds a factorized reduction's second 1x1
//! conv (memory-bound: reported in GB/s), at the size of the shifted grouped conv case.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::subsample::{SubsampleSpec, subsample, subsample_backward};
use crate::tensor::Tensor;

pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let spec = SubsampleSpec {
        offset: [1, 1],
        stride: [2, 2],
    };
    let s = [64, 32, 32, 32];
    let [oh, ow] = spec.output_hw([s[2], s[3]]);
    let yshape = [s[0], s[1], oh, ow];
    let x = Tensor::full(gpu, &s, 0.5)?;
    let y = Tensor::zeros(gpu, &yshape)?;
    let dy = Tensor::full(gpu, &yshape, 1.0)?;
    let dx = Tensor::zeros(gpu, &s)?;
    let shape = format!("n{} c{} {}x{} offset 1 s2", s[0], s[1], s[2], s[3]);
    // Bytes moved: each output is one read (or none) and one write.
    let moved = |t: &Tensor| 2.0 * t.bytes() as f64;
    Ok(vec![
        BenchCase {
            kernel: "subsample".into(),
            shape: shape.clone(),
            flops: 0.0,
            bytes: moved(&y),
            launches: vec![subsample(gpu, &x, &y, spec)?],
            keep: vec![x, y],
        },
        BenchCase {
            kernel: "subsample_backward".into(),
            shape,
            flops: 0.0,
            bytes: moved(&dx),
            launches: vec![subsample_backward(gpu, &dy, &dx, spec)?],
            keep: vec![dy, dx],
        },
    ])
}
