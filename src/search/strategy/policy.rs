//! What REINFORCE and PPO share: an LSTM controller that samples a batch on the device from
//! uniform numbers the search's generator draws, a moving-average reward baseline, and the
//! controller checkpoint (`controller-NNNNNN.safetensors`) named in the saved state. They
//! differ only in how a batch's rewards become a controller update.

use std::sync::Arc;
use std::time::Instant;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::controller::{Controller, Sample, draws};
use super::{Context, Proposal, Saved};
use crate::device::Gpu;
use crate::nn::weights;
use crate::search::config::{ControllerConfig, ReinforceConfig, SearchConfig};
use crate::search::error::SearchError;
use crate::search::record::ChildRecord;
use crate::search::run_dir::RunDir;
use crate::search::space::{Rollout, Schema, Space};
use crate::util::SeededRng;

/// The part of `state.json` a controller strategy owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyState {
    /// Moving-average baseline; None before the first reward.
    pub baseline: Option<f64>,
    /// File name of the controller checkpoint (None before the first update).
    pub checkpoint: Option<String>,
}

/// A controller with its baseline and the batch it sampled last.
pub struct Policy {
    pub controller: Controller,
    pub config: ControllerConfig,
    pub reinforce: ReinforceConfig,
    pub state: PolicyState,
    /// Schema and sample of the batch in flight.
    pub last: Option<(Schema, Sample)>,
}

fn checkpoint_name(step: usize) -> String {
    format!("controller-{step:06}.safetensors")
}

