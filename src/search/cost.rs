//! Where the time of a search went, per session and summed over the sessions of a run (kept in
//! `state.json`, so the figures of a resumed run cover all of it).

use serde::{Deserialize, Serialize};

/// Seconds and counts of a search's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchCost {
    pub total_seconds: f64,
    /// Building, training and validating children (or measuring them on shared weights).
    pub child_seconds: f64,
    /// The evaluator's update phases (a supernet's shared-weight training) with their
    /// checkpoints.
    #[serde(default)]
    pub update_seconds: f64,
    /// Steady-state sampling passes (forward phase, readback of the ids).
    pub controller_sample_seconds: f64,
    /// Backward and Adam phases, waited for.
    pub controller_update_seconds: f64,
    /// Recording and compiling the controller's plan (once per depth) and its shaders.
    pub controller_compile_seconds: f64,
    pub controller_updates: usize,
    pub sampled_architectures: usize,
}

impl SearchCost {
    /// Share of the search spent outside training and measuring (controller, bookkeeping,
    /// files).
    pub fn outside_share(&self) -> f64 {
        if self.total_seconds <= 0.0 {
            0.0
        } else {
            1.0 - (self.child_seconds + self.update_seconds) / self.total_seconds
        }
    }

    /// Mean seconds of a controller update (backward and Adam); None before the first.
    pub fn controller_seconds_per_update(&self) -> Option<f64> {
        (self.controller_updates > 0)
            .then(|| self.controller_update_seconds / self.controller_updates as f64)
    }

    /// Mean seconds of the sampling pass per sampled architecture; None before the first.
    pub fn controller_sample_seconds_per_architecture(&self) -> Option<f64> {
        (self.sampled_architectures > 0)
            .then(|| self.controller_sample_seconds / self.sampled_architectures as f64)
    }
}

impl std::ops::Add for SearchCost {
    type Output = SearchCost;

    /// The cost of two sessions together.
    fn add(self, o: SearchCost) -> SearchCost {
        SearchCost {
            total_seconds: self.total_seconds + o.total_seconds,
            child_seconds: self.child_seconds + o.child_seconds,
            update_seconds: self.update_seconds + o.update_seconds,
            controller_sample_seconds: self.controller_sample_seconds + o.controller_sample_seconds,
            controller_update_seconds: self.controller_update_seconds + o.controller_update_seconds,
            controller_compile_seconds: self.controller_compile_seconds
                + o.controller_compile_seconds,
            controller_updates: self.controller_updates + o.controller_updates,
            sampled_architectures: self.sampled_architectures + o.sampled_architectures,
        }
    }
}
