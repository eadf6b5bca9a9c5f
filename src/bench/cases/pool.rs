//! Benchmark cases of the pool kernels (memory-bound: reported in GB/s).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::pool::{
    Pool2dSpec, PoolKind, global_avg_pool_backward, global_avg_pool_forward, pool2d_backward,
    pool2d_forward,
};
use crate::tensor::{DType, Tensor};

/// NAS-sized activations: batch 64 with 48 channels at 32x32, batch 128 with 64 at 28x28.
const SHAPES: [[usize; 4]; 2] = [[64, 48, 32, 32], [128, 64, 28, 28]];

fn label(s: [usize; 4]) -> String {
    format!("n{} c{} {}x{}", s[0], s[1], s[2], s[3])
}

/// Forward and backward of one pooling spec on one shape.
fn spec_cases(
    gpu: &Arc<Gpu>,
    s: [usize; 4],
    spec: Pool2dSpec,
) -> Result<Vec<BenchCase>, KernelError> {
    let [oh, ow] = spec.output_hw([s[2], s[3]])?;
    let yshape = [s[0], s[1], oh, ow];
    let (n_in, n_out) = (
        s.iter().product::<usize>(),
        yshape.iter().product::<usize>(),
    );
    let x = Tensor::full(gpu, &s, 0.5)?;
    let y = Tensor::zeros(gpu, &yshape)?;
    let dy = Tensor::full(gpu, &yshape, 1.0)?;
    let dx = Tensor::zeros(gpu, &s)?;
    let argmax = match spec.kind {
        PoolKind::Max => Some(Tensor::empty(gpu, &yshape, DType::U32)?),
        PoolKind::Avg => None,
    };
    let fwd = pool2d_forward(gpu, &x, &y, argmax.as_ref(), spec)?;
    // Run the forward once so the backward sees real argmax indices.
    gpu.run(&[&fwd])?;
    let bwd = pool2d_backward(gpu, &dy, argmax.as_ref(), &dx, spec)?;
    let (kind, index_bytes) = match spec.kind {
        PoolKind::Max => ("max_pool", 4 * n_out),
        PoolKind::Avg => ("avg_pool", 0),
    };
    let shape = format!(
        "{} k{}x{} s{} {}",
        label(s),
        spec.kernel[0],
        spec.kernel[1],
        spec.stride[0],
        if spec.same_padding { "same" } else { "valid" }
    );
    let mut keep = vec![x, y, dy, dx];
    keep.extend(argmax);
    Ok(vec![
        BenchCase {
            kernel: format!("{kind}_forward"),
            shape: shape.clone(),
            flops: 0.0,
            bytes: (4 * (n_in + n_out) + index_bytes) as f64,
            launches: vec![fwd],
            keep: keep.clone(),
        },
        BenchCase {
            kernel: format!("{kind}_backward"),
            shape,
            flops: 0.0,
            bytes: (4 * (n_in + n_out) + index_bytes) as f64,
            launches: vec![bwd],
            keep,
        },
    ])
}

/// Max pooling 2x2 s2, 3x3 s2 and 3x3 s1, average pooling 3x3 s1 and s2 ("same", as in the
/// ENAS, DARTS and NAS-Bench-201 cells: stride 2 in reduction cells), and global average
/// pooling, forward and backward, on both shapes.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let spec = |kind, k, s, same| Pool2dSpec {
        kind,
        kernel: [k, k],
        stride: [s, s],
        same_padding: same,
    };
    let mut all = Vec::new();
    for s in SHAPES {
        for p in [
            spec(PoolKind::Max, 2, 2, false),
            spec(PoolKind::Max, 3, 2, true),
            spec(PoolKind::Max, 3, 1, true),
            spec(PoolKind::Avg, 3, 1, true),
            spec(PoolKind::Avg, 3, 2, true),
        ] {
            all.extend(spec_cases(gpu, s, p)?);
        }
        let n: usize = s.iter().product();
        let x = Tensor::full(gpu, &s, 0.5)?;
        let y = Tensor::zeros(gpu, &s[..2])?;
        let dx = Tensor::zeros(gpu, &s)?;
        let bytes = (4 * (n + s[0] * s[1])) as f64;
        all.push(BenchCase {
            kernel: "global_avg_pool_forward".into(),
            shape: label(s),
            flops: 0.0,
            bytes,
            launches: vec![global_avg_pool_forward(gpu, &x, &y)?],
            keep: vec![x.clone(), y.clone()],
        });
        all.push(BenchCase {
            kernel: "global_avg_pool_backward".into(),
            shape: label(s),
            flops: 0.0,
            bytes,
            launches: vec![global_avg_pool_backward(gpu, &y, &dx)?],
            keep: vec![y, dx],
        });
    }
    Ok(all)
}
