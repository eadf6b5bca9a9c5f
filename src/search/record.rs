//! What a search records of each child: one line of `history.jsonl`.

use serde::{Deserialize, Serialize};

use super::space::Decisions;
use crate::nn::Architecture;

/// How a child's evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildStatus {
    /// Trained and validated.
    Ok,
    /// The device ran out of memory building or training it.
    OutOfMemory,
    /// The training loss became NaN or infinite.
    NanLoss,
    /// The architecture could not be built (shapes that do not fit).
    Invalid,
    /// Any other device or kernel failure.
    Failed,
}

/// One trained (or failed) child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildRecord {
    /// Position in the search, from 0.
    pub index: usize,
    /// Controller update this child was sampled for (random search: its batch).
    pub controller_step: usize,
    pub architecture: Architecture,
    /// The controller's choices, so the child can be reproduced and the controller replayed.
    pub decisions: Decisions,
    /// 0 for a failed child.
    pub reward: f64,
    /// Validation accuracy after each epoch.
    pub val_accuracy: Vec<f64>,
    pub parameters: usize,
    /// Forward FLOPs per image.
    pub flops: f64,
    pub train_seconds: f64,
    pub status: ChildStatus,
    /// What went wrong, for a failed child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reward of a finished child: (max validation accuracy over the last `window` epochs)^`power`.
pub fn reward(val_accuracy: &[f64], window: usize, power: f64) -> f64 {
    let start = val_accuracy.len().saturating_sub(window);
    let best = val_accuracy[start..].iter().copied().fold(0.0f64, f64::max);
    best.powf(power)
}
