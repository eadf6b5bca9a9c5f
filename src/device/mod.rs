//! The device layer: adapter choice, the opened `Gpu`, buffers, pipelines and launches.

mod adapter;
mod buffer_pool;
mod error;
mod gpu;
mod inline_twin;
mod launch;
mod memory_budget;
mod pipeline_cache;

pub use adapter::{ADAPTER_ENV, chosen_index, create_instance, describe, list_adapters};
pub use buffer_pool::{PooledBuffer, size_class};
pub use error::DeviceError;
pub use gpu::{CHECKED_ENV, DeviceOptions, Gpu, read_mapped};
pub use launch::{Binding, Launch, grid_1d};
pub use memory_budget::{MemoryBudget, bytes as estimated_bytes};
pub use pipeline_cache::{Access, KernelDef, Pipeline, Specialisation, specialise};
