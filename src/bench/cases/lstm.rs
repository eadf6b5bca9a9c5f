//! Benchmark cases of the fused LSTM cell at controller sizes (batch 1 and 8, H = 35): a few
//! hundred elements, so they measure dispatch cost rather than bandwidth.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::lstm;
use crate::tensor::Tensor;

/// LSTM cell forward and backward, batch 1 and 8, H = 35.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let h = 35;
    let mut out = Vec::new();
    for b in [1usize, 8] {
        let gates = Tensor::full(gpu, &[b, 4 * h], 0.3)?;
        let c_prev = Tensor::full(gpu, &[b, h], 0.1)?;
        let act = Tensor::zeros(gpu, &[b, 4 * h])?;
        let c = Tensor::zeros(gpu, &[b, h])?;
        let hs = Tensor::zeros(gpu, &[b, h])?;
        let dh = Tensor::full(gpu, &[b, h], 1.0)?;
        let dc = Tensor::full(gpu, &[b, h], 0.5)?;
        let dgates = Tensor::zeros(gpu, &[b, 4 * h])?;
        let dc_prev = Tensor::zeros(gpu, &[b, h])?;
        let label = format!("b{b} h{h}");
        out.push(BenchCase {
            kernel: "lstm_cell_forward".into(),
            shape: label.clone(),
            flops: 0.0,
            // read gates, c_prev; write act, c, h
            bytes: ((8 * b * h + 3 * b * h) * 4) as f64,
            launches: vec![lstm::lstm_cell_forward(
                gpu, &gates, &c_prev, &act, &c, &hs,
            )?],
            keep: vec![gates, c_prev.clone(), hs],
        });
        out.push(BenchCase {
            kernel: "lstm_cell_backward".into(),
            shape: label,
            flops: 0.0,
            // read act, c_prev, c, dh, dc; write dgates, dc_prev
            bytes: ((8 * b * h + 5 * b * h) * 4) as f64,
            launches: vec![lstm::lstm_cell_backward(
                gpu,
                &act,
                &c_prev,
                &c,
                &dh,
                Some(&dc),
                &dgates,
                &dc_prev,
            )?],
            keep: vec![act, c_prev, c, dh, dc, dgates, dc_prev],
        });
    }
    Ok(out)
}
