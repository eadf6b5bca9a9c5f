//! Benchmark cases, one file per kernel family, plus the launchers of the ceiling kernels.

use std::sync::Arc;

use super::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;

pub mod batchnorm;
pub mod ceilings;
pub mod concat;
pub mod conv2d;
pub mod conv2d_grouped;
pub mod elementwise;
pub mod embedding;
pub mod gather;
pub mod loss;
pub mod lstm;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod sample;
pub mod subsample;
pub mod weighted_sum;

/// A family's case builder.
pub type Family = fn(&Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError>;

/// Every family, in table order.
pub const FAMILIES: &[Family] = &[
    matmul::cases,
    conv2d::cases,
    conv2d_grouped::cases,
    pool::cases,
    subsample::cases,
    batchnorm::cases,
    elementwise::cases,
    concat::cases,
    weighted_sum::cases,
    reduce::cases,
    loss::cases,
    optim::cases,
    sample::cases,
    lstm::cases,
    embedding::cases,
    gather::cases,
];

/// Every family's cases, in table order.
pub fn all_cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let mut all = Vec::new();
    for family in FAMILIES.iter() {
        all.extend(family(gpu)?);
    }
    Ok(all)
}
