//! The search loop. Each step samples a batch of architectures (controller or uniform), saves
//! them as the pending step, trains them, records each finished child, then updates the
//! controller and the baseline and saves the new state. Files are written (history lines
//! appended, the others replaced atomically) in an order that keeps them consistent at every
//! instant, so a search killed at any point resumes from its last finished child with the same
//! controller, baseline and random state.

use std::sync::Arc;
use std::time::Instant;

use super::config::{SearchConfig, Strategy};
use super::controller::{Controller, draws};
use super::cost::SearchCost;
use super::error::SearchError;
use super::evaluator::{ChildEvent, ProxyTask, train_children};
use super::random;
use super::record::{ChildRecord, reward};
use super::run_dir::RunDir;
use super::space::Decisions;
use super::state::{PendingStep, SearchState};
use crate::device::Gpu;
use crate::nn::weights;
use rand::RngExt;

/// What the loop reports as it goes (the CLI turns these into progress lines).
pub enum SearchEvent<'a> {
    /// A batch was sampled (or restored) and its children start training.
    StepStarted {
        step: usize,
        depth: usize,
        children: usize,
        resumed: bool,
    },
    /// A child finished an epoch.
    ChildEpoch {
        child: usize,
        epoch: usize,
        epochs: usize,
    },
    /// A child was recorded.
    ChildDone {
        record: &'a ChildRecord,
        done: usize,
        budget: usize,
        best: f64,
        mean: f64,
    },
    /// The controller was updated.
    ControllerUpdated {
        step: usize,
        baseline: f64,
        mean_log_prob: f64,
    },
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchEnd {
    Finished,
    Interrupted,
}

/// A running search: its configuration, data, run directory, state and (for REINFORCE) controller.
pub struct Search {
    gpu: Arc<Gpu>,
    config: SearchConfig,
    task: ProxyTask,
    input: [usize; 3],
    classes: usize,
    run: RunDir,
    state: SearchState,
    controller: Option<Controller>,
    /// Mean log-probability of the last sampled batch under the controller.
    last_log_prob: f64,
    /// Cost of the earlier sessions of this run (from `state.json`).
    prior: SearchCost,
    /// Cost of this session.
    pub cost: SearchCost,
    /// Start of the time not yet counted in `cost.total_seconds`.
    clock: Instant,
}

/// Seed of child `index` of a run seeded `seed` (independent of when the child is trained).
fn child_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64
}

fn checkpoint_name(step: usize) -> String {
    format!("controller-{step:06}.safetensors")
}

