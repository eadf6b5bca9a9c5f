//! DARTS (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019), first or second
//! order, on a space with a mixed supernet: the strategy's parameters are the architecture
//! weights alpha, one row of operation logits per edge (NAS-Bench-201: `[6, 5]`, shared by
//! every cell; DARTS cells: `[28, 8]`, the normal cell's 14 edges then the reduction cell's),
//! trained by gradient inside the supernet's graph. Alpha lives in the `DartsCore` this
//! strategy shares with its evaluator (`evaluator/darts.rs`), whose update phase alternates
//! weight and architecture steps; this half proposes, after each phase, the one cell alpha
//! stands for (the space's derivation: NAS-Bench-201 the strongest operation on every edge,
//! `none` included; DARTS cells each node's two strongest edges and their strongest real
//! operation) and, on observing its measurement, records alpha's softmax so the run shows how
//! the derived cell evolves.
//!
//! The search's answer is the last derived cell, not the best-scoring one
//! (`StrategyKind::answer_is_last`): `best.json` holds it. Alpha and its Adam state are
//! checkpointed with the shared weights (they change together at every step); what this half
//! keeps in `state.json` is the softmax of alpha after each phase, also written to `darts.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{Context, Proposal, Saved, Strategy};
use crate::nn::supernet::{MixedSupernet, softmax_rows};
use crate::search::config::{SearchConfig, SpaceKind};
use crate::search::error::SearchError;
use crate::search::evaluator::{DartsCore, DartsEvaluator, ProxyTask, SharedCore};
use crate::search::record::ChildRecord;
use crate::search::run_dir::RunDir;

/// The side file with alpha's softmax after each derivation.
pub const ALPHA_FILE: &str = "darts.json";

/// Alpha as the strategy saw it when it proposed a child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlphaRecord {
    /// The child derived from it.
    pub child: usize,
    /// Alternating step pairs taken before it.
    pub steps: usize,
    /// DARTS-'s auxiliary skip coefficient at that point (absent without the remedy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f32>,
    /// softmax(alpha) per edge (rows and columns as the space's alpha has them; the
    /// operations are `AlphaLog::operations`).
    pub softmax: Vec<Vec<f32>>,
    /// The cell derived from it.
    pub derived: String,
}

/// `darts.json`: the remedy and every derivation so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlphaLog {
    pub remedy: String,
    pub order: u32,
    pub operations: Vec<String>,
    pub derivations: Vec<AlphaRecord>,
}

/// DARTS's strategy half: derives cells from the shared alpha.
pub struct Darts<S: MixedSupernet> {
    core: SharedCore<S>,
    log: AlphaLog,
}

/// DARTS's strategy and the evaluator it trains inside, sharing one supernet (of the
/// configured space, seeded as the supernet evaluator seeds it) and alpha.
pub fn pair(
    config: &SearchConfig,
    gpu: &std::sync::Arc<crate::device::Gpu>,
    task: ProxyTask,
) -> Result<super::Paired, SearchError> {
    let (input, classes) = task.shape();
    let memory = memory_line(&crate::search::footprint::SupernetFootprint::of(
        gpu, config, input, classes,
    ));
    if config.run.space == SpaceKind::Darts {
        let supernet = crate::search::supernets::darts(config, gpu, input, classes)?;
        return pair_with(config, gpu, task, supernet, memory);
    }
    let supernet = crate::search::supernets::nb201(config, gpu, input, classes)?;
    pair_with(config, gpu, task, supernet, memory)
}

fn pair_with<S: MixedSupernet + 'static>(
    config: &SearchConfig,
    gpu: &std::sync::Arc<crate::device::Gpu>,
    task: ProxyTask,
    supernet: S,
    memory: String,
) -> Result<super::Paired, SearchError> {
    let operations = supernet
        .operation_names()
        .into_iter()
        .map(String::from)
        .collect();
    let core = DartsCore::new(config, gpu, task, supernet)?;
    let core = std::rc::Rc::new(std::cell::RefCell::new(core));
    let strategy = Darts {
        core: core.clone(),
        log: AlphaLog {
            remedy: config.darts.remedy.name().into(),
            order: config.darts.order,
            operations,
            derivations: Vec::new(),
        },
    };
    Ok((
        Box::new(strategy),
        Box::new(DartsEvaluator::new(core, &memory)),
    ))
}

