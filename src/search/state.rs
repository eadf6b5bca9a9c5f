//! The resumable state of a search (`state.json`): where it is, the random generator, the
//! batch in flight, the strategy's own state (opaque here) and the run's cost.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::config::{RunConfig, SearchConfig, StrategyKind};
use super::cost::SearchCost;
use super::record::ChildRecord;
use super::run_dir::{HISTORY_FILE, STATE_FILE};
use super::space::{Rollout, Space};
use crate::util::SeededRng;

/// A proposed batch whose children are being evaluated. Saved before evaluation starts so a
/// resumed search evaluates the same architectures and the strategy can pick the batch up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingStep {
    pub step: usize,
    /// Index of the first child of this batch.
    pub first_child: usize,
    pub rollouts: Vec<Rollout>,
    /// What the strategy needs to resume the batch (a controller's uniform draws).
    pub replay: Vec<f32>,
}

/// Everything besides the history (and a strategy's checkpoint files) needed to continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchState {
    /// Format version, so an older run directory is refused clearly.
    pub version: u32,
    /// Batches fully evaluated and observed.
    pub step: usize,
    /// Children recorded in the history by completed batches.
    pub children_done: usize,
    /// The search's random generator, after the last proposed batch.
    pub rng: SeededRng,
    pub pending: Option<PendingStep>,
    /// The strategy's state as it saved it after the last completed batch.
    #[serde(default)]
    pub strategy: Json,
    /// The evaluator's state as it saved it after the update phase of the last proposed batch
    /// (a supernet's checkpoint; null for evaluators that keep nothing).
    #[serde(default)]
    pub evaluator: Json,
    /// Cost of the run up to the last state write, over every session.
    #[serde(default)]
    pub cost: SearchCost,
}

/// Current `state.json` format. Version 1 predates the search parts (REINFORCE's baseline and
/// checkpoint in the generic state, decisions as tokens and skip flags).
pub const STATE_VERSION: u32 = 2;

impl SearchState {
    pub fn new(seed: u64) -> SearchState {
        SearchState {
            version: STATE_VERSION,
            step: 0,
            children_done: 0,
            rng: crate::util::seeded_rng(seed),
            pending: None,
            strategy: Json::Null,
            evaluator: Json::Null,
            cost: SearchCost::default(),
        }
    }

    /// Whether the run is over: no batch in flight, and its budget or its time limit spent.
    pub fn finished(&self, run: &RunConfig) -> bool {
        self.pending.is_none()
            && (self.children_done >= run.budget || run.time_spent(self.cost.total_seconds))
    }

    /// Checks this state against the run's configuration, space and recorded history, so that
    /// an edited or damaged run directory is refused with the file and field at fault (the
    /// error is that file's name and a message) instead of failing later inside the loop.
    pub fn check(
        &self,
        config: &SearchConfig,
        space: &dyn Space,
        history: &[ChildRecord],
    ) -> Result<(), (&'static str, String)> {
        // Each history line was checked against the space when it was read (`run_dir`).
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
        if p.rollouts.is_empty() {
            return bad_state("pending.rollouts: empty".into());
        }
        let schema = space.schema(p.first_child);
        for (k, r) in p.rollouts.iter().enumerate() {
            let valid = match &schema {
                Some(s) => s.check(r),
                None => space.check(r),
            };
            if let Err(m) = valid {
                return bad_state(format!("pending.rollouts[{k}]: {m}"));
            }
        }
        let controller = matches!(
            config.run.strategy,
            StrategyKind::Reinforce | StrategyKind::Ppo
        );
        if let (true, Some(s)) = (controller, &schema) {
            let want = s.decisions() * p.rollouts.len();
            if p.replay.len() != want {
                return bad_state(format!(
                    "pending.replay: {} numbers, but the controller draws {want} for this step",
                    p.replay.len()
                ));
            }
        }
        let end = p.first_child + p.rollouts.len();
        if recorded > end {
            return Err((
                HISTORY_FILE,
                format!("holds {recorded} children, but state.json's step in flight ends at {end}"),
            ));
        }
        for (k, r) in history[p.first_child..].iter().enumerate() {
            if r.rollout != p.rollouts[k] {
                return Err((
                    HISTORY_FILE,
                    format!(
                        "line {}: rollout differs from state.json's pending.rollouts[{k}]",
                        p.first_child + k + 1
                    ),
                ));
            }
        }
        Ok(())
    }
}
