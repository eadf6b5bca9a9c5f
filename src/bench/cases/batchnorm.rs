//! Benchmark cases of the batchnorm kernels.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;

/// The batchnorm cases of the `nasgpu bench` table.
pub fn cases(_gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    Ok(Vec::new())
}
