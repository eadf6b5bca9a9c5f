//! Learning-rate schedules over the whole run.

use serde::{Deserialize, Serialize};

/// How the learning rate changes over training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Half-cosine from the base rate to zero over all steps.
    Cosine,
    /// Divide by 10 at 50% and again at 75% of the steps.
    Step,
    /// The base rate throughout.
    Const,
}

impl Schedule {
    /// Learning rate at `step` (0-based) of `total` steps.
    pub fn rate(self, base: f32, step: usize, total: usize) -> f32 {
        let progress = step as f64 / total.max(1) as f64;
        let factor = match self {
            Schedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
            Schedule::Step if progress >= 0.75 => 0.01,
            Schedule::Step if progress >= 0.5 => 0.1,
            Schedule::Step | Schedule::Const => 1.0,
        };
        (base as f64 * factor) as f32
    }
}