/// Refuses a sampling pass whose log-probabilities or entropies are not finite: the
/// controller's parameters are (or have overflowed to) NaN or infinity, and its draws would
/// be garbage. The search stops before saving the batch, so the run stays as it was.
fn check_sample(sample: &Sample, first_child: usize) -> Result<(), SearchError> {
    let bad = sample
        .log_prob
        .iter()
        .chain(&sample.entropy)
        .find(|v| !v.is_finite());
    match bad {
        None => Ok(()),
        Some(v) => Err(SearchError::Other(format!(
            "controller: sampling children {first_child}.. gave a log-probability or entropy of {v}: \
             its parameters are not finite (controller.init_range too large, or an update \
             diverged); the run directory is kept as of its last finished step"
        ))),
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64
}

impl Policy {
    /// A fresh controller for `space` (refused for a space without a decision sequence).
    pub fn new(
        gpu: &Arc<Gpu>,
        config: &SearchConfig,
        space: &dyn Space,
        strategy: &str,
        rng: &mut SeededRng,
    ) -> Result<Policy, SearchError> {
        let schema = space.schema(0).ok_or_else(|| {
            SearchError::Other(format!(
                "--strategy {strategy}: the {} space has no decision sequence for a controller",
                space.name()
            ))
        })?;
        let skip_weight = config.controller.skip_weight;
        if skip_weight > 0.0 && schema.blocks.iter().filter(|b| b.anchor).count() < 2 {
            return Err(SearchError::Other(format!(
                "controller.skip_weight: {skip_weight}, but the {} space makes no skip decisions \
                 for the penalty to act on (set it to 0)",
                space.name()
            )));
        }
        // The controller's passes are a few hundred tiny kernels: on llvmpipe they run inline.
        let controller = Controller::new(
            &gpu.for_tiny_kernels(),
            &schema.groups,
            &config.controller,
            config.reinforce.entropy_weight,
            rng,
        )?;
        Ok(Policy {
            controller,
            config: config.controller.clone(),
            reinforce: config.reinforce.clone(),
            state: PolicyState::default(),
            last: None,
        })
    }

    /// Samples `n` architectures from uniforms drawn from the search's generator.
    pub fn propose(&mut self, ctx: &mut Context<'_>, n: usize) -> Result<Proposal, SearchError> {
        let schema = ctx.space.schema(ctx.history.len()).expect("checked in new");
        let count = draws(&schema, n);
        let uniforms: Vec<f32> = (0..count).map(|_| ctx.rng.random::<f32>()).collect();
        ctx.cost.controller_compile_seconds += self.controller.prepare(&schema, n)?;
        let t = Instant::now();
        let sample = self.controller.sample(&schema, n, &uniforms)?;
        ctx.cost.controller_sample_seconds += t.elapsed().as_secs_f64();
        check_sample(&sample, ctx.history.len())?;
        let rollouts = sample.rollouts.clone();
        self.last = Some((schema, sample));
        Ok(Proposal {
            rollouts,
            replay: uniforms,
        })
    }

    /// A batch sampled from uniforms drawn from `rng`, for shared-weight steps: the plan of
    /// the proposals' batch size is reused, and the batch in flight (`last`) is left alone;
    /// the next `propose` runs its own pass before any update needs activations.
    pub fn training_samples(
        &mut self,
        space: &dyn Space,
        sampled: usize,
        rng: &mut SeededRng,
    ) -> Result<Vec<Rollout>, SearchError> {
        let schema = space.schema(sampled).expect("checked in new");
        let m = self.reinforce.children_per_step;
        let uniforms: Vec<f32> = (0..draws(&schema, m))
            .map(|_| rng.random::<f32>())
            .collect();
        self.controller.prepare(&schema, m)?;
        let sample = self.controller.sample(&schema, m, &uniforms)?;
        check_sample(&sample, sampled)?;
        Ok(sample.rollouts)
    }

    /// Re-runs the sampling pass with the saved draws, so its activations are those the update
    /// needs, and checks that it reproduces the saved batch (sampled after `first_child`
    /// others).
    pub fn resume(
        &mut self,
        ctx: &mut Context<'_>,
        first_child: usize,
        rollouts: &[Rollout],
        replay: &[f32],
    ) -> Result<(), SearchError> {
        let schema = ctx.space.schema(first_child).expect("checked in new");
        ctx.cost.controller_compile_seconds += self.controller.prepare(&schema, rollouts.len())?;
        let sample = self.controller.sample(&schema, rollouts.len(), replay)?;
        check_sample(&sample, first_child)?;
        if sample.rollouts != rollouts {
            return Err(SearchError::Other(
                "the controller did not reproduce the pending step's architectures on this device; \
                 resume on the device the search started on"
                    .into(),
            ));
        }
        self.last = Some((schema, sample));
        Ok(())
    }

    /// The baseline to measure this batch's advantages against (the moving average of earlier
    /// rewards; the first batch uses its own mean), and the batch's mean reward.
    pub fn baseline(&self, batch: &[ChildRecord]) -> (f64, f64) {
        let mean = batch.iter().map(|r| r.reward).sum::<f64>() / batch.len() as f64;
        (self.state.baseline.unwrap_or(mean), mean)
    }

    /// Moves the baseline towards this batch's mean.
    pub fn advance_baseline(&mut self, baseline: f64, mean: f64) {
        let decay = self.reinforce.baseline_decay;
        self.state.baseline = Some(if self.state.baseline.is_none() {
            mean
        } else {
            decay * baseline + (1.0 - decay) * mean
        });
    }

    /// Mean log-probability of the batch in flight.
    pub fn mean_log_prob(&self) -> f64 {
        self.last.as_ref().map_or(0.0, |(_, s)| mean(&s.log_prob))
    }

    /// Writes the controller checkpoint for `step` and returns the state naming it.
    pub fn save(&mut self, run: &RunDir, step: usize) -> Result<Saved, SearchError> {
        let mut obsolete = Vec::new();
        if self.controller.updates() > 0 {
            let name = checkpoint_name(step);
            if self.state.checkpoint.as_deref() != Some(name.as_str()) {
                let (tensors, meta) = self.controller.checkpoint()?;
                // A diverged update must not become the run's controller: stop before the
                // checkpoint and state.json name it, so the run resumes from the step before.
                for t in &tensors {
                    if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                        return Err(SearchError::Other(format!(
                            "controller: update {} made '{}'[{i}] {}: the controller diverged \
                             (try a lower controller.learning_rate); the run directory is kept \
                             as of the step before",
                            self.controller.updates(),
                            t.name,
                            t.data[i]
                        )));
                    }
                }
                run.write_file(&name, &weights::to_bytes(&tensors, &meta))?;
                if let Some(old) = self.state.checkpoint.replace(name) {
                    obsolete.push(old);
                }
            }
        }
        Ok(Saved {
            state: serde_json::to_value(&self.state).expect("policy state"),
            obsolete,
        })
    }

    /// Restores the baseline and the controller checkpoint the state names.
    pub fn restore(&mut self, saved: &Json, run: &RunDir) -> Result<(), SearchError> {
        if saved.is_null() {
            return Ok(());
        }
        let path = run.path().join(crate::search::run_dir::STATE_FILE);
        self.state = serde_json::from_value(saved.clone())
            .map_err(|e| crate::search::run_dir_error(&path, format!("strategy: {e}")))?;
        if let Some(name) = &self.state.checkpoint {
            let path = run.path().join(name);
            let (tensors, meta) = weights::load(&path).map_err(SearchError::Other)?;
            self.controller
                .restore(&tensors, &meta)
                .map_err(|e| SearchError::Other(format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// How a controller strategy turns a batch's rewards into controller steps.
pub trait UpdateRule {
    /// The strategy's name on the command line.
    const NAME: &'static str;
    /// Steps the controller for `batch` (its advantages measured against `baseline`) and
    /// says what it did for the progress line.
    fn update(
        &self,
        policy: &mut Policy,
        batch: &[ChildRecord],
        baseline: f64,
    ) -> Result<String, SearchError>;
}

/// A strategy made of the shared controller machinery and an update rule (REINFORCE, PPO).
pub struct ControllerStrategy<R> {
    policy: Policy,
    rule: R,
}

impl<R: UpdateRule> ControllerStrategy<R> {
    pub fn new(
        gpu: &Arc<Gpu>,
        config: &SearchConfig,
        space: &dyn Space,
        rule: R,
        rng: &mut SeededRng,
    ) -> Result<ControllerStrategy<R>, SearchError> {
        Ok(ControllerStrategy {
            policy: Policy::new(gpu, config, space, R::NAME, rng)?,
            rule,
        })
    }
}

impl<R: UpdateRule> super::Strategy for ControllerStrategy<R> {
    fn name(&self) -> &'static str {
        R::NAME
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

    /// The rule's steps (timed, waited for), then the baseline moves towards the batch's mean.
    fn observe(
        &mut self,
        ctx: &mut Context<'_>,
        batch: &[ChildRecord],
    ) -> Result<Option<String>, SearchError> {
        let (baseline, mean) = self.policy.baseline(batch);
        let t = Instant::now();
        let message = self.rule.update(&mut self.policy, batch, baseline)?;
        self.policy.controller.sync()?;
        ctx.cost.controller_update_seconds += t.elapsed().as_secs_f64();
        ctx.cost.controller_updates += 1;
        self.policy.advance_baseline(baseline, mean);
        Ok(Some(message))
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

    /// ENAS: the shared weights train on the controller's own samples.
    fn training_samples(
        &mut self,
        space: &dyn Space,
        sampled: usize,
        rng: &mut SeededRng,
    ) -> Result<Option<Vec<Rollout>>, SearchError> {
        self.policy.training_samples(space, sampled, rng).map(Some)
    }

    fn has_sampler(&self) -> bool {
        true
    }

    fn controller_dispatches(&self) -> Option<(usize, usize)> {
        self.policy.controller.dispatches()
    }
}
