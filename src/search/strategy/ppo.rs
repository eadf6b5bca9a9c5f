//! PPO (Schulman et al. 2017) for the NAS-RL controller, the strategy NASNet used (Zoph et al.
//! 2018): after each batch, `ppo.epochs` Adam steps on the clipped surrogate
//! -(1/m) Σ_k min(ρ_k A_k, clip(ρ_k, 1-ε, 1+ε) A_k), ρ_k = P_θ(a_k) / P_old(a_k), A_k = R_k - b,
//! over the same batch (minus the entropy bonus). Its gradient is -(1/m) Σ_k w_k ∇log P_θ(a_k)
//! with w_k = ρ_k A_k where the clip is inactive and 0 where it cuts, so each epoch evaluates
//! log P_θ of the batch on the device, forms w on the host and steps the controller's
//! weighted log-likelihood loss.

use super::policy::{ControllerStrategy, Policy, UpdateRule};
use crate::search::config::PpoConfig;
use crate::search::error::SearchError;
use crate::search::record::ChildRecord;

/// PPO's update rule: its epochs and clip.
pub struct PpoRule(pub PpoConfig);

/// The PPO strategy.
pub type Ppo = ControllerStrategy<PpoRule>;

/// The surrogate's weights w_k (see the module doc) for log-probabilities `new` and `old` and
/// advantages `a`, and the surrogate's value -(1/m) Σ min(ρA, clip(ρ)A).
pub fn surrogate_weights(new: &[f64], old: &[f64], a: &[f64], clip: f64) -> (Vec<f64>, f64) {
    let m = a.len() as f64;
    let mut loss = 0.0;
    let weights = new
        .iter()
        .zip(old)
        .zip(a)
        .map(|((&n, &o), &a)| {
            let ratio = (n - o).exp();
            let clipped = ratio.clamp(1.0 - clip, 1.0 + clip);
            loss -= (ratio * a).min(clipped * a) / m;
            let cut = (a > 0.0 && ratio > 1.0 + clip) || (a < 0.0 && ratio < 1.0 - clip);
            if cut { 0.0 } else { ratio * a }
        })
        .collect();
    (weights, loss)
}

impl UpdateRule for PpoRule {
    const NAME: &'static str = "ppo";

    fn update(
        &self,
        policy: &mut Policy,
        batch: &[ChildRecord],
        baseline: f64,
    ) -> Result<String, SearchError> {
        let config = &self.0;
        let advantages: Vec<f64> = batch.iter().map(|r| r.reward - baseline).collect();
        let (schema, sample) = policy.last.clone().ok_or_else(|| {
            SearchError::Other("ppo: results observed before any batch was sampled".into())
        })?;
        let old: Vec<f64> = sample.log_prob.iter().map(|&v| v as f64).collect();
        let lr = policy.config.learning_rate;
        let (first_loss, mut last_loss);
        let mut cut = 0;
        // Epoch 0 is REINFORCE's step on the sampling pass's own activations: the weights have
        // not moved since sampling, so every ratio is 1, nothing is clipped and the weights are
        // the advantages. This saves the forced forward pass of one epoch in `epochs`.
        let w: Vec<f32> = advantages.iter().map(|&a| a as f32).collect();
        policy.controller.update(&w, lr)?;
        first_loss = -advantages.iter().sum::<f64>() / advantages.len() as f64;
        last_loss = first_loss;
        for _ in 1..config.epochs {
            let new = policy
                .controller
                .evaluate(&schema, &sample.rollouts)?
                .log_prob;
            let new: Vec<f64> = new.iter().map(|&v| v as f64).collect();
            let (weights, loss) = surrogate_weights(&new, &old, &advantages, config.clip);
            last_loss = loss;
            cut = weights
                .iter()
                .zip(&advantages)
                .filter(|(w, a)| **w == 0.0 && **a != 0.0)
                .count();
            let w: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
            policy.controller.update_forced(&w, lr)?;
        }
        Ok(format!(
            "baseline {baseline:.4}, mean log P {:.2}, surrogate {first_loss:.4} -> {last_loss:.4} over {} epochs, {cut} clipped in the last",
            policy.mean_log_prob(),
            config.epochs
        ))
    }
}
