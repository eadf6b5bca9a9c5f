//! Kernel benchmarking: cases per kernel family, the device's ceilings, the timers, and the
//! report with its table and JSON forms. `nasgpu bench` and `cargo bench` both run `run_suite`.

mod case;
pub mod cases;
mod ceilings;

mod error;
mod report;
pub mod step;
mod suite;
pub mod table;
mod timestamps;
mod timing;

pub use crate::util::date::utc_string;
pub use case::BenchCase;
pub use ceilings::{CeilingKernels, Ceilings};
pub use error::BenchError;
pub use report::{AdapterSummary, Report, Row};
pub use suite::{BenchOptions, SuiteEvent, run_suite, run_suite_with, split_filters};
pub use timestamps::{
    MAX_TIMESTAMP_SAMPLES, TimestampSamples, sample_timestamps, sample_timestamps_of,
};
pub use timing::{
    Timer, TimerKind, Timing, choose_timer, sample_wall_clock, summarise, time_launches,
};
