//! Benchmark cases of the concat kernels (pure data movement: reported in GB/s).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::concat::{concat_output_shape, concat_padded_backward, concat_padded_forward};
use crate::tensor::Tensor;

/// A NAS skip connection joining three layers of mixed sizes and widths, batch 64 and 128.
/// Forward bytes: inputs read once, output (padding included) written once; backward: the
/// occupied part of dy read once, the gradients written once.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let mut all = Vec::new();
    for n in [64usize, 128] {
        let shapes = [[n, 48, 32, 32], [n, 48, 30, 30], [n, 64, 28, 28]];
        let slices: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        let out = concat_output_shape(&slices)?;
        let inputs: Vec<Tensor> = shapes
            .iter()
            .map(|s| Tensor::full(gpu, s, 0.5))
            .collect::<Result<_, _>>()?;
        let grads: Vec<Tensor> = shapes
            .iter()
            .map(|s| Tensor::zeros(gpu, s))
            .collect::<Result<_, _>>()?;
        let y = Tensor::zeros(gpu, &out)?;
        let in_elems: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        let out_elems: usize = out.iter().product();
        let label = format!("3 inputs n{n} -> c{} {}x{}", out[1], out[2], out[3]);
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let grad_refs: Vec<&Tensor> = grads.iter().collect();
        let mut keep = inputs.clone();
        keep.extend(grads.iter().cloned());
        keep.push(y.clone());
        all.push(BenchCase {
            kernel: "concat_padded_forward".into(),
            shape: label.clone(),
            flops: 0.0,
            bytes: (4 * (in_elems + out_elems)) as f64,
            launches: concat_padded_forward(gpu, &refs, &y)?,
            keep: keep.clone(),
        });
        all.push(BenchCase {
            kernel: "concat_padded_backward".into(),
            shape: label,
            flops: 0.0,
            bytes: (8 * in_elems) as f64,
            launches: concat_padded_backward(gpu, &y, &grad_refs)?,
            keep,
        });
    }
    Ok(all)
}
