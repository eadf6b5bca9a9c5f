//! Benchmark cases of the elementwise kernels.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;

/// The elementwise cases of the `nasgpu bench` table.
pub fn cases(_gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    Ok(Vec::new())
}
