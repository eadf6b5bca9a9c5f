//! The search loop, generic over the parts: each step runs the evaluator's update phase, asks
//! the strategy for a batch, saves it as the pending step, evaluates it, records each child
//! with the objective's reward, lets the strategy observe the batch and saves its state.
//! Files are written (history lines appended, the others replaced atomically) in an order that
//! keeps them consistent at every instant, so a search killed at any point resumes from its
//! last finished child with the same strategy state and random generator.

use std::sync::Arc;
use std::time::Instant;

use super::config::{EvaluatorKind, SearchConfig, SpaceKind};
use super::cost::SearchCost;
use super::derive::{self, Derived};
use super::error::SearchError;
use super::evaluator::{
    EvalEvent, Evaluator, Job, ProxyTask, ScratchEvaluator, SupernetEvaluator, SupernetSettings,
    Table, TableEvaluator,
};
use super::objective::{Measurement, Objective};
use super::record::ChildRecord;
use super::run_dir::RunDir;
use super::space::{Rollout, Space};
use super::state::{PendingStep, SearchState};
use super::strategy::{Context, Strategy};
use crate::device::Gpu;
use crate::nn::Architecture;
use crate::util::SeededRng;

/// What the loop reports as it goes (the CLI turns these into progress lines).
pub enum SearchEvent<'a> {
    /// A batch was proposed (or restored) and its children start.
    StepStarted {
        step: usize,
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
    /// The strategy observed a batch and said what it did.
    StrategyUpdated { step: usize, message: String },
    /// The evaluator's update phase (a supernet's shared-weight training) took a step.
    UpdateProgress { done: usize, steps: usize },
    /// The budget is spent and the trained controller's samples are being measured
    /// (`search::derive`).
    Deriving { samples: usize },
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchEnd {
    Finished,
    Interrupted,
}

/// The parts a search is made of.
pub struct Parts {
    pub space: Box<dyn Space>,
    pub strategy: Box<dyn Strategy>,
    pub evaluator: Box<dyn Evaluator>,
    pub objective: Box<dyn Objective>,
}

/// Input shape and classes of a table's networks: NAS-Bench-201's CIFAR-10.
pub const TABLE_INPUT: [usize; 3] = [3, 32, 32];
pub const TABLE_CLASSES: usize = 10;

impl Parts {
    /// The parts the configuration names, with the input shape and classes of the networks
    /// they build. The train evaluator trains on `task` (on `gpu`); controller strategies
    /// run on `gpu`; a table search needs neither.
    pub fn build(
        config: &SearchConfig,
        gpu: Option<&Arc<Gpu>>,
        task: Option<ProxyTask>,
    ) -> Result<(Parts, [usize; 3], usize), SearchError> {
        let space = super::space::build(config);
        let mut paired = None;
        let (evaluator, input, classes): (Box<dyn Evaluator>, _, _) = match config.run.evaluator {
            EvaluatorKind::Train => {
                let (gpu, task) = device_and_data(gpu, task, "train")?;
                let (input, classes) = task.shape();
                let concurrent = match config.child.concurrent {
                    0 => config.reinforce.children_per_step,
                    n => n,
                };
                let e =
                    ScratchEvaluator::new(gpu, task, &config.child, &config.halving, concurrent);
                (Box::new(e), input, classes)
            }
            EvaluatorKind::Supernet => {
                let (gpu, task) = device_and_data(gpu, task, "supernet")?;
                let (input, classes) = task.shape();
                // A strategy trained inside the supernet's graph comes with its evaluator.
                let evaluator = match super::strategy::paired(config, gpu, &task)? {
                    Some((strategy, evaluator)) => {
                        paired = Some(strategy);
                        evaluator
                    }
                    None => supernet_evaluator(config, gpu, task)?,
                };
                (evaluator, input, classes)
            }
            EvaluatorKind::Table => {
                let table = Table::open(config)?;
                (
                    Box::new(TableEvaluator::new(table)),
                    TABLE_INPUT,
                    TABLE_CLASSES,
                )
            }
        };
        let strategy = match paired {
            Some(strategy) => strategy,
            None => super::strategy::build(gpu, config, space.as_ref())?,
        };
        let parts = Parts {
            space,
            strategy,
            evaluator,
            objective: super::objective::build(config),
        };
        Ok((parts, input, classes))
    }
}

/// The device and proxy task an evaluator that trains needs.
fn device_and_data<'a>(
    gpu: Option<&'a Arc<Gpu>>,
    task: Option<ProxyTask>,
    evaluator: &str,
) -> Result<(&'a Arc<Gpu>, ProxyTask), SearchError> {
    match (gpu, task) {
        (Some(gpu), Some(task)) => Ok((gpu, task)),
        _ => Err(SearchError::Other(format!(
            "the {evaluator} evaluator needs a device and data"
        ))),
    }
}

