//! Benchmark cases of the batchnorm kernels (memory-bound: reported in GB/s).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::batchnorm::{
    BatchNormSpec, batch_norm_backward, batch_norm_inference, batch_norm_train_forward,
};
use crate::tensor::Tensor;

/// Training forward, backward and inference at NAS sizes (batch 64/128, 48/64 channels,
/// 32x32/28x28). Bytes count each full-size operand once (x and y; dy, x and dx), although the
/// training forward reads x twice (statistics, then normalisation) and the backward reads dy
/// and x twice.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let spec = BatchNormSpec::default();
    let mut all = Vec::new();
    for s in [[64usize, 48, 32, 32], [128, 64, 28, 28]] {
        let n: usize = s.iter().product();
        let c = [s[1]];
        let x = Tensor::full(gpu, &s, 0.5)?;
        let y = Tensor::zeros(gpu, &s)?;
        let dy = Tensor::full(gpu, &s, 1.0)?;
        let dx = Tensor::zeros(gpu, &s)?;
        let per_channel: Vec<Tensor> = (0..8)
            .map(|_| Tensor::full(gpu, &c, 1.0))
            .collect::<Result<_, _>>()?;
        let [gamma, beta, rm, rv, mean, invstd, dgamma, dbeta] = &per_channel[..] else {
            unreachable!("eight per-channel tensors")
        };
        let label = format!("n{} c{} {}x{}", s[0], s[1], s[2], s[3]);
        let mut keep = vec![x.clone(), y.clone(), dy.clone(), dx.clone()];
        keep.extend(per_channel.iter().cloned());
        let train = batch_norm_train_forward(gpu, &x, gamma, beta, rm, rv, &y, mean, invstd, spec)?;
        all.push(BenchCase {
            kernel: "batch_norm_train_forward".into(),
            shape: label.clone(),
            flops: 0.0,
            bytes: (8 * n) as f64,
            launches: train,
            keep: keep.clone(),
        });
        all.push(BenchCase {
            kernel: "batch_norm_backward".into(),
            shape: label.clone(),
            flops: 0.0,
            bytes: (12 * n) as f64,
            launches: batch_norm_backward(gpu, &dy, &x, gamma, mean, invstd, &dx, dgamma, dbeta)?,
            keep: keep.clone(),
        });
        all.push(BenchCase {
            kernel: "batch_norm_inference".into(),
            shape: label,
            flops: 0.0,
            bytes: (8 * n) as f64,
            launches: vec![batch_norm_inference(
                gpu, &x, gamma, beta, rm, rv, &y, spec,
            )?],
            keep,
        });
    }
    Ok(all)
}
