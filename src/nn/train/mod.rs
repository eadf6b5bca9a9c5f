//! Training: planned steps, evaluation, schedules and on-device metrics.

mod batch;
mod darts;
mod darts_unrolled;
mod evaluator;
mod feed;
mod metrics;
mod schedule;
mod shared;
mod trainer;

pub use batch::{BatchSource, gather};
pub use darts::{ArchConfig, ArchOrder, DartsTrainer};
pub use darts_unrolled::{HVP_RADIUS, UnrolledArch};
pub use evaluator::Evaluator;
pub use feed::StepFeed;
pub use metrics::{Metrics, MetricsTensor};
pub use schedule::Schedule;
pub use shared::SharedTrainer;
pub use trainer::{StepReport, TrainConfig, Trainer};