/// The weight-sharing evaluator of `config`'s space on `task`, with its memory estimate as
/// its opening line (the search refused it before if it does not fit).
fn supernet_evaluator(
    config: &SearchConfig,
    gpu: &Arc<Gpu>,
    task: ProxyTask,
) -> Result<Box<dyn Evaluator>, SearchError> {
    use crate::nn::supernet::MixedSupernet;
    let (input, classes) = task.shape();
    let estimate = super::footprint::SupernetFootprint::of(gpu, config, input, classes);
    let s = &config.supernet;
    let line = |shape: String| {
        format!(
            "{shape}: {} shared parameters (with gradients and momentum {}); a path's step up to {}, {} kept compiled; about {} on the device; {} warm-up steps, then {} per batch, batch {}",
            estimate.shared_parameters as u64,
            crate::device::estimated_bytes(estimate.parameter_bytes),
            crate::device::estimated_bytes(estimate.path_bytes),
            estimate.plans,
            crate::device::estimated_bytes(estimate.device_bytes()),
            s.warmup_steps,
            s.steps_per_update,
            s.batch_size
        )
    };
    let settings = SupernetSettings::of(config);
    fn boxed<S: crate::nn::supernet::Supernet + 'static>(
        gpu: &Arc<Gpu>,
        supernet: S,
        task: ProxyTask,
        settings: SupernetSettings,
        description: String,
    ) -> Result<Box<dyn Evaluator>, SearchError> {
        let evaluator =
            SupernetEvaluator::new(gpu, supernet, task, settings)?.with_description(description);
        Ok(Box::new(evaluator))
    }
    match config.run.space {
        SpaceKind::Enas => {
            let supernet = super::supernets::enas(config, gpu, input, classes)?;
            let description = line(supernet.describe());
            boxed(gpu, supernet, task, settings, description)
        }
        SpaceKind::Darts => {
            let supernet = super::supernets::darts(config, gpu, input, classes)?;
            let description = line(supernet.describe());
            boxed(gpu, supernet, task, settings, description)
        }
        SpaceKind::Nb201 | SpaceKind::Macro => {
            let supernet = super::supernets::nb201(config, gpu, input, classes)?;
            let description = line(supernet.describe());
            boxed(gpu, supernet, task, settings, description)
        }
    }
}

/// A running search: its configuration, parts, run directory and state.
pub struct Search {
    config: SearchConfig,
    parts: Parts,
    input: [usize; 3],
    classes: usize,
    run: RunDir,
    state: SearchState,
    /// Cost of the earlier sessions of this run (from `state.json`).
    prior: SearchCost,
    /// Cost of this session.
    pub cost: SearchCost,
    /// Start of the time not yet counted in `cost.total_seconds`.
    clock: Instant,
    /// What the finished search derived from its controller, if it did.
    derived: Option<Derived>,
}

/// Seed of child `index` of a run seeded `seed` (independent of when the child is trained).
pub fn child_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

