//! Benchmark cases of the optimiser updates (memory-bound: reported in GB/s) at a NAS child's
//! size (300k parameters) and a large network's (5M).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::optim::{self, AdamSpec, SgdSpec, StepScalars};
use crate::tensor::Tensor;

/// SGD (momentum + Nesterov + weight decay) and Adam updates at 300k and 5M parameters.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let scalars = optim::step_scalars_tensor(gpu)?;
    optim::write_step_scalars(&scalars, StepScalars::new(1e-3, 10));
    let mut out = Vec::new();
    for n in [300_000usize, 5_000_000] {
        let param = Tensor::full(gpu, &[n], 0.5)?;
        let grad = Tensor::full(gpu, &[n], 0.01)?;
        let velocity = Tensor::zeros(gpu, &[n])?;
        let m = Tensor::zeros(gpu, &[n])?;
        let v = Tensor::zeros(gpu, &[n])?;
        let sgd = SgdSpec {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
        };
        let adam = AdamSpec {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        let label = format!("{}k params", n / 1000);
        out.push(BenchCase {
            kernel: "sgd_update".into(),
            shape: label.clone(),
            flops: 0.0,
            // read param, grad, velocity; write param, velocity
            bytes: (5 * n * 4) as f64,
            launches: vec![optim::sgd_update(
                gpu, &param, &grad, &velocity, &scalars, sgd,
            )?],
            keep: vec![param.clone(), grad.clone(), velocity, scalars.clone()],
        });
        out.push(BenchCase {
            kernel: "adam_update".into(),
            shape: label,
            flops: 0.0,
            // read param, grad, m, v; write param, m, v
            bytes: (7 * n * 4) as f64,
            launches: vec![optim::adam_update(
                gpu, &param, &grad, &m, &v, &scalars, adam,
            )?],
            keep: vec![param, grad, m, v, scalars.clone()],
        });
    }
    Ok(out)
}
