//! REINFORCE (Williams 1992) for the NAS-RL controller (Zoph & Le 2017): after each batch of m
//! architectures, one Adam step on -(1/m) Σ_k (R_k - b) log P_k (minus the entropy bonus),
//! where b is the moving average of earlier rewards.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;

use super::policy::Policy;
use super::{Context, Proposal, Saved, Strategy};
use crate::device::Gpu;
use crate::search::config::SearchConfig;
use crate::search::error::SearchError;
use crate::search::record::ChildRecord;
use crate::search::run_dir::RunDir;
use crate::search::space::{Rollout, Space};
use crate::util::SeededRng;

pub struct Reinforce {
    policy: Policy,
}

impl Reinforce {
    pub fn new(
        gpu: &Arc<Gpu>,
        config: &SearchConfig,
        space: &dyn Space,
        rng: &mut SeededRng,
    ) -> Result<Reinforce, SearchError> {
        Ok(Reinforce {
            policy: Policy::new(gpu, config, space, "reinforce", rng)?,
        })
    }
}

impl Strategy for Reinforce {
    fn name(&self) -> &'static str {
        "reinforce"
    }

    /// The update needs every reward of the batch its controller sampled.
    fn asynchronous(&self) -> bool {
        false
    }

    fn propose(&mut self, ctx: &mut Context<'_>, n: usize) -> Result<Proposal, SearchError> {
        self.policy.propose(ctx, n)
    }

    fn resume(
        &mut self,
        ctx: &mut Context<'_>,
        first_child: usize,
        rollouts: &[Rollout],
        replay: &[f32],
    ) -> Result<(), SearchError> {
        self.policy.resume(ctx, first_child, rollouts, replay)
    }

    fn observe(
        &mut self,
        ctx: &mut Context<'_>,
        batch: &[ChildRecord],
    ) -> Result<Option<String>, SearchError> {
        let (baseline, mean) = self.policy.baseline(batch);
        let advantages: Vec<f32> = batch.iter().map(|r| (r.reward - baseline) as f32).collect();
        let t = Instant::now();
        let p = &mut self.policy;
        p.controller.update(&advantages, p.config.learning_rate)?;
        p.controller.sync()?;
        ctx.cost.controller_update_seconds += t.elapsed().as_secs_f64();
        ctx.cost.controller_updates += 1;
        p.advance_baseline(baseline, mean);
        Ok(Some(format!(
            "baseline {baseline:.4}, mean log P {:.2}",
            p.mean_log_prob()
        )))
    }

    fn save(&mut self, run: &RunDir, step: usize) -> Result<Saved, SearchError> {
        self.policy.save(run, step)
    }

    fn restore(
        &mut self,
        saved: &Json,
        run: &RunDir,
        _history: &[ChildRecord],
    ) -> Result<(), SearchError> {
        self.policy.restore(saved, run)
    }

    fn controller_dispatches(&self) -> Option<(usize, usize)> {
        self.policy.controller.dispatches()
    }
}
