//! REINFORCE (Williams 1992) for the NAS-RL controller (Zoph & Le 2017): after each batch of m
//! architectures, one Adam step on -(1/m) Σ_k (R_k - b) log P_k (minus the entropy bonus),
//! where b is the moving average of earlier rewards. Sampling, the baseline and checkpoints
//! are the controller machinery of `policy.rs`; this file is the update rule.

use super::policy::{ControllerStrategy, Policy, UpdateRule};
use crate::search::error::SearchError;
use crate::search::record::ChildRecord;

/// REINFORCE's update rule.
pub struct ReinforceRule;

/// The REINFORCE strategy.
pub type Reinforce = ControllerStrategy<ReinforceRule>;

impl UpdateRule for ReinforceRule {
    const NAME: &'static str = "reinforce";

    fn update(
        &self,
        policy: &mut Policy,
        batch: &[ChildRecord],
        baseline: f64,
    ) -> Result<String, SearchError> {
        let advantages: Vec<f32> = batch.iter().map(|r| (r.reward - baseline) as f32).collect();
        policy
            .controller
            .update(&advantages, policy.config.learning_rate)?;
        Ok(format!(
            "baseline {baseline:.4}, mean log P {:.2}",
            policy.mean_log_prob()
        ))
    }
}
