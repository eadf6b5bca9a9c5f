//! What a search records of each child: one line of `history.jsonl`.

use serde::{Deserialize, Serialize};

use super::space::Rollout;
use crate::nn::Architecture;

/// How a child's evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildStatus {
    /// Trained (or looked up) and validated.
    Ok,
    /// Successive halving stopped it at a rung: its curve is partial.
    Eliminated,
    /// Its validation accuracy stopped improving for `patience` epochs: its curve is partial.
    EarlyStopped,
    /// The device ran out of memory building or training it.
    OutOfMemory,
    /// The training loss became NaN or infinite.
    NanLoss,
    /// The architecture could not be built (shapes that do not fit).
    Invalid,
    /// Any other device or kernel failure.
    Failed,
}

impl ChildStatus {
    /// Whether the child failed (no usable measurement, reward 0).
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            ChildStatus::Ok | ChildStatus::Eliminated | ChildStatus::EarlyStopped
        )
    }
}

/// Inference latency of a trained child on the device that trained it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median milliseconds of one forward pass of a single image.
    pub batch1_ms: f64,
    /// Median milliseconds of one forward pass of `batch` images.
    pub batch_ms: f64,
    pub batch: usize,
    /// Forward passes timed for each median.
    pub passes: usize,
    /// Whether GPU timestamps (rather than the wall clock around a sync) timed them.
    pub gpu_timestamps: bool,
}

/// One evaluated (or failed) child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildRecord {
    /// Position in the search, from 0.
    pub index: usize,
    /// Strategy step (batch of proposals) this child belongs to.
    pub controller_step: usize,
    pub architecture: Architecture,
    /// The space's decisions, so the child can be reproduced and a controller replayed.
    pub rollout: Rollout,
    /// The space's canonical name of the architecture.
    pub canonical: String,
    /// The objective's value; 0 for a failed child.
    pub reward: f64,
    /// Validation accuracy after each epoch (a table's metric for a looked-up child).
    pub val_accuracy: Vec<f64>,
    pub parameters: usize,
    /// Forward FLOPs per image.
    pub flops: f64,
    /// Training seconds (a table's simulated cost for a looked-up child).
    pub train_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    pub status: ChildStatus,
    /// What went wrong, for a failed child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ChildRecord {
    /// Best validation accuracy reached (0 without any).
    pub fn best_accuracy(&self) -> f64 {
        self.val_accuracy.iter().copied().fold(0.0, f64::max)
    }
}
