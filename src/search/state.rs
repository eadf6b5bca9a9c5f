//! The resumable state of a search (`state.json`): where it is, the baseline, the random
//! generator, and the step in flight.

use serde::{Deserialize, Serialize};

use super::space::Decisions;
use crate::util::SeededRng;

/// A sampled batch whose children are being trained. Saved before training starts so a resumed
/// search trains the same architectures and replays the controller with the same draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingStep {
    pub step: usize,
    /// Index of the first child of this batch.
    pub first_child: usize,
    pub decisions: Vec<Decisions>,
    /// The uniform numbers the controller sampled with (empty for random search).
    pub uniforms: Vec<f32>,
}

/// Everything besides the history and the controller weights needed to continue a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchState {
    /// Format version, so an old run directory is refused clearly.
    pub version: u32,
    /// Controller updates done (= batches fully trained).
    pub step: usize,
    /// Children recorded in the history.
    pub children_done: usize,
    /// Moving-average baseline; None before the first reward.
    pub baseline: Option<f64>,
    /// The search's random generator, after the last completed step.
    pub rng: SeededRng,
    pub pending: Option<PendingStep>,
    /// File name of the controller checkpoint for `step` (REINFORCE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_checkpoint: Option<String>,
}

/// Current `state.json` format.
pub const STATE_VERSION: u32 = 1;

impl SearchState {
    pub fn new(seed: u64) -> SearchState {
        SearchState {
            version: STATE_VERSION,
            step: 0,
            children_done: 0,
            baseline: None,
            rng: crate::util::seeded_rng(seed),
            pending: None,
            controller_checkpoint: None,
        }
    }
}
