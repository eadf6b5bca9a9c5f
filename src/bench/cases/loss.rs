//! Benchmark cases of the loss kernels: softmax cross-entropy forward + backward at CIFAR-10
//! (K = 10, a row per invocation) and ImageNet-like (K = 1000, a workgroup per row) widths, and
//! the epoch-metrics accumulator.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::loss;
use crate::tensor::Tensor;

/// Softmax CE forward + backward at [128, 10] and [128, 1000]; metrics at [128, 10].
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let mut out = Vec::new();
    for (n, k) in [(128usize, 10usize), (128, 1000)] {
        let logits = Tensor::full(gpu, &[n, k], 0.25)?;
        let labels = Tensor::from_u32(
            gpu,
            &[n],
            &(0..n as u32).map(|i| i % k as u32).collect::<Vec<_>>(),
        )?;
        let probs = Tensor::zeros(gpu, &[n, k])?;
        let losses = Tensor::zeros(gpu, &[n])?;
        let dlosses = Tensor::full(gpu, &[n], 1.0 / n as f32)?;
        let dlogits = Tensor::zeros(gpu, &[n, k])?;
        let metrics = Tensor::zeros(gpu, &[3])?;
        let launches = vec![
            loss::softmax_cross_entropy_forward(gpu, &logits, &labels, &probs, &losses)?,
            loss::softmax_cross_entropy_backward(gpu, &probs, &labels, &dlosses, &dlogits)?,
        ];
        // logits, probs (twice), dlogits: the [N, K] traffic; labels and per-row values are small.
        let bytes = (4 * n * k * 4 + 4 * n * 4) as f64;
        out.push(BenchCase {
            kernel: "softmax_ce_fwd_bwd".into(),
            shape: format!("n{n} k{k}"),
            flops: 0.0,
            bytes,
            launches,
            keep: vec![
                logits.clone(),
                labels.clone(),
                probs,
                losses.clone(),
                dlosses,
                dlogits,
            ],
        });
        if k == 10 {
            out.push(BenchCase {
                kernel: "accumulate_metrics".into(),
                shape: format!("n{n} k{k}"),
                flops: 0.0,
                bytes: ((n * k + 2 * n) * 4) as f64,
                launches: vec![loss::accumulate_metrics(
                    gpu, &losses, &logits, &labels, &metrics,
                )?],
                keep: vec![logits, labels, losses, metrics],
            });
        }
    }
    Ok(out)
}