/// The memory plan of DARTS's compiled steps, as the opening line reports it (the search was
/// refused before if it does not fit).
fn memory_line(e: &crate::search::footprint::SupernetFootprint) -> String {
    use crate::device::estimated_bytes;
    format!(
        "weights with gradients and momentum {}, {} compiled mixed steps of up to {} each: about {} on the device",
        estimated_bytes(e.parameter_bytes),
        e.plans,
        estimated_bytes(e.path_bytes),
        estimated_bytes(e.device_bytes())
    )
}

impl<S: MixedSupernet + 'static> Strategy for Darts<S> {
    fn name(&self) -> &'static str {
        "darts"
    }

    fn asynchronous(&self) -> bool {
        false
    }

    /// The cell alpha stands for now (one per update phase, whatever `n`), as the space
    /// encodes it (its canonical string parsed).
    fn propose(&mut self, ctx: &mut Context<'_>, _n: usize) -> Result<Proposal, SearchError> {
        let core = self.core.borrow();
        let derived = core
            .trainer
            .supernet
            .derive(&core.alpha_rows()?)
            .to_string();
        let rollout = ctx.space.parse(&derived).map_err(|e| {
            SearchError::Other(format!(
                "darts: the derived cell {derived} is not of the space: {e}"
            ))
        })?;
        Ok(Proposal {
            rollouts: vec![rollout],
            replay: Vec::new(),
        })
    }

    fn observe(
        &mut self,
        _ctx: &mut Context<'_>,
        batch: &[ChildRecord],
    ) -> Result<Option<String>, SearchError> {
        let core = self.core.borrow();
        let rows = core.alpha_rows()?;
        let softmax = softmax_rows(&rows);
        let derived = core.trainer.supernet.derive(&rows).to_string();
        // Both spaces' canonical strings name each operation once per edge it is on.
        let count = |op: &str| derived.matches(op).count();
        let steps = core.steps();
        let beta = core.beta(steps);
        let strongest = softmax
            .iter()
            .map(|r| r.iter().copied().fold(0.0, f32::max))
            .fold(0.0, f32::max);
        for r in batch {
            self.log.derivations.push(AlphaRecord {
                child: r.index,
                steps,
                beta,
                softmax: softmax.clone(),
                derived: r.canonical.clone(),
            });
        }
        Ok(Some(format!(
            "alpha after {steps} steps: {} skip_connect, {} none; strongest weight {strongest:.3}{}",
            count("skip_connect"),
            count("none"),
            beta.map_or(String::new(), |b| format!("; DARTS- beta {b:.3}"))
        )))
    }

    fn save(&mut self, run: &RunDir, _step: usize) -> Result<Saved, SearchError> {
        let text = serde_json::to_string_pretty(&self.log).expect("alpha log");
        run.write_file(ALPHA_FILE, text.as_bytes())?;
        Ok(Saved {
            state: serde_json::to_value(&self.log.derivations).expect("alpha log"),
            obsolete: Vec::new(),
        })
    }

    fn restore(
        &mut self,
        saved: &Json,
        run: &RunDir,
        history: &[ChildRecord],
    ) -> Result<(), SearchError> {
        if saved.is_null() {
            return Ok(());
        }
        let state_file = run.path().join(crate::search::run_dir::STATE_FILE);
        let mut derivations: Vec<AlphaRecord> = serde_json::from_value(saved.clone())
            .map_err(|e| crate::search::run_dir_error(&state_file, format!("strategy: {e}")))?;
        derivations.truncate(history.len());
        self.log.derivations = derivations;
        Ok(())
    }
}
