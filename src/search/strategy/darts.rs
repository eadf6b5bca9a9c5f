//! DARTS (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019), first order, on
//! the NAS-Bench-201 cell: the strategy's parameters are the architecture weights alpha `[6, 5]`
//! (one row of operation logits per edge, shared by every cell), trained by gradient inside the
//! supernet's graph. Alpha lives in the `DartsCore` this strategy shares with its evaluator
//! (`evaluator/darts.rs`), whose update phase alternates weight and architecture steps; this
//! half proposes, after each phase, the one cell alpha stands for (the strongest operation on
//! every edge, `none` included: NAS-Bench-201's derivation) and, on observing its measurement,
//! records alpha's softmax so the run shows how the derived cell evolves.
//!
//! The search's answer is the last derived cell, not the best-scoring one
//! (`StrategyKind::answer_is_last`): `best.json` holds it. Alpha and its Adam state are
//! checkpointed with the shared weights (they change together at every step); what this half
//! keeps in `state.json` is the softmax of alpha after each phase, also written to `darts.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{Context, Proposal, Saved, Strategy};
use crate::nn::nb201::Nb201Op;
use crate::nn::supernet::{AlphaRow, derive_genotype};
use crate::search::config::SearchConfig;
use crate::search::error::SearchError;
use crate::search::evaluator::{DartsCore, DartsEvaluator, ProxyTask, SharedCore};
use crate::search::record::ChildRecord;
use crate::search::run_dir::RunDir;
use crate::search::space::Rollout;

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
    /// softmax(alpha) per edge (edges in NAS-Bench-201 order, operations in `Nb201Op::ALL`
    /// order).
    pub softmax: [AlphaRow; 6],
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

/// Row-wise softmax of alpha.
pub fn softmax_rows(rows: &[AlphaRow; 6]) -> [AlphaRow; 6] {
    std::array::from_fn(|e| {
        let row = &rows[e];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: [f64; 5] = std::array::from_fn(|o| ((row[o] - max) as f64).exp());
        let sum: f64 = exp.iter().sum();
        std::array::from_fn(|o| (exp[o] / sum) as f32)
    })
}

/// DARTS's strategy half: derives cells from the shared alpha.
pub struct Darts {
    core: SharedCore,
    log: AlphaLog,
}

/// DARTS's strategy and the evaluator it trains inside, sharing one supernet and alpha.
pub fn pair(
    config: &SearchConfig,
    gpu: &std::sync::Arc<crate::device::Gpu>,
    task: ProxyTask,
) -> Result<super::Paired, SearchError> {
    let core = std::rc::Rc::new(std::cell::RefCell::new(DartsCore::new(config, gpu, task)?));
    let strategy = Darts {
        core: core.clone(),
        log: AlphaLog {
            remedy: config.darts.remedy.name().into(),
            order: config.darts.order,
            operations: Nb201Op::ALL.iter().map(|o| o.name().to_string()).collect(),
            derivations: Vec::new(),
        },
    };
    Ok((Box::new(strategy), Box::new(DartsEvaluator::new(core))))
}

impl Strategy for Darts {
    fn name(&self) -> &'static str {
        "darts"
    }

    fn asynchronous(&self) -> bool {
        false
    }

    /// The cell alpha stands for now (one per update phase, whatever `n`).
    fn propose(&mut self, _ctx: &mut Context<'_>, _n: usize) -> Result<Proposal, SearchError> {
        let rows = self.core.borrow().alpha_rows()?;
        let genotype = derive_genotype(&rows);
        Ok(Proposal {
            rollouts: vec![Rollout(genotype.0.iter().map(|op| op.id()).collect())],
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
        let genotype = derive_genotype(&rows);
        let count = |op: Nb201Op| genotype.0.iter().filter(|&&o| o == op).count();
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
                softmax,
                derived: r.canonical.clone(),
            });
        }
        Ok(Some(format!(
            "alpha after {steps} steps: {} skip_connect, {} none; strongest weight {strongest:.3}{}",
            count(Nb201Op::SkipConnect),
            count(Nb201Op::None),
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