impl Search {
    /// Sets up a search from a fresh or reopened run directory and its state; the strategy
    /// restores what it saved there.
    pub fn new(
        config: SearchConfig,
        mut parts: Parts,
        input: [usize; 3],
        classes: usize,
        run: RunDir,
        state: SearchState,
    ) -> Result<Search, SearchError> {
        let completed = &run.history()[..state.children_done.min(run.history().len())];
        parts.strategy.restore(&state.strategy, &run, completed)?;
        parts.evaluator.restore(&state.evaluator, &run)?;
        let mut run = run;
        run.set_durable(!parts.evaluator.cheap());
        Ok(Search {
            config,
            parts,
            input,
            classes,
            run,
            prior: state.cost,
            cost: SearchCost::default(),
            clock: Instant::now(),
            state,
            derived: None,
        })
    }

    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    pub fn state(&self) -> &SearchState {
        &self.state
    }

    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The architecture derived from the trained controller (`derived.json`), once finished.
    pub fn derived(&self) -> Option<&Derived> {
        self.derived.as_ref()
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

    /// Whether the run's search time, over every session, has used up `run.time_limit`.
    pub fn time_limit_spent(&mut self) -> bool {
        self.tick();
        self.config.run.time_spent(self.total_cost().total_seconds)
    }

    /// Replaces `state.json`, with the run's cost up to now.
    fn save_state(&mut self) -> Result<(), SearchError> {
        self.tick();
        self.state.cost = self.total_cost();
        self.run.save_state(&self.state)
    }

    /// Runs until the budget or the time limit is spent (the limit is checked before each new
    /// batch) or `stop` returns true (checked between training steps).
    pub fn run(
        &mut self,
        stop: &dyn Fn() -> bool,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<SearchEnd, SearchError> {
        self.clock = Instant::now();
        // The run starts for real: only now may a resumed run's files be repaired.
        self.run.begin()?;
        let budget = self.config.run.budget;
        let end = loop {
            if self.state.children_done >= budget {
                break SearchEnd::Finished;
            }
            if self.state.pending.is_none() && self.time_limit_spent() {
                // Written now, so a resumed run sees the limit spent and finds nothing to do.
                self.save_state()?;
                break SearchEnd::Finished;
            }
            if stop() {
                break SearchEnd::Interrupted;
            }
            let resumed = self.state.pending.is_some();
            let pending = match self.state.pending.clone() {
                Some(p) => {
                    let mut ctx = Context {
                        space: self.parts.space.as_ref(),
                        history: self.run.history(),
                        rng: &mut self.state.rng,
                        cost: &mut self.cost,
                    };
                    self.parts
                        .strategy
                        .resume(&mut ctx, p.first_child, &p.rollouts, &p.replay)?;
                    p
                }
                None => {
                    let t = Instant::now();
                    if !self.update_evaluator(stop, report)? {
                        break SearchEnd::Interrupted;
                    }
                    // The updated evaluator is saved before the batch it will measure, so a
                    // resumed batch is measured on the same shared weights.
                    let saved = self.parts.evaluator.save(&self.run, self.state.step)?;
                    self.cost.update_seconds += t.elapsed().as_secs_f64();
                    let p = self.propose()?;
                    self.state.pending = Some(p.clone());
                    self.state.evaluator = saved.state;
                    self.save_state()?;
                    for old in saved.obsolete {
                        self.run.remove_file(&old);
                    }
                    p
                }
            };
            report(SearchEvent::StepStarted {
                step: pending.step,
                children: pending.rollouts.len(),
                resumed,
            });
            if !self.evaluate_pending(&pending, stop, report)? {
                break SearchEnd::Interrupted;
            }
            self.finish_step(&pending, report)?;
        };
        let end = match end {
            SearchEnd::Finished => self.derive(stop, report)?,
            SearchEnd::Interrupted => end,
        };
        if end == SearchEnd::Interrupted {
            // Keep this session's cost of the children recorded since the last step.
            self.save_state()?;
        }
        self.tick();
        Ok(end)
    }

    /// The finished search's derivation (`search::derive`); Interrupted if `stop` cut it short.
    fn derive(
        &mut self,
        stop: &dyn Fn() -> bool,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<SearchEnd, SearchError> {
        let samples = self.config.supernet.derive_samples;
        if samples == 0
            || self.config.run.evaluator != EvaluatorKind::Supernet
            || !self.parts.strategy.has_sampler()
        {
            return Ok(SearchEnd::Finished);
        }
        report(SearchEvent::Deriving { samples });
        let t = Instant::now();
        let derived = derive::derive(
            &mut self.parts,
            &self.run,
            &self.config,
            self.input,
            self.classes,
            stop,
        )?;
        self.cost.child_seconds += t.elapsed().as_secs_f64();
        Ok(match derived {
            Some(d) => {
                self.derived = Some(d);
                SearchEnd::Finished
            }
            None => SearchEnd::Interrupted,
        })
    }

    /// The evaluator's update phase, training shared weights on the strategy's samples where
    /// it has a sampler.
    fn update_evaluator(
        &mut self,
        stop: &dyn Fn() -> bool,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<bool, SearchError> {
        let sampled = self.run.history().len();
        let (input, classes) = (self.input, self.classes);
        let Parts {
            space,
            strategy,
            evaluator,
            ..
        } = &mut self.parts;
        let space = space.as_ref();
        let mut paths = |rng: &mut SeededRng| -> Result<Option<Vec<Architecture>>, SearchError> {
            let Some(rollouts) = strategy.training_samples(space, sampled, rng)? else {
                return Ok(None);
            };
            Ok(Some(
                rollouts
                    .iter()
                    .map(|r| space.architecture(r, input, classes))
                    .collect(),
            ))
        };
        let mut progress = |done, steps| report(SearchEvent::UpdateProgress { done, steps });
        evaluator.update(stop, &mut paths, &mut progress)
    }

    /// Asks the strategy for the next batch.
    fn propose(&mut self) -> Result<PendingStep, SearchError> {
        let done = self.state.children_done;
        let m = self
            .config
            .reinforce
            .children_per_step
            .min(self.config.run.budget - done);
        let step = self.state.step;
        let proposal = {
            let mut ctx = Context {
                space: self.parts.space.as_ref(),
                history: self.run.history(),
                rng: &mut self.state.rng,
                cost: &mut self.cost,
            };
            self.parts.strategy.propose(&mut ctx, m)?
        };
        for (k, r) in proposal.rollouts.iter().enumerate() {
            self.parts.space.check(r).map_err(|e| {
                SearchError::Other(format!(
                    "{} proposed an invalid architecture (child {}): {e}",
                    self.parts.strategy.name(),
                    done + k
                ))
            })?;
        }
        self.cost.sampled_architectures += proposal.rollouts.len();
        Ok(PendingStep {
            step,
            first_child: done,
            rollouts: proposal.rollouts,
            replay: proposal.replay,
        })
    }

    fn job(&self, p: &PendingStep, k: usize) -> Job {
        let rollout: &Rollout = &p.rollouts[k];
        let space = self.parts.space.as_ref();
        Job {
            index: p.first_child + k,
            rollout: rollout.clone(),
            canonical: space.canonical(rollout),
            architecture: space.architecture(rollout, self.input, self.classes),
            seed: child_seed(self.config.run.seed, p.first_child + k),
        }
    }

    /// Evaluates the pending step's children that are not yet in the history. False if stopped.
    fn evaluate_pending(
        &mut self,
        p: &PendingStep,
        stop: &dyn Fn() -> bool,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<bool, SearchError> {
        let first_missing = self.run.history().len() - p.first_child;
        if first_missing >= p.rollouts.len() {
            return Ok(true);
        }
        // A coupled evaluator decides over the whole batch: evaluate its recorded children
        // again (their outcomes are dropped below) so the others meet the same competition.
        let first = if self.parts.evaluator.batch_coupled() {
            0
        } else {
            first_missing
        };
        let jobs: Vec<Job> = (first..p.rollouts.len()).map(|k| self.job(p, k)).collect();
        let epochs = self.parts.evaluator.epochs();
        let budget = self.config.run.budget;
        let t = Instant::now();
        let Parts {
            evaluator,
            objective,
            ..
        } = &mut self.parts;
        let run = &mut self.run;
        let completed = evaluator.evaluate(&jobs, stop, &mut |event| {
            let slot = match &event {
                EvalEvent::Epoch { slot, .. } | EvalEvent::Done { slot, .. } => *slot,
            };
            if first + slot < first_missing {
                return Ok(());
            }
            let (slot, measurement) = match event {
                EvalEvent::Epoch { slot, epoch } => {
                    report(SearchEvent::ChildEpoch {
                        child: jobs[slot].index,
                        epoch,
                        epochs,
                    });
                    return Ok(());
                }
                EvalEvent::Done { slot, measurement } => (slot, measurement),
            };
            let record = child_record(&jobs[slot], p.step, objective.as_ref(), measurement);
            run.record(record)?;
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
        })?;
        self.cost.child_seconds += t.elapsed().as_secs_f64();
        Ok(completed)
    }

    /// Lets the strategy observe the batch, then saves its state and the new step.
    fn finish_step(
        &mut self,
        p: &PendingStep,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<(), SearchError> {
        let end = p.first_child + p.rollouts.len();
        let message = {
            let history = self.run.history();
            let mut ctx = Context {
                space: self.parts.space.as_ref(),
                history,
                rng: &mut self.state.rng,
                cost: &mut self.cost,
            };
            self.parts
                .strategy
                .observe(&mut ctx, &history[p.first_child..end])?
        };
        let saved = self.parts.strategy.save(&self.run, p.step + 1)?;
        self.state.strategy = saved.state;
        self.state.step = p.step + 1;
        self.state.children_done = end;
        self.state.pending = None;
        self.save_state()?;
        for old in saved.obsolete {
            self.run.remove_file(&old);
        }
        if let Some(message) = message {
            report(SearchEvent::StrategyUpdated {
                step: p.step,
                message,
            });
        }
        Ok(())
    }
}

/// The history line of an evaluated job.
fn child_record(job: &Job, step: usize, objective: &dyn Objective, m: Measurement) -> ChildRecord {
    ChildRecord {
        index: job.index,
        controller_step: step,
        parameters: job.architecture.parameter_count(),
        flops: job.architecture.forward_flops(),
        architecture: job.architecture.clone(),
        rollout: job.rollout.clone(),
        canonical: job.canonical.clone(),
        reward: objective.reward(&m),
        val_accuracy: m.val_accuracy,
        train_seconds: m.train_seconds,
        latency: m.latency,
        status: m.status,
        error: m.error,
    }
}
