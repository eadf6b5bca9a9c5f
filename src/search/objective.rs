//! Objectives: a child's measurements to the scalar reward a strategy maximises.
//! - `nasrl` (Zoph & Le 2017): the best validation accuracy over the last `reward_window`
//!   epochs, to the power `reward_power`.
//! - `latency` (MnasNet, Tan et al. 2019): acc * (latency / target)^w, with w = `alpha` at or
//!   below the target and `beta` above it (MnasNet's soft constraint: both -0.07; the hard
//!   one: alpha 0, beta -1). acc is the same windowed accuracy, to `reward_power`.

use serde::{Deserialize, Serialize};

use super::config::ConfigError;
use super::record::{ChildStatus, Latency};

/// Which objective, and its parameters (the configuration's `objective` section; the NAS-RL
/// window and power stay in `reinforce`, where the paper's settings put them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectiveConfig {
    /// `nasrl` or `latency`.
    pub kind: ObjectiveKind,
    /// Target latency in milliseconds (latency objective).
    pub target_ms: f64,
    pub alpha: f64,
    pub beta: f64,
    /// Which measured latency counts: at batch 1 (`true`) or at the training batch.
    pub batch1: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ObjectiveKind {
    Nasrl,
    Latency,
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        ObjectiveConfig {
            kind: ObjectiveKind::Nasrl,
            target_ms: 1.0,
            alpha: -0.07,
            beta: -0.07,
            batch1: true,
        }
    }
}

impl ObjectiveConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.target_ms.is_finite() && self.target_ms > 0.0) {
            return Err(ConfigError::field(
                "objective.target_ms",
                format!("{} (must be a positive number)", self.target_ms),
            ));
        }
        for (field, v) in [
            ("objective.alpha", self.alpha),
            ("objective.beta", self.beta),
        ] {
            if !v.is_finite() {
                return Err(ConfigError::field(field, format!("{v} is not finite")));
            }
        }
        Ok(())
    }
}

/// What an evaluator measured of one child.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub status: ChildStatus,
    pub val_accuracy: Vec<f64>,
    pub train_seconds: f64,
    pub latency: Option<Latency>,
    pub error: Option<String>,
}

/// Turns measurements into rewards.
pub trait Objective {
    fn reward(&self, m: &Measurement) -> f64;
}

/// Best validation accuracy over the last `window` epochs of a curve (0 when empty).
pub fn windowed_accuracy(val_accuracy: &[f64], window: usize) -> f64 {
    let start = val_accuracy.len().saturating_sub(window);
    val_accuracy[start..].iter().copied().fold(0.0f64, f64::max)
}

/// NAS-RL's reward: (max validation accuracy over the last `window` epochs)^`power`.
pub fn reward(val_accuracy: &[f64], window: usize, power: f64) -> f64 {
    windowed_accuracy(val_accuracy, window).powf(power)
}

/// NAS-RL's accuracy reward.
pub struct NasRl {
    pub window: usize,
    pub power: f64,
}

impl Objective for NasRl {
    fn reward(&self, m: &Measurement) -> f64 {
        if m.status.is_failure() || m.val_accuracy.is_empty() {
            return 0.0;
        }
        reward(&m.val_accuracy, self.window, self.power)
    }
}

/// MnasNet's latency-aware reward.
pub struct LatencyAware {
    pub accuracy: NasRl,
    pub target_ms: f64,
    pub alpha: f64,
    pub beta: f64,
    pub batch1: bool,
}

impl Objective for LatencyAware {
    /// Without a measured latency (a table without one) the accuracy reward alone.
    fn reward(&self, m: &Measurement) -> f64 {
        let acc = self.accuracy.reward(m);
        let Some(l) = m.latency else { return acc };
        let ms = if self.batch1 { l.batch1_ms } else { l.batch_ms };
        // A latency that is not a positive number (a failed measurement) cannot scale.
        if ms.is_nan() || ms <= 0.0 {
            return acc;
        }
        let w = if ms <= self.target_ms {
            self.alpha
        } else {
            self.beta
        };
        acc * (ms / self.target_ms).powf(w)
    }
}

/// The objective a configuration names.
pub fn build(config: &super::SearchConfig) -> Box<dyn Objective> {
    let accuracy = NasRl {
        window: config.reinforce.reward_window,
        power: config.reinforce.reward_power,
    };
    let o = &config.objective;
    match o.kind {
        ObjectiveKind::Nasrl => Box::new(accuracy),
        ObjectiveKind::Latency => Box::new(LatencyAware {
            accuracy,
            target_ms: o.target_ms,
            alpha: o.alpha,
            beta: o.beta,
            batch1: o.batch1,
        }),
    }
}
