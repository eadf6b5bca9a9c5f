//! Benchmark cases of the controller's sampling kernels at controller sizes (batch 1..8, a
//! handful of choices per decision). They are dispatch-bound: the `fill n1` case beside them is
//! the cost of one minimal dispatch, submit and sync.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::{elementwise, sample};
use crate::tensor::Tensor;

/// Tempered softmax + categorical draw (one controller decision), batch 1 and 8, 6 choices; and
/// a one-element fill as the dispatch floor.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let k = 6;
    let one = Tensor::zeros(gpu, &[1])?;
    let mut out = vec![BenchCase {
        kernel: "fill".into(),
        shape: "n1 (dispatch floor)".into(),
        flops: 0.0,
        bytes: 4.0,
        launches: vec![elementwise::fill(gpu, &one, 0.0)?],
        keep: vec![one],
    }];
    for n in [1usize, 8] {
        let logits = Tensor::full(gpu, &[n, k], 0.1)?;
        let probs = Tensor::zeros(gpu, &[n, k])?;
        let uniforms = Tensor::full(gpu, &[n], 0.5)?;
        let draws = Tensor::from_u32(gpu, &[n], &vec![0; n])?;
        out.push(BenchCase {
            kernel: "categorical_sample".into(),
            shape: format!("n{n} k{k} (softmax_T + draw)"),
            flops: 0.0,
            bytes: ((2 * n * k + 2 * n) * 4) as f64,
            launches: vec![
                sample::softmax_with_temperature(gpu, &logits, 5.0, &probs)?,
                sample::categorical_sample(gpu, &probs, &uniforms, 0, &draws)?,
            ],
            keep: vec![logits, probs, uniforms, draws],
        });
    }
    Ok(out)
}