impl Search {
    /// Sets up a search from a fresh or reopened run directory and its state.
    pub fn new(
        gpu: &Arc<Gpu>,
        config: SearchConfig,
        task: ProxyTask,
        run: RunDir,
        state: SearchState,
    ) -> Result<Search, SearchError> {
        let input = task.data.image_shape();
        let classes = task.data.classes() as usize;
        let mut rng = crate::util::seeded_rng(config.run.seed ^ 0xC0_A770_11E5);
        let controller = match config.run.strategy {
            Strategy::Random => None,
            Strategy::Reinforce => {
                let mut c = Controller::new(
                    gpu,
                    &config.space,
                    &config.controller,
                    config.reinforce.entropy_weight,
                    &mut rng,
                )?;
                if let Some(name) = &state.controller_checkpoint {
                    let path = run.path().join(name);
                    let (tensors, meta) = weights::load(&path).map_err(SearchError::Other)?;
                    c.restore(&tensors, &meta)
                        .map_err(|e| SearchError::Other(format!("{}: {e}", path.display())))?;
                }
                Some(c)
            }
        };
        Ok(Search {
            gpu: gpu.clone(),
            config,
            task,
            input,
            classes,
            run,
            controller,
            last_log_prob: 0.0,
            prior: state.cost,
            cost: SearchCost::default(),
            clock: Instant::now(),
            state,
        })
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    pub fn state(&self) -> &SearchState {
        &self.state
    }

    pub fn controller(&self) -> Option<&Controller> {
        self.controller.as_ref()
    }

    /// Cost of the whole run: earlier sessions and this one.
    pub fn total_cost(&self) -> SearchCost {
        self.prior + self.cost
    }

    /// Counts the time since the last call in this session's total.
    fn tick(&mut self) {
        let now = Instant::now();
        self.cost.total_seconds += (now - self.clock).as_secs_f64();
        self.clock = now;
    }

    /// Replaces `state.json`, with the run's cost up to now.
    fn save_state(&mut self) -> Result<(), SearchError> {
        self.tick();
        self.state.cost = self.total_cost();
        self.run.save_state(&self.state)
    }

    /// Runs until the budget is spent or `stop` returns true (checked between training steps).
    pub fn run(
        &mut self,
        stop: &dyn Fn() -> bool,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<SearchEnd, SearchError> {
        self.clock = Instant::now();
        let budget = self.config.run.budget;
        let end = loop {
            if self.state.children_done >= budget {
                break SearchEnd::Finished;
            }
            if stop() {
                break SearchEnd::Interrupted;
            }
            let resumed = self.state.pending.is_some();
            let pending = match self.state.pending.clone() {
                Some(p) => {
                    self.replay(&p)?;
                    p
                }
                None => {
                    let p = self.sample_step()?;
                    self.state.pending = Some(p.clone());
                    self.save_state()?;
                    p
                }
            };
            let depth = pending.decisions[0].tokens.len();
            report(SearchEvent::StepStarted {
                step: pending.step,
                depth,
                children: pending.decisions.len(),
                resumed,
            });
            if !self.train_pending(&pending, stop, report)? {
                break SearchEnd::Interrupted;
            }
            self.finish_step(&pending, report)?;
        };
        if end == SearchEnd::Interrupted {
            // Keep this session's cost of the children recorded since the last step.
            self.save_state()?;
        }
        self.tick();
        Ok(end)
    }

    /// Draws the next batch of architectures.
    fn sample_step(&mut self) -> Result<PendingStep, SearchError> {
        let done = self.state.children_done;
        let m = self
            .config
            .reinforce
            .children_per_step
            .min(self.config.run.budget - done);
        let depth = self.config.space.depth_after(done);
        let (decisions, uniforms) = match self.controller.as_mut() {
            None => (
                (0..m)
                    .map(|_| random::sample(&self.config.space, depth, &mut self.state.rng))
                    .collect(),
                Vec::new(),
            ),
            Some(c) => {
                let n = draws(&self.config.space, depth, m);
                let uniforms: Vec<f32> = (0..n).map(|_| self.state.rng.random::<f32>()).collect();
                self.cost.controller_compile_seconds += c.prepare(depth, m)?;
                let t = Instant::now();
                let sample = c.sample(depth, m, &uniforms)?;
                self.cost.controller_sample_seconds += t.elapsed().as_secs_f64();
                self.last_log_prob = mean(&sample.log_prob);
                (sample.decisions, uniforms)
            }
        };
        self.cost.sampled_architectures += m;
        Ok(PendingStep {
            step: self.state.step,
            first_child: done,
            decisions,
            uniforms,
        })
    }

    /// After a resume: re-run the controller's sampling pass with the saved draws, so its
    /// activations are those the update needs (and check it reproduces the saved batch).
    fn replay(&mut self, p: &PendingStep) -> Result<(), SearchError> {
        let Some(c) = self.controller.as_mut() else {
            return Ok(());
        };
        let depth = p.decisions[0].tokens.len();
        let sample = c.sample(depth, p.decisions.len(), &p.uniforms)?;
        self.last_log_prob = mean(&sample.log_prob);
        if sample.decisions != p.decisions {
            return Err(SearchError::Other(format!(
                "{}: the controller did not reproduce the pending step's architectures on this device; \
                 resume on the device the search started on",
                self.run.path().display()
            )));
        }
        Ok(())
    }

    /// Trains the pending step's children that are not yet in the history. False if stopped.
    fn train_pending(
        &mut self,
        p: &PendingStep,
        stop: &dyn Fn() -> bool,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<bool, SearchError> {
        let first_missing = self.run.history().len() - p.first_child;
        let todo: Vec<usize> = (first_missing..p.decisions.len()).collect();
        if todo.is_empty() {
            return Ok(true);
        }
        let archs: Vec<_> = todo
            .iter()
            .map(|&k| {
                self.config
                    .space
                    .decode(&p.decisions[k], self.input, self.classes)
            })
            .collect();
        let seeds: Vec<u64> = todo
            .iter()
            .map(|&k| child_seed(self.config.run.seed, p.first_child + k))
            .collect();
        let concurrent = if self.config.child.concurrent == 0 {
            p.decisions.len()
        } else {
            self.config.child.concurrent
        };
        let epochs = self.config.child.epochs;
        let t = Instant::now();
        let rc = self.config.reinforce.clone();
        let budget = self.config.run.budget;
        let space = &self.config.space;
        let run = &mut self.run;
        let mut record_failure: Option<SearchError> = None;
        let completed = train_children(
            &self.gpu,
            &self.task,
            &archs,
            &seeds,
            &self.config.child,
            concurrent,
            stop,
            &mut |event| {
                let (slot, outcome) = match event {
                    ChildEvent::Epoch { slot, epoch } => {
                        report(SearchEvent::ChildEpoch {
                            child: p.first_child + todo[slot],
                            epoch,
                            epochs,
                        });
                        return Ok(());
                    }
                    ChildEvent::Done { slot, outcome } => (slot, outcome),
                };
                let k = todo[slot];
                let arch = space.decode(&p.decisions[k], archs[slot].input, archs[slot].classes);
                let r = if outcome.val_accuracy.is_empty() {
                    0.0
                } else {
                    reward(&outcome.val_accuracy, rc.reward_window, rc.reward_power)
                };
                let record = ChildRecord {
                    index: p.first_child + k,
                    controller_step: p.step,
                    parameters: arch.parameter_count(),
                    flops: arch.forward_flops(),
                    architecture: arch,
                    decisions: p.decisions[k].clone(),
                    reward: r,
                    val_accuracy: outcome.val_accuracy,
                    train_seconds: outcome.train_seconds,
                    status: outcome.status,
                    error: outcome.error,
                };
                if let Err(e) = run.record(record) {
                    record_failure.get_or_insert(e);
                    return Ok(());
                }
                let history = run.history();
                let best = run.best().map_or(0.0, |b| b.reward);
                let mean = history.iter().map(|h| h.reward).sum::<f64>() / history.len() as f64;
                report(SearchEvent::ChildDone {
                    record: history.last().expect("recorded"),
                    done: history.len(),
                    budget,
                    best,
                    mean,
                });
                Ok(())
            },
        )?;
        self.cost.child_seconds += t.elapsed().as_secs_f64();
        if let Some(e) = record_failure {
            return Err(e);
        }
        if !completed {
            return Ok(false);
        }
        Ok(true)
    }

    /// Controller update, baseline, checkpoint and state once every child of the step is in.
    fn finish_step(
        &mut self,
        p: &PendingStep,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<(), SearchError> {
        let rewards: Vec<f64> = self.run.history()
            [p.first_child..p.first_child + p.decisions.len()]
            .iter()
            .map(|r| r.reward)
            .collect();
        let mean = rewards.iter().sum::<f64>() / rewards.len() as f64;
        // The baseline is the moving average of *previous* rewards; the first step uses its own mean.
        let baseline = self.state.baseline.unwrap_or(mean);
        if let Some(c) = self.controller.as_mut() {
            let advantages: Vec<f32> = rewards.iter().map(|r| (r - baseline) as f32).collect();
            let t = Instant::now();
            c.update(&advantages, self.config.controller.learning_rate)?;
            self.gpu.sync()?;
            self.cost.controller_update_seconds += t.elapsed().as_secs_f64();
            self.cost.controller_updates += 1;
            let (tensors, meta) = c.checkpoint()?;
            let name = checkpoint_name(p.step + 1);
            self.run
                .write_file(&name, &weights::to_bytes(&tensors, &meta))?;
            let old = self.state.controller_checkpoint.replace(name);
            self.finish_state(p, baseline, mean)?;
            if let Some(old) = old {
                self.run.remove_file(&old);
            }
            report(SearchEvent::ControllerUpdated {
                step: p.step,
                baseline,
                mean_log_prob: self.last_log_prob,
            });
        } else {
            self.finish_state(p, baseline, mean)?;
        }
        Ok(())
    }

    fn finish_state(
        &mut self,
        p: &PendingStep,
        baseline: f64,
        mean: f64,
    ) -> Result<(), SearchError> {
        let decay = self.config.reinforce.baseline_decay;
        self.state.baseline = Some(if self.state.baseline.is_none() {
            mean
        } else {
            decay * baseline + (1.0 - decay) * mean
        });
        self.state.step = p.step + 1;
        self.state.children_done = p.first_child + p.decisions.len();
        self.state.pending = None;
        self.save_state()
    }

    /// The decisions of every recorded child (for reports and tests).
    pub fn decisions(&self) -> Vec<Decisions> {
        self.run
            .history()
            .iter()
            .map(|r| r.decisions.clone())
            .collect()
    }
}
