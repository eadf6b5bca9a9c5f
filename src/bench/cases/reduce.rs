//! Benchmark cases of the reduce kernels.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;

/// The reduce cases of the `nasgpu bench` table.
pub fn cases(_gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    Ok(Vec::new())
}
