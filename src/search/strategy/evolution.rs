//! Regularized (aging) evolution (Real et al. 2019): the first `population` proposals are
//! uniform samples; after that each proposal mutates the best of `sample_size` members drawn
//! at random from the population, and every observed child joins the population while its
//! oldest member leaves. The population is the last `population` successful children of the
//! history, so a resumed search rebuilds it from `history.jsonl` and needs no state of its own.
//! Proposals need no pending results, so the strategy works asynchronously.

use std::collections::VecDeque;

use rand::RngExt;
use serde_json::Value as Json;

use super::{Context, Proposal, Saved, Strategy};
use crate::search::config::EvolutionConfig;
use crate::search::error::SearchError;
use crate::search::record::ChildRecord;
use crate::search::run_dir::RunDir;
use crate::search::space::Rollout;

pub struct Evolution {
    config: EvolutionConfig,
    /// (rollout, reward), oldest first.
    population: VecDeque<(Rollout, f64)>,
}

impl Evolution {
    pub fn new(config: &EvolutionConfig) -> Evolution {
        Evolution {
            config: config.clone(),
            population: VecDeque::new(),
        }
    }

    fn admit(&mut self, r: &ChildRecord) {
        // A failed child never becomes a parent.
        if r.status.is_failure() {
            return;
        }
        self.population.push_back((r.rollout.clone(), r.reward));
        while self.population.len() > self.config.population {
            self.population.pop_front();
        }
    }
}

impl Strategy for Evolution {
    fn name(&self) -> &'static str {
        "evolution"
    }

    fn asynchronous(&self) -> bool {
        true
    }

    fn propose(&mut self, ctx: &mut Context<'_>, n: usize) -> Result<Proposal, SearchError> {
        let first = ctx.history.len();
        let mut rollouts = Vec::with_capacity(n);
        for k in 0..n {
            // Warm-up: until the population is full (counting proposals of this batch).
            if first + k < self.config.population || self.population.is_empty() {
                rollouts.push(ctx.space.sample(first + k, ctx.rng));
                continue;
            }
            let mut best: Option<&(Rollout, f64)> = None;
            for _ in 0..self.config.sample_size {
                let c = &self.population[ctx.rng.random_range(0..self.population.len())];
                if best.is_none_or(|b| c.1 > b.1) {
                    best = Some(c);
                }
            }
            let parent = &best.expect("sample_size >= 1").0;
            rollouts.push(ctx.space.mutate(parent, ctx.rng));
        }
        Ok(Proposal {
            rollouts,
            replay: Vec::new(),
        })
    }

    fn observe(
        &mut self,
        _ctx: &mut Context<'_>,
        batch: &[ChildRecord],
    ) -> Result<Option<String>, SearchError> {
        for r in batch {
            self.admit(r);
        }
        Ok(None)
    }

    fn save(&mut self, _run: &RunDir, _step: usize) -> Result<Saved, SearchError> {
        Ok(Saved {
            state: Json::Null,
            obsolete: Vec::new(),
        })
    }

    /// Rebuilds the population from the history's children of completed batches (the driver
    /// restores before it resumes a batch in flight, whose recorded children are observed with
    /// the rest of that batch).
    fn restore(
        &mut self,
        _saved: &Json,
        _run: &RunDir,
        history: &[ChildRecord],
    ) -> Result<(), SearchError> {
        self.population.clear();
        for r in history {
            self.admit(r);
        }
        Ok(())
    }
}
