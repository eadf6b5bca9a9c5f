//! Kernel benchmarking: cases per kernel family and the harness that times them.

mod case;
pub mod cases;
pub mod timing;

pub use case::BenchCase;
pub use timing::{Timing, summarise, time_wall_clock};
