//! Kernel benchmarking: cases per kernel family and the harness that times them.

mod case;
pub mod cases;

pub use case::BenchCase;
