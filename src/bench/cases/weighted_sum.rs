//! Benchmark cases of the weighted-sum kernels (memory-bound: GB/s): the DARTS mixed op of 7
//! present operands out of 8 coefficients (`none` absent) and the ENAS masked node of 4 inputs,
//! at batch 64 with 16 channels at 32x32 and 64 at 16x16, forward and both gradients.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::weighted_sum::{
    Coefficients, weighted_sum, weighted_sum_backward_alpha, weighted_sum_backward_terms,
};
use crate::tensor::{DType, Tensor};

const SHAPES: [[usize; 4]; 2] = [[64, 16, 32, 32], [64, 64, 16, 16]];

/// The weighted-sum cases of the `nasgpu bench` table.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let mut out = Vec::new();
    for s in SHAPES {
        let label = format!("n{} c{} {}x{}", s[0], s[1], s[2], s[3]);
        let bytes = (s.iter().product::<usize>() * 4) as f64;
        // DARTS: 8 coefficients, operand 0 (`none`) absent.
        let xs: Vec<Tensor> = (0..7)
            .map(|i| Tensor::full(gpu, &s, 0.1 * i as f32))
            .collect::<Result<_, _>>()?;
        let terms: Vec<(usize, &Tensor)> = (1..8).zip(&xs).collect();
        let alpha = Tensor::full(gpu, &[8], 0.0)?;
        let y = Tensor::zeros(gpu, &s)?;
        let dy = Tensor::full(gpu, &s, 1.0)?;
        let dxs: Vec<Tensor> = (0..7)
            .map(|_| Tensor::zeros(gpu, &s))
            .collect::<Result<_, _>>()?;
        let grads: Vec<(usize, &Tensor)> = (1..8).zip(&dxs).collect();
        let dalpha = Tensor::zeros(gpu, &[8])?;
        let soft = Coefficients::Softmax(&alpha);
        let mut keep: Vec<Tensor> = xs.clone();
        keep.extend(dxs.iter().cloned());
        keep.extend([alpha.clone(), y.clone(), dy.clone(), dalpha.clone()]);
        let flops = 2.0 * 7.0 * s.iter().product::<usize>() as f64;
        out.push(BenchCase {
            kernel: "weighted_sum_softmax".into(),
            shape: format!("{label} 7 of 8"),
            flops,
            bytes: 8.0 * bytes,
            launches: weighted_sum(gpu, soft, &terms, &y)?,
            keep: keep.clone(),
        });
        out.push(BenchCase {
            kernel: "weighted_sum_backward_terms".into(),
            shape: format!("{label} 7 of 8"),
            flops: flops / 2.0,
            bytes: 8.0 * bytes,
            launches: weighted_sum_backward_terms(gpu, soft, &dy, &grads)?,
            keep: keep.clone(),
        });
        out.push(BenchCase {
            kernel: "weighted_sum_backward_alpha".into(),
            shape: format!("{label} 7 of 8"),
            flops,
            bytes: 8.0 * bytes,
            launches: weighted_sum_backward_alpha(gpu, &alpha, &dy, &terms, &dalpha)?,
            keep,
        });
        // ENAS: a node summing the chosen ones of 4 earlier layers.
        let mask = Tensor::from_u32(gpu, &[4], &[1, 0, 1, 1])?;
        debug_assert_eq!(mask.dtype(), DType::U32);
        let four: Vec<(usize, &Tensor)> = (0..4).zip(&xs).collect();
        let mut keep: Vec<Tensor> = xs[..4].to_vec();
        keep.extend([mask.clone(), y.clone()]);
        out.push(BenchCase {
            kernel: "masked_sum".into(),
            shape: format!("{label} 4 inputs"),
            flops: 2.0 * 4.0 * s.iter().product::<usize>() as f64,
            bytes: 5.0 * bytes,
            launches: weighted_sum(gpu, Coefficients::Mask(&mask), &four, &y)?,
            keep,
        });
    }
    Ok(out)
}
