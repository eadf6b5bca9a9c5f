//! Evaluators: they turn proposed architectures into measurements. Training from scratch (with
//! optional successive halving and early stopping), a table lookup and a weight-sharing
//! supernet are evaluators; the supernet's `update` trains the shared weights between
//! proposals (the driver loop is "update, propose, evaluate, observe", aw_nas's trainer loop).

mod checkpoint;
mod darts;
mod latency;
mod scratch;
mod supernet;
mod table;

pub use darts::{DartsCore, DartsEvaluator, SharedCore};
pub use latency::{LATENCY_PASSES, measure as measure_latency};
pub use scratch::{ProxyTask, ScratchEvaluator};
pub use supernet::{SupernetEvaluator, SupernetSettings};
pub use table::{Table, TableEvaluator};

use serde_json::Value as Json;

use super::error::SearchError;
use super::objective::Measurement;
use super::run_dir::RunDir;
use super::space::Rollout;
use super::strategy::Saved;
use crate::nn::Architecture;
use crate::util::SeededRng;

/// One architecture to evaluate.
pub struct Job {
    /// Its index in the search.
    pub index: usize,
    pub rollout: Rollout,
    pub canonical: String,
    pub architecture: Architecture,
    /// Seeds its weights and data order (independent of when it is trained).
    pub seed: u64,
}

/// What an evaluator reports, by job position (`slot`).
pub enum EvalEvent {
    /// A job finished an epoch of training.
    Epoch { slot: usize, epoch: usize },
    /// A job's measurement is known: handed over at once, so finished work is saved even if
    /// the rest of the batch is interrupted. Within a group, outcomes come in slot order.
    Done {
        slot: usize,
        measurement: Measurement,
    },
}

/// Architectures to train shared weights on, drawn with the given generator (None: the
/// strategy has no sampler of its own; see `Strategy::training_samples`).
pub type PathSource<'a> =
    dyn FnMut(&mut SeededRng) -> Result<Option<Vec<Architecture>>, SearchError> + 'a;

/// Receives an evaluator's events.
pub type OnEvent<'a> = dyn FnMut(EvalEvent) -> Result<(), SearchError> + 'a;

/// An evaluator.
pub trait Evaluator {
    /// The name on the command line and in reports (`train`, `table`).
    fn name(&self) -> &'static str;
    /// Epochs a job trains at most (for progress lines; 0 when nothing is trained).
    fn epochs(&self) -> usize;
    /// Whether a measurement is cheap to repeat (a lookup): its history line is then synced
    /// to disk with its batch rather than one by one.
    fn cheap(&self) -> bool {
        false
    }
    /// The update phase before each batch of proposals: a weight-sharing evaluator trains its
    /// shared weights here, on the architectures `paths` gives (the strategy's samples), or
    /// uniform paths where it gives none, telling `progress` (steps done, steps of the phase)
    /// after each step. Returns false if `stop` ended it.
    fn update(
        &mut self,
        _stop: &dyn Fn() -> bool,
        _paths: &mut PathSource<'_>,
        _progress: &mut dyn FnMut(usize, usize),
    ) -> Result<bool, SearchError> {
        Ok(true)
    }
    /// Writes what a resumed search needs of this evaluator (a supernet's shared weights) as it
    /// is after the update phase of `step`, and returns the state naming it (kept in
    /// `state.json` beside the batch it measures). Nothing by default.
    fn save(&mut self, _run: &RunDir, _step: usize) -> Result<Saved, SearchError> {
        Ok(Saved {
            state: Json::Null,
            obsolete: Vec::new(),
        })
    }
    /// Restores what `save` wrote (`Json::Null`: nothing was saved yet).
    fn restore(&mut self, _saved: &Json, _run: &RunDir) -> Result<(), SearchError> {
        Ok(())
    }
    /// What it holds, for the search's opening lines (a supernet's size and plan).
    fn describe(&self) -> Option<String> {
        None
    }
    /// Whether a job's outcome depends on the jobs evaluated with it (successive halving ranks
    /// the children trained together). A batch resumed with some children recorded is then
    /// evaluated whole again, so the rest get the outcomes the uninterrupted batch gave them.
    fn batch_coupled(&self) -> bool {
        false
    }
    /// Evaluates every job, delivering each measurement through `on_event` as soon as it is
    /// known. Returns false if `stop` ended it early (jobs not yet delivered are dropped).
    fn evaluate(
        &mut self,
        jobs: &[Job],
        stop: &dyn Fn() -> bool,
        on_event: &mut OnEvent<'_>,
    ) -> Result<bool, SearchError>;
}

/// The measurement of a child on shared weights: `accuracy` of its path, timed, or `Invalid`
/// with the reason when the supernet cannot hold it (`path` is an error).
fn measure_path<P>(
    path: Result<P, String>,
    accuracy: impl FnOnce(&P) -> Result<f64, SearchError>,
) -> Result<Measurement, SearchError> {
    let started = std::time::Instant::now();
    Ok(match path {
        Err(e) => Measurement {
            status: super::record::ChildStatus::Invalid,
            val_accuracy: Vec::new(),
            train_seconds: 0.0,
            latency: None,
            error: Some(e),
        },
        Ok(path) => {
            let accuracy = accuracy(&path)?;
            Measurement {
                status: super::record::ChildStatus::Ok,
                val_accuracy: vec![accuracy],
                train_seconds: started.elapsed().as_secs_f64(),
                latency: None,
                error: None,
            }
        }
    })
}
