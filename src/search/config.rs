//! The search configuration file (JSON): search space, controller, REINFORCE, child training and
//! search budget. Every field is optional; omitted fields take the paper's values. Errors name
//! the file and the field (`controller.learning_rate: ...`).

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::space::SearchSpace;

/// A bad configuration value, naming the file and the field.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub source: String,
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            source: "config".into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.field, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The LSTM controller (Zoph & Le: 2 layers of 35 units, weights U(-0.08, 0.08), Adam 6e-4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControllerConfig {
    pub hidden: usize,
    pub layers: usize,
    pub init_range: f32,
    pub learning_rate: f32,
    /// Softmax temperature for sampling and log-probabilities (1 = plain softmax).
    pub temperature: f32,
    /// Size of the anchor-attention projections W_prev, W_curr and v.
    pub attention: usize,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            hidden: 35,
            layers: 2,
            init_range: 0.08,
            learning_rate: 6e-4,
            temperature: 1.0,
            attention: 35,
        }
    }
}

/// Policy-gradient settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReinforceConfig {
    /// m: architectures sampled per controller update.
    pub children_per_step: usize,
    /// Reward = (max validation accuracy over the last `reward_window` epochs) ^ `reward_power`.
    pub reward_power: f64,
    pub reward_window: usize,
    /// Baseline b <- decay * b + (1 - decay) * mean reward of the step.
    pub baseline_decay: f64,
    /// Weight of the entropy bonus in the controller loss (0 = off).
    pub entropy_weight: f64,
}

impl Default for ReinforceConfig {
    fn default() -> Self {
        ReinforceConfig {
            children_per_step: 8,
            reward_power: 3.0,
            reward_window: 5,
            baseline_decay: 0.95,
            entropy_weight: 0.0,
        }
    }
}

/// How each child network is trained to get its reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChildConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
    /// Training images used per child (a seeded subset of the training split); 0 = all.
    pub train_images: usize,
    /// Validation images held out of the training set for the reward.
    pub validation_images: usize,
    /// Children trained at once on the device (steps interleaved in one encoder); 0 = m.
    pub concurrent: usize,
}

impl Default for ChildConfig {
    fn default() -> Self {
        ChildConfig {
            epochs: 50,
            batch_size: 128,
            learning_rate: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
            train_images: 0,
            validation_images: 5000,
            concurrent: 0,
        }
    }
}

/// Search strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// LSTM controller trained with REINFORCE (Zoph & Le).
    Reinforce,
    /// Uniform sampling from the same space, for comparison at equal budget.
    Random,
}

/// Budget and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Children to train in all.
    pub budget: usize,
    pub strategy: Strategy,
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            budget: 12_800,
            strategy: Strategy::Reinforce,
            seed: 0,
        }
    }
}

/// Everything a search needs besides the data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    pub space: SearchSpace,
    pub controller: ControllerConfig,
    pub reinforce: ReinforceConfig,
    pub child: ChildConfig,
    pub run: RunConfig,
}

/// Deserialises one section field by field, so an error names the exact field.
fn section<T: DeserializeOwned>(name: &str, value: &Json) -> Result<T, ConfigError> {
    let Some(fields) = value.as_object() else {
        return Err(ConfigError::field(
            name,
            format!("expected an object, got {value}"),
        ));
    };
    for (key, v) in fields {
        serde_json::from_value::<T>(json!({ key: v }))
            .map_err(|e| ConfigError::field(format!("{name}.{key}"), e.to_string()))?;
    }
    serde_json::from_value(value.clone()).map_err(|e| ConfigError::field(name, e.to_string()))
}

