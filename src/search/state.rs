//! The resumable state of a search (`state.json`): where it is, the baseline, the random
//! generator, and the step in flight.

use serde::{Deserialize, Serialize};

use super::config::{SearchConfig, Strategy};
use super::controller::draws;
use super::cost::SearchCost;
use super::record::ChildRecord;
use super::run_dir::{HISTORY_FILE, STATE_FILE};
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
    /// Cost of the run up to the last state write, over every session (absent in older runs).
    #[serde(default)]
    pub cost: SearchCost,
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
            cost: SearchCost::default(),
        }
    }

    /// Checks this state against the run's configuration and recorded history, so that an
    /// edited or damaged run directory is refused with the file and field at fault (the error
    /// is that file's name and a message) instead of failing later inside the search loop.
    pub fn check(
        &self,
        config: &SearchConfig,
        history: &[ChildRecord],
    ) -> Result<(), (&'static str, String)> {
        let recorded = history.len();
        // Children recorded after the last state write belong to the pending step: keep them.
        if recorded < self.children_done {
            return Err((
                HISTORY_FILE,
                format!(
                    "holds {recorded} children but state.json counts {}",
                    self.children_done
                ),
            ));
        }
        let Some(p) = &self.pending else {
            if recorded > self.children_done {
                return Err((
                    HISTORY_FILE,
                    format!(
                        "holds {recorded} children but state.json counts {} and has no step in flight",
                        self.children_done
                    ),
                ));
            }
            return Ok(());
        };
        let bad_state = |message: String| Err((STATE_FILE, message));
        if p.step != self.step {
            return bad_state(format!(
                "pending.step: {} but step is {}",
                p.step, self.step
            ));
        }
        if p.first_child != self.children_done {
            return bad_state(format!(
                "pending.first_child: {} but children_done is {}",
                p.first_child, self.children_done
            ));
        }
        if p.decisions.is_empty() {
            return bad_state("pending.decisions: empty".into());
        }
        let depth = config.space.depth_after(p.first_child);
        for (k, d) in p.decisions.iter().enumerate() {
            if let Err(m) = config.space.check_decisions(d, depth) {
                return bad_state(format!("pending.decisions[{k}]: {m}"));
            }
        }
        let want = draws(&config.space, depth, p.decisions.len());
        if config.run.strategy == Strategy::Reinforce && p.uniforms.len() != want {
            return bad_state(format!(
                "pending.uniforms: {} numbers, but the controller draws {want} for this step",
                p.uniforms.len()
            ));
        }
        let end = p.first_child + p.decisions.len();
        if recorded > end {
            return Err((
                HISTORY_FILE,
                format!("holds {recorded} children, but state.json's step in flight ends at {end}"),
            ));
        }
        for (k, r) in history[p.first_child..].iter().enumerate() {
            if r.decisions != p.decisions[k] {
                return Err((
                    HISTORY_FILE,
                    format!(
                        "line {}: decisions differ from state.json's pending.decisions[{k}]",
                        p.first_child + k + 1
                    ),
                ));
            }
        }
        Ok(())
    }
}
