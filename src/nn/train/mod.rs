//! Training: planned steps, evaluation, schedules and on-device metrics.

mod batch;
mod evaluator;
mod metrics;
mod schedule;
mod trainer;

pub use batch::{BatchSource, gather};
pub use evaluator::Evaluator;
pub use metrics::{Metrics, MetricsTensor};
pub use schedule::Schedule;
pub use trainer::{StepReport, TrainConfig, Trainer};