impl SearchConfig {
    /// Parses and validates JSON text; `source` (usually the path) names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<SearchConfig, ConfigError> {
        let with_source = |e: ConfigError| ConfigError {
            source: source.to_string(),
            ..e
        };
        let root: Json = serde_json::from_str(text)
            .map_err(|e| with_source(ConfigError::field("", format!("not valid JSON: {e}"))))?;
        let Some(top) = root.as_object() else {
            return Err(with_source(ConfigError::field(
                "",
                "expected a JSON object at the top level",
            )));
        };
        let mut config = SearchConfig::default();
        for (key, value) in top {
            match key.as_str() {
                "space" => config.space = section("space", value).map_err(with_source)?,
                "controller" => {
                    config.controller = section("controller", value).map_err(with_source)?
                }
                "reinforce" => {
                    config.reinforce = section("reinforce", value).map_err(with_source)?
                }
                "child" => config.child = section("child", value).map_err(with_source)?,
                "run" => config.run = section("run", value).map_err(with_source)?,
                other => {
                    return Err(with_source(ConfigError::field(
                        other,
                        "unknown section (expected space, controller, reinforce, child or run)",
                    )));
                }
            }
        }
        config.validate().map_err(with_source)?;
        Ok(config)
    }

    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<SearchConfig, ConfigError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source: source.clone(),
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        SearchConfig::from_json(&text, &source)
    }

    /// The small search `nasgpu search` runs with no arguments: the paper's token structure in
    /// a space and proxy small enough to finish in minutes on software Vulkan.
    pub fn quick() -> SearchConfig {
        SearchConfig {
            space: SearchSpace {
                layers: 3,
                depth_increment: 0,
                depth_increment_every: 0,
                max_layers: 3,
                filter_heights: vec![1, 3, 5],
                filter_widths: vec![1, 3, 5],
                filter_counts: vec![8, 16, 24],
                strides: vec![1, 2],
                skip_connections: true,
            },
            controller: ControllerConfig::default(),
            reinforce: ReinforceConfig {
                children_per_step: 4,
                reward_window: 2,
                ..ReinforceConfig::default()
            },
            child: ChildConfig {
                epochs: 2,
                batch_size: 64,
                learning_rate: 0.05,
                train_images: 1500,
                validation_images: 500,
                ..ChildConfig::default()
            },
            run: RunConfig {
                budget: 12,
                ..RunConfig::default()
            },
        }
    }

    /// Checks values that parse but cannot run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.space.validate()?;
        let positive = [
            ("controller.hidden", self.controller.hidden),
            ("controller.layers", self.controller.layers),
            ("controller.attention", self.controller.attention),
            (
                "reinforce.children_per_step",
                self.reinforce.children_per_step,
            ),
            ("reinforce.reward_window", self.reinforce.reward_window),
            ("child.epochs", self.child.epochs),
            ("child.batch_size", self.child.batch_size),
            ("child.validation_images", self.child.validation_images),
            ("run.budget", self.run.budget),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::field(field, "0 (must be at least 1)"));
            }
        }
        let rates = [
            ("controller.init_range", self.controller.init_range as f64),
            (
                "controller.learning_rate",
                self.controller.learning_rate as f64,
            ),
            ("controller.temperature", self.controller.temperature as f64),
            ("child.learning_rate", self.child.learning_rate as f64),
            ("reinforce.reward_power", self.reinforce.reward_power),
        ];
        for (field, value) in rates {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::field(
                    field,
                    format!("{value} (must be a positive number)"),
                ));
            }
        }
        let unit = [
            ("reinforce.baseline_decay", self.reinforce.baseline_decay),
            ("child.momentum", self.child.momentum as f64),
        ];
        for (field, value) in unit {
            if !(0.0..1.0).contains(&value) {
                return Err(ConfigError::field(
                    field,
                    format!("{value} (must be in [0, 1))"),
                ));
            }
        }
        for (field, value) in [
            ("reinforce.entropy_weight", self.reinforce.entropy_weight),
            ("child.weight_decay", self.child.weight_decay as f64),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::field(field, format!("{value} (must be >= 0)")));
            }
        }
        Ok(())
    }
}
