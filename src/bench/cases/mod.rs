//! Benchmark cases, one file per kernel family.

use std::sync::Arc;

use super::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;

pub mod batchnorm;
pub mod concat;
pub mod conv2d;
pub mod elementwise;
pub mod embedding;
pub mod loss;
pub mod lstm;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod sample;

/// Every family's cases, in table order.
pub fn all_cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let families: [fn(&Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError>; 12] = [
        matmul::cases,
        conv2d::cases,
        pool::cases,
        batchnorm::cases,
        elementwise::cases,
        concat::cases,
        reduce::cases,
        loss::cases,
        optim::cases,
        sample::cases,
        lstm::cases,
        embedding::cases,
    ];
    let mut all = Vec::new();
    for family in families {
        all.extend(family(gpu)?);
    }
    Ok(all)
}
