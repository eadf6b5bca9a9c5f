//! Search strategies: they propose architectures of a space and learn from the results. Each
//! owns its state and checkpoints it through `save`/`restore` (the run directory stores it
//! opaquely in `state.json`). Adding a strategy is one file here plus one line in `build`.

pub mod controller;
pub mod darts;
mod evolution;
pub mod policy;
mod ppo;
mod random;
mod reinforce;

use serde_json::Value as Json;

pub use evolution::Evolution;
pub use policy::{ControllerStrategy, UpdateRule};
pub use ppo::{Ppo, PpoRule, surrogate_weights};
pub use random::RandomSearch;
pub use reinforce::{Reinforce, ReinforceRule};

use super::config::{SearchConfig, StrategyKind};
use super::cost::SearchCost;
use super::error::SearchError;
use super::evaluator::{Evaluator, ProxyTask};
use super::record::ChildRecord;
use super::run_dir::RunDir;
use super::space::{Rollout, Space};
use crate::device::Gpu;
use crate::util::SeededRng;

/// What a strategy sees of the search when it proposes or observes.
pub struct Context<'a> {
    pub space: &'a dyn Space,
    /// Every child recorded so far, in order.
    pub history: &'a [ChildRecord],
    /// The search's generator: saved in `state.json` with each batch, so a resumed search
    /// draws the same numbers.
    pub rng: &'a mut SeededRng,
    /// This session's cost, for strategies that spend time of their own (a controller).
    pub cost: &'a mut SearchCost,
}

/// A batch of proposals.
pub struct Proposal {
    pub rollouts: Vec<Rollout>,
    /// What the strategy needs to pick this batch up again after a resume (REINFORCE: the
    /// uniform numbers it sampled with). Saved with the batch before it is evaluated.
    pub replay: Vec<f32>,
}

/// State a strategy hands to the run directory after a batch.
pub struct Saved {
    /// Stored as `state.json`'s `strategy` field.
    pub state: Json,
    /// Files of the previous state that may be removed once `state.json` names the new ones.
    pub obsolete: Vec<String>,
}

/// A search strategy.
pub trait Strategy {
    /// The name on the command line and in reports (`reinforce`).
    fn name(&self) -> &'static str;
    /// Whether `propose` may be called while earlier proposals are still being evaluated
    /// (what lets distributed workers stay busy).
    fn asynchronous(&self) -> bool;
    /// Proposes `n` architectures.
    fn propose(&mut self, ctx: &mut Context<'_>, n: usize) -> Result<Proposal, SearchError>;
    /// After a resume: picks up the batch saved in flight (proposed after `first_child`
    /// others, with its rollouts and replay) before its results are observed.
    fn resume(
        &mut self,
        _ctx: &mut Context<'_>,
        _first_child: usize,
        _rollouts: &[Rollout],
        _replay: &[f32],
    ) -> Result<(), SearchError> {
        Ok(())
    }
    /// Learns from the results of the last batch (its records, in proposal order), and says
    /// what it did in one line for the progress output, if anything.
    fn observe(
        &mut self,
        ctx: &mut Context<'_>,
        batch: &[ChildRecord],
    ) -> Result<Option<String>, SearchError>;
    /// The state to keep after the batch numbered `step` was observed; files it needs (a
    /// checkpoint) are written into `run` now.
    fn save(&mut self, run: &RunDir, step: usize) -> Result<Saved, SearchError>;
    /// Restores what `save` kept (`Json::Null` for a run that has not saved yet), with the
    /// recorded history (a strategy may rebuild its state from it).
    fn restore(
        &mut self,
        saved: &Json,
        run: &RunDir,
        history: &[ChildRecord],
    ) -> Result<(), SearchError>;
    /// Architectures for a weight-sharing evaluator's next shared-weight steps, drawn from
    /// `rng` (the evaluator's, saved with its weights, so a resumed phase draws the same):
    /// ENAS trains the shared weights on its controller's samples. None: the evaluator draws
    /// paths uniformly (single-path one-shot). `sampled`: children sampled so far.
    fn training_samples(
        &mut self,
        _space: &dyn Space,
        _sampled: usize,
        _rng: &mut SeededRng,
    ) -> Result<Option<Vec<Rollout>>, SearchError> {
        Ok(None)
    }
    /// Whether `training_samples` samples from a learned distribution (a controller), so the
    /// finished search can derive its answer from it (`search::derive`).
    fn has_sampler(&self) -> bool {
        false
    }
    /// Mean seconds of an update, and dispatches of sampling and of an update, for strategies
    /// with a controller (the summary reports them).
    fn controller_dispatches(&self) -> Option<(usize, usize)> {
        None
    }
}

/// Strategies by name, for `--strategy` and `run.strategy`.
pub const STRATEGIES: &[&str] = &["random", "reinforce", "ppo", "evolution", "darts"];

/// The strategy the configuration names, for `space` (refused when it cannot work there).
/// Controller strategies run on `gpu`; the others need none.
pub fn build(
    gpu: Option<&std::sync::Arc<Gpu>>,
    config: &SearchConfig,
    space: &dyn Space,
) -> Result<Box<dyn Strategy>, SearchError> {
    let mut rng = crate::util::seeded_rng(config.run.seed ^ 0xC0_A770_11E5);
    let device = || {
        gpu.ok_or_else(|| {
            SearchError::Other(format!(
                "--strategy {}: the controller needs a device",
                config.run.strategy.name()
            ))
        })
    };
    Ok(match config.run.strategy {
        StrategyKind::Random => Box::new(RandomSearch),
        StrategyKind::Reinforce => Box::new(Reinforce::new(
            device()?,
            config,
            space,
            ReinforceRule,
            &mut rng,
        )?),
        StrategyKind::Ppo => Box::new(Ppo::new(
            device()?,
            config,
            space,
            PpoRule(config.ppo.clone()),
            &mut rng,
        )?),
        StrategyKind::Evolution => Box::new(Evolution::new(&config.evolution)),
        StrategyKind::Darts => {
            return Err(SearchError::Other(
                "--strategy darts trains inside the supernet: it comes with --evaluator supernet"
                    .into(),
            ));
        }
    })
}

/// A strategy with the evaluator it trains inside.
pub type Paired = (Box<dyn Strategy>, Box<dyn Evaluator>);

/// The strategy and evaluator of a strategy whose parameters are trained by gradient inside
/// the evaluator's graph (DARTS, which shares the supernet with its evaluator), built together
/// on `task`; None for strategies that only propose and observe.
pub fn paired(
    config: &SearchConfig,
    gpu: &std::sync::Arc<Gpu>,
    task: &ProxyTask,
) -> Result<Option<Paired>, SearchError> {
    match config.run.strategy {
        StrategyKind::Darts => Ok(Some(darts::pair(config, gpu, task.clone())?)),
        _ => Ok(None),
    }
}
