//! ENAS's answer to a search (Pham et al. 2018, section 2.2): once the budget is spent, sample
//! several architectures from the trained controller, measure each on the final shared
//! weights, and keep the most accurate as `derived.json`, the network to retrain from
//! scratch. The best child seen during the search (`best.json`) was measured on weights
//! that were still training; the derived one is the controller's final word.
//!
//! Only a strategy with a sampler (`Strategy::training_samples`: the controller strategies)
//! and a weight-sharing evaluator derive. The draws come from the run's seed, not from the
//! search's generator, so a finished run resumed derives the same architecture again.

use serde::Serialize;

use super::config::SearchConfig;
use super::driver::{Parts, child_seed};
use super::error::SearchError;
use super::evaluator::{EvalEvent, Job};
use super::run_dir::RunDir;
use super::space::Rollout;
use crate::util::seeded_rng;

/// Mixed into the run's seed for the derivation's draws.
const DERIVE_SEED: u64 = 0x00DE_715E_ED0F_E7A5;

/// One architecture sampled for the derivation, as measured on the shared weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedSample {
    pub canonical: String,
    pub parameters: usize,
    /// Accuracy of its path on the supernet's validation images (`supernet.eval_images`).
    pub val_accuracy: f64,
}

/// The derivation: every sample in the order drawn, and which one was kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    pub samples: Vec<DerivedSample>,
    /// Index into `samples` of the most accurate (the first of equals).
    pub chosen: usize,
}

impl Derived {
    pub fn chosen(&self) -> &DerivedSample {
        &self.samples[self.chosen]
    }
}

/// Samples `supernet.derive_samples` architectures from the strategy (one with a sampler:
/// `Strategy::has_sampler`), measures them with the evaluator and writes the most accurate to
/// `derived.json`. None when `stop` interrupted the measurements (nothing is written then).
pub(super) fn derive(
    parts: &mut Parts,
    run: &RunDir,
    config: &SearchConfig,
    input: [usize; 3],
    classes: usize,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Derived>, SearchError> {
    let wanted = config.supernet.derive_samples;
    let sampled = run.history().len();
    let mut rng = seeded_rng(config.run.seed ^ DERIVE_SEED);
    let mut rollouts: Vec<Rollout> = Vec::with_capacity(wanted);
    while rollouts.len() < wanted {
        let batch = parts
            .strategy
            .training_samples(parts.space.as_ref(), sampled, &mut rng)?
            .unwrap_or_default();
        if batch.is_empty() {
            return Err(SearchError::Other(
                "the strategy sampled no architectures to derive from".into(),
            ));
        }
        rollouts.extend(batch);
    }
    rollouts.truncate(wanted);
    let space = parts.space.as_ref();
    let jobs: Vec<Job> = rollouts
        .into_iter()
        .enumerate()
        .map(|(k, rollout)| {
            // Indices after the search's children: they only name the samples in messages.
            let index = sampled + k;
            Job {
                index,
                canonical: space.canonical(&rollout),
                architecture: space.architecture(&rollout, input, classes),
                seed: child_seed(config.run.seed, index),
                rollout,
            }
        })
        .collect();
    let mut accuracy = vec![None; jobs.len()];
    let completed = parts.evaluator.evaluate(&jobs, stop, &mut |event| {
        if let EvalEvent::Done { slot, measurement } = event {
            accuracy[slot] = Some(measurement.val_accuracy.last().copied().unwrap_or(0.0));
        }
        Ok(())
    })?;
    if !completed {
        return Ok(None);
    }
    let samples: Vec<DerivedSample> = jobs
        .iter()
        .zip(accuracy)
        .map(|(job, acc)| DerivedSample {
            canonical: job.canonical.clone(),
            parameters: job.architecture.parameter_count(),
            val_accuracy: acc.unwrap_or(0.0),
        })
        .collect();
    let chosen = samples.iter().enumerate().fold(0, |best, (k, s)| {
        if s.val_accuracy > samples[best].val_accuracy {
            k
        } else {
            best
        }
    });
    run.write_derived(&jobs[chosen].architecture)?;
    Ok(Some(Derived { samples, chosen }))
}
