//! Random search: every architecture drawn uniformly from the space. The reference every other
//! strategy must beat at equal budget (Li & Talwalkar 2019).

use serde_json::Value as Json;

use super::{Context, Proposal, Saved, Strategy};
use crate::search::error::SearchError;
use crate::search::record::ChildRecord;
use crate::search::run_dir::RunDir;

pub struct RandomSearch;

impl Strategy for RandomSearch {
    fn name(&self) -> &'static str {
        "random"
    }

    fn asynchronous(&self) -> bool {
        true
    }

    fn propose(&mut self, ctx: &mut Context<'_>, n: usize) -> Result<Proposal, SearchError> {
        let first = ctx.history.len();
        let rollouts = (0..n).map(|_| ctx.space.sample(first, ctx.rng)).collect();
        Ok(Proposal {
            rollouts,
            replay: Vec::new(),
        })
    }

    fn observe(
        &mut self,
        _ctx: &mut Context<'_>,
        _batch: &[ChildRecord],
    ) -> Result<Option<String>, SearchError> {
        Ok(None)
    }

    fn save(&mut self, _run: &RunDir, _step: usize) -> Result<Saved, SearchError> {
        Ok(Saved {
            state: Json::Null,
            obsolete: Vec::new(),
        })
    }

    fn restore(
        &mut self,
        _saved: &Json,
        _run: &RunDir,
        _history: &[ChildRecord],
    ) -> Result<(), SearchError> {
        Ok(())
    }
}
