//! The search configuration file (JSON): one section per part of a search (the macro space,
//! the NAS-Bench-201 space, the controller, REINFORCE, PPO, evolution, child training,
//! successive halving, the table, the objective) and the run (budget, which space, strategy
//! and evaluator, seed). Every field is optional; omitted fields take the papers' values.
//! Errors name the file and the field (`controller.learning_rate: ...`).

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::objective::ObjectiveConfig;
use super::space::{DartsSpaceConfig, EnasSpaceConfig, MacroSpace, Nb201SpaceConfig};

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

/// Most architectures per controller update (m); also bounds host buffers sized by m.
pub const MAX_CHILDREN_PER_STEP: usize = 4096;

/// Upper bounds of whole-number fields: far beyond any published setting, low enough that no
/// loop count or host buffer sized by them can hang or exhaust the machine before the memory
/// estimate (`search::footprint`) weighs what they ask for together.
const COUNT_LIMITS: &[(&str, usize)] = &[
    ("controller.hidden", 1 << 16),
    ("controller.layers", 1024),
    ("controller.attention", 1 << 16),
    ("reinforce.children_per_step", MAX_CHILDREN_PER_STEP),
    ("reinforce.reward_window", 100_000),
    ("ppo.epochs", 10_000),
    ("evolution.population", 10_000_000),
    ("evolution.sample_size", 10_000_000),
    ("child.epochs", 100_000),
    ("child.batch_size", 1 << 20),
    ("child.concurrent", MAX_CHILDREN_PER_STEP),
    ("child.patience", 100_000),
    ("halving.min_epochs", 100_000),
    ("halving.eta", 1000),
    ("supernet.warmup_steps", 100_000_000),
    ("supernet.steps_per_update", 1_000_000),
    ("supernet.batch_size", 1 << 20),
    ("supernet.eval_images", 100_000_000),
    ("supernet.plan_cache", 1024),
    ("run.budget", 100_000_000),
];

/// Upper bounds of real-valued fields whose sensible range the type does not say.
const REAL_LIMITS: &[(&str, f64, &str)] = &[
    (
        "controller.init_range",
        1.0,
        "weights U(-r, r) beyond 1 saturate the LSTM (the paper uses 0.08)",
    ),
    (
        "controller.learning_rate",
        1.0,
        "Adam steps beyond 1 diverge",
    ),
    (
        "controller.temperature",
        1000.0,
        "the softmax is uniform long before",
    ),
    (
        "controller.skip_weight",
        1e6,
        "the skip penalty would be all of the loss",
    ),
    (
        "child.learning_rate",
        100.0,
        "SGD beyond 100 diverges at once",
    ),
    (
        "child.weight_decay",
        1.0,
        "decay beyond 1 erases the weights",
    ),
    (
        "supernet.learning_rate",
        100.0,
        "SGD beyond 100 diverges at once",
    ),
    (
        "supernet.weight_decay",
        1.0,
        "decay beyond 1 erases the weights",
    ),
    (
        "reinforce.reward_power",
        100.0,
        "accuracy^100 is 0 for every child",
    ),
    (
        "reinforce.entropy_weight",
        1e6,
        "the entropy bonus would be all of the loss",
    ),
];

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
    /// ENAS's skip penalty (Pham et al. 2018, as released): the loss gains `skip_weight` times
    /// the mean over layers with skip decisions of Σ_j KL(Bern(P(j feeds i)) ‖
    /// Bern(`skip_target`)), which keeps the sampled networks from filling with skips. 0 =
    /// off (NAS-RL has none); the released ENAS macro search uses 0.8 and 0.4.
    pub skip_weight: f32,
    pub skip_target: f32,
    /// ENAS's logit squashing (as released): every logit becomes c · tanh(logit / T) before
    /// the softmax, c = `tanh_constant` (divided by `op_tanh_reduce` for operations), which
    /// keeps the controller from saturating early. 0 = off (NAS-RL); the released macro search
    /// uses 1.5 and 2.5.
    pub tanh_constant: f32,
    pub op_tanh_reduce: f32,
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
            skip_weight: 0.0,
            skip_target: 0.4,
            tanh_constant: 0.0,
            op_tanh_reduce: 1.0,
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
    /// Stop a child whose best validation accuracy has not improved for this many epochs
    /// (0 = never).
    pub patience: usize,
    /// Time each trained child's inference (batch 1 and `batch_size`) for the history.
    pub latency: bool,
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
            patience: 0,
            latency: true,
        }
    }
}

/// PPO's settings (Schulman et al. 2017).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpoConfig {
    /// Adam steps over each batch of m architectures.
    pub epochs: usize,
    /// ε of the clipped ratio.
    pub clip: f64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            epochs: 4,
            clip: 0.2,
        }
    }
}

/// Regularized evolution's settings (Real et al. 2019: P = 100, S = 25 on NAS-Bench-101).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionConfig {
    /// P: the population; the first P architectures are drawn uniformly.
    pub population: usize,
    /// S: members drawn for each tournament.
    pub sample_size: usize,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig {
            population: 100,
            sample_size: 25,
        }
    }
}

/// Successive halving of the children trained together (`min_epochs` 0 = off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HalvingConfig {
    /// First rung: every child trains this many epochs; then rungs at min_epochs * eta^k.
    pub min_epochs: usize,
    /// At each rung the best 1/eta go on.
    pub eta: usize,
}

impl Default for HalvingConfig {
    fn default() -> Self {
        HalvingConfig {
            min_epochs: 0,
            eta: 3,
        }
    }
}

/// The weight-sharing evaluator (single-path one-shot, Guo et al. 2020): shared weights trained
/// on uniformly drawn paths, SGD with Nesterov momentum and a cosine schedule over the whole
/// search; the train/validation split is the `child` section's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupernetConfig {
    /// Shared-weight steps before the first proposals (the supernet's own training).
    pub warmup_steps: usize,
    /// Shared-weight steps before each later batch of proposals (0 = weights frozen after the
    /// warm-up, as in single-path one-shot's search phase).
    pub steps_per_update: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    /// Validation images a path's accuracy is measured on (whole batches of `batch_size`).
    pub eval_images: usize,
    /// Compiled path steps kept on the device (a path drawn again soon reuses its plan).
    pub plan_cache: usize,
    /// Which paths the shared weights train on.
    pub training_paths: TrainingPaths,
    /// The shared weights' gradients are clipped to this global norm at every step (0 = off;
    /// ENAS's `child_grad_bound` and DARTS's `grad_clip` are 5).
    pub grad_clip: f32,
    /// Architectures sampled from a trained controller at the end of the search, each measured
    /// on the final shared weights; the most accurate is written as `derived.json` (ENAS's
    /// answer; 0 = none). Strategies without a controller ignore it.
    pub derive_samples: usize,
}

/// The paths a supernet's shared weights train on (the `supernet.training_paths` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainingPaths {
    /// The strategy's own samples where it has a sampler (ENAS: the controller's, as the
    /// released code trains them), else uniform ones.
    Strategy,
    /// Uniform paths whatever the strategy (single-path one-shot's training).
    Uniform,
}

impl Default for SupernetConfig {
    fn default() -> Self {
        SupernetConfig {
            warmup_steps: 200,
            steps_per_update: 20,
            batch_size: 64,
            learning_rate: 0.05,
            momentum: 0.9,
            weight_decay: 3e-4,
            eval_images: 256,
            plan_cache: 4,
            training_paths: TrainingPaths::Strategy,
            grad_clip: 5.0,
            derive_samples: 10,
        }
    }
}

impl SupernetConfig {
    /// Shared-weight steps of a whole search of `budget` children proposed `m` at a time (the
    /// cosine schedule's horizon).
    pub fn total_steps(&self, budget: usize, m: usize) -> usize {
        self.warmup_steps + self.steps_per_update * budget.div_ceil(m.max(1))
    }
}

/// A remedy for DARTS's collapse to `skip_connect` (the `darts.remedy` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DartsRemedy {
    /// Plain first-order DARTS.
    None,
    /// DARTS- (Chu et al., ICLR 2021): an auxiliary skip connection `beta * x` on every mixed
    /// edge, beta decaying linearly from 1 to 0 over the search, so `skip_connect` no longer
    /// has to win alpha to carry the residual path; derivation ignores it.
    DartsMinus,
}

impl DartsRemedy {
    /// The name in the configuration and in reports.
    pub fn name(self) -> &'static str {
        match self {
            DartsRemedy::None => "none",
            DartsRemedy::DartsMinus => "darts-minus",
        }
    }
}

/// DARTS (`--strategy darts`, Liu et al. 2019): the architecture weights alpha and their
/// optimiser. The shared weights train as the `supernet` section says (batch, SGD rate,
/// momentum, decay; `eval_images` measures each derived cell); its `warmup_steps` and
/// `steps_per_update` are not used: DARTS alternates one weight step and one architecture step
/// from the start, `steps_per_derivation` pairs before each derived child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsConfig {
    /// Adam's rate on alpha (DARTS: 3e-4).
    pub learning_rate: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// L2 on alpha (DARTS: 1e-3).
    pub weight_decay: f32,
    /// Alternating (weight, architecture) step pairs before each derived child.
    pub steps_per_derivation: usize,
    /// 1: first-order DARTS (xi = 0); 2: second order (the unrolled architecture step through
    /// one virtual weight step, with a finite-difference Hessian-vector product; about 5x the
    /// first-order architecture step).
    pub order: u32,
    /// Skip-collapse remedy: `none` (default) or `darts-minus`.
    pub remedy: DartsRemedy,
}

impl Default for DartsConfig {
    fn default() -> Self {
        DartsConfig {
            learning_rate: 3e-4,
            beta1: 0.5,
            beta2: 0.999,
            weight_decay: 1e-3,
            steps_per_derivation: 20,
            order: 1,
            // Off: at the sizes measured so far (scripts/darts-remedy.sh, README) DARTS- made
            // the derived cell all avg_pool_3x3 and retrain worse; plain DARTS did not collapse.
            remedy: DartsRemedy::None,
        }
    }
}

impl DartsConfig {
    /// Alternating step pairs of a whole search of `budget` children.
    pub fn total_steps(&self, budget: usize) -> usize {
        self.steps_per_derivation * budget
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.order != 1 && self.order != 2 {
            return Err(ConfigError::field(
                "darts.order",
                format!(
                    "{} (must be 1, first order, or 2, second order)",
                    self.order
                ),
            ));
        }
        if self.steps_per_derivation == 0 {
            return Err(ConfigError::field(
                "darts.steps_per_derivation",
                "0 (must be at least 1)",
            ));
        }
        if self.steps_per_derivation > 1_000_000 {
            return Err(ConfigError::field(
                "darts.steps_per_derivation",
                format!(
                    "{} is more than the limit of 1000000",
                    self.steps_per_derivation
                ),
            ));
        }
        let lr = self.learning_rate as f64;
        if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
            return Err(ConfigError::field(
                "darts.learning_rate",
                format!("{lr} (must be in (0, 1]: Adam steps beyond 1 diverge)"),
            ));
        }
        for (field, value) in [("darts.beta1", self.beta1), ("darts.beta2", self.beta2)] {
            if !(0.0..1.0).contains(&value) {
                return Err(ConfigError::field(
                    field,
                    format!("{value} (must be in [0, 1))"),
                ));
            }
        }
        let wd = self.weight_decay as f64;
        if !(wd.is_finite() && (0.0..=1.0).contains(&wd)) {
            return Err(ConfigError::field(
                "darts.weight_decay",
                format!("{wd} (must be in [0, 1])"),
            ));
        }
        Ok(())
    }
}

/// The tabular evaluator's file and columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableConfig {
    /// CSV file with a header line.
    pub file: Option<std::path::PathBuf>,
    /// Column holding the space's canonical architecture names.
    pub arch_column: String,
    /// Column whose number stands for the validation accuracy.
    pub metric: String,
    /// Column of simulated training seconds, if any.
    pub cost: Option<String>,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            file: None,
            arch_column: "arch".into(),
            metric: "accuracy".into(),
            cost: None,
        }
    }
}

/// Search strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// LSTM controller trained with REINFORCE (Zoph & Le).
    Reinforce,
    /// Uniform sampling from the same space, for comparison at equal budget.
    Random,
    /// LSTM controller trained with PPO's clipped surrogate (Zoph et al. 2018).
    Ppo,
    /// Regularized (aging) evolution (Real et al. 2019).
    Evolution,
    /// DARTS (Liu et al. 2019): architecture weights trained by gradient inside the supernet
    /// (the `darts` section; space nb201 or darts, evaluator supernet).
    Darts,
}

impl StrategyKind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Reinforce => "reinforce",
            StrategyKind::Random => "random",
            StrategyKind::Ppo => "ppo",
            StrategyKind::Evolution => "evolution",
            StrategyKind::Darts => "darts",
        }
    }

    /// Whether the search's answer is its last child (DARTS: the cell derived at the end)
    /// rather than the child of highest reward; `best.json` then holds the last child.
    pub fn answer_is_last(self) -> bool {
        self == StrategyKind::Darts
    }
}

/// Search space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SpaceKind {
    /// NAS-RL's macro space (the `space` section).
    Macro,
    /// The NAS-Bench-201 cell space (the `nb201` section).
    Nb201,
    /// The DARTS cell space, searched discretely (the `darts_space` section).
    Darts,
    /// The ENAS macro space (the `enas_space` section).
    Enas,
}

impl SpaceKind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SpaceKind::Macro => "macro",
            SpaceKind::Nb201 => "nb201",
            SpaceKind::Darts => "darts",
            SpaceKind::Enas => "enas",
        }
    }
}

/// How proposals are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EvaluatorKind {
    /// Train each child from scratch (the `child` and `halving` sections).
    Train,
    /// Look each child up in a table (the `table` section).
    Table,
    /// Measure each child on the shared weights of one supernet (the `supernet` section).
    Supernet,
}

impl EvaluatorKind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EvaluatorKind::Train => "train",
            EvaluatorKind::Table => "table",
            EvaluatorKind::Supernet => "supernet",
        }
    }

    /// Whether it trains on data (children or a supernet), so a search needs a dataset.
    pub fn reads_data(self) -> bool {
        self != EvaluatorKind::Table
    }
}

/// Budget, parts and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Children to evaluate in all.
    pub budget: usize,
    /// Seconds of search time, over every session of the run, after which no new batch of
    /// children is started (the batch in flight is finished, so no work is lost); 0: no limit.
    /// Whichever of this and `budget` comes first ends the search.
    pub time_limit: f64,
    pub strategy: StrategyKind,
    pub space: SpaceKind,
    pub evaluator: EvaluatorKind,
    pub seed: u64,
}

impl RunConfig {
    /// Whether `seconds` of search time use up the time limit (never, without one).
    pub fn time_spent(&self, seconds: f64) -> bool {
        self.time_limit > 0.0 && seconds >= self.time_limit
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            budget: 12_800,
            time_limit: 0.0,
            strategy: StrategyKind::Reinforce,
            space: SpaceKind::Macro,
            evaluator: EvaluatorKind::Train,
            seed: 0,
        }
    }
}

/// Everything a search needs besides the data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// The macro space (NAS-RL).
    pub space: MacroSpace,
    pub nb201: Nb201SpaceConfig,
    pub darts_space: DartsSpaceConfig,
    pub enas_space: EnasSpaceConfig,
    pub controller: ControllerConfig,
    pub reinforce: ReinforceConfig,
    pub ppo: PpoConfig,
    pub evolution: EvolutionConfig,
    pub child: ChildConfig,
    pub halving: HalvingConfig,
    pub supernet: SupernetConfig,
    pub darts: DartsConfig,
    pub table: TableConfig,
    pub objective: ObjectiveConfig,
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

/// The sections of a configuration file.
pub const SECTIONS: &[&str] = &[
    "space",
    "nb201",
    "darts_space",
    "enas_space",
    "controller",
    "reinforce",
    "ppo",
    "evolution",
    "child",
    "halving",
    "supernet",
    "darts",
    "table",
    "objective",
    "run",
];

impl SearchConfig {
    /// Parses and validates JSON text; `source` (usually the path) names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<SearchConfig, ConfigError> {
        let with_source = |e: ConfigError| ConfigError {
            source: source.to_string(),
            ..e
        };
        let root: Json = serde_json::from_str(text).map_err(|e| {
            // A number out of range (`1e999`) fails here, before any field is read: name the
            // field it stands in.
            let field = crate::util::json_path::path_at(text, e.line(), e.column());
            with_source(ConfigError::field(
                field.unwrap_or_default(),
                format!("not valid JSON: {e}"),
            ))
        })?;
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
                "nb201" => config.nb201 = section("nb201", value).map_err(with_source)?,
                "darts_space" => {
                    config.darts_space = section("darts_space", value).map_err(with_source)?
                }
                "enas_space" => {
                    config.enas_space = section("enas_space", value).map_err(with_source)?
                }
                "ppo" => config.ppo = section("ppo", value).map_err(with_source)?,
                "evolution" => {
                    config.evolution = section("evolution", value).map_err(with_source)?
                }
                "child" => config.child = section("child", value).map_err(with_source)?,
                "halving" => config.halving = section("halving", value).map_err(with_source)?,
                "supernet" => config.supernet = section("supernet", value).map_err(with_source)?,
                "darts" => config.darts = section("darts", value).map_err(with_source)?,
                "table" => config.table = section("table", value).map_err(with_source)?,
                "objective" => {
                    config.objective = section("objective", value).map_err(with_source)?
                }
                "run" => config.run = section("run", value).map_err(with_source)?,
                other => {
                    return Err(with_source(ConfigError::field(
                        other,
                        format!("unknown section (expected one of {SECTIONS:?})"),
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

    /// The search `nasgpu search` runs with no arguments: NAS-RL's controller over a chain of
    /// three strided conv layers (filter height, width and count searched), 16 children of 6
    /// epochs at batch 32, about 5 minutes on a 2-core machine's software Vulkan. Why this
    /// space: on the bundled 1,500 training images, stride-2 layers learn fastest per second
    /// (a 3-layer chain reaches 82-83% validation in 6 epochs, more than `small-cnn` at 20.3
    /// MFLOP/image), and no sampled child can be one that takes minutes (all-stride-1 at 28x28);
    /// skips are off because NAS-RL feeds a layer without inputs the raw image, which makes
    /// most random children of a 3-layer space poor.
    pub fn demo() -> SearchConfig {
        let quick = SearchConfig::quick();
        SearchConfig {
            space: MacroSpace {
                filter_heights: vec![3, 5],
                filter_widths: vec![3, 5],
                filter_counts: vec![32, 48, 64],
                strides: vec![2],
                skip_connections: false,
                ..quick.space
            },
            reinforce: ReinforceConfig {
                children_per_step: 8,
                reward_window: 1,
                ..quick.reinforce
            },
            child: ChildConfig {
                epochs: 6,
                batch_size: 32,
                ..quick.child
            },
            run: RunConfig {
                budget: 16,
                ..quick.run
            },
            ..quick
        }
    }

    /// A small search for tests: the paper's token structure in a space and proxy small
    /// enough to finish in a minute or two on software Vulkan.
    pub fn quick() -> SearchConfig {
        SearchConfig {
            space: MacroSpace {
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
            ..SearchConfig::default()
        }
    }

    /// Checks values that parse but cannot run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.space.validate()?;
        self.nb201.validate()?;
        self.darts_space.validate()?;
        self.enas_space.validate()?;
        self.objective.validate()?;
        self.darts.validate()?;
        self.validate_parts()?;
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
            ("ppo.epochs", self.ppo.epochs),
            ("evolution.population", self.evolution.population),
            ("evolution.sample_size", self.evolution.sample_size),
            ("supernet.batch_size", self.supernet.batch_size),
            ("supernet.eval_images", self.supernet.eval_images),
            ("supernet.plan_cache", self.supernet.plan_cache),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::field(field, "0 (must be at least 1)"));
            }
        }
        self.validate_limits()?;
        let rates = [
            ("controller.init_range", self.controller.init_range as f64),
            (
                "controller.learning_rate",
                self.controller.learning_rate as f64,
            ),
            ("controller.temperature", self.controller.temperature as f64),
            (
                "controller.op_tanh_reduce",
                self.controller.op_tanh_reduce as f64,
            ),
            ("child.learning_rate", self.child.learning_rate as f64),
            ("supernet.learning_rate", self.supernet.learning_rate as f64),
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
            ("supernet.momentum", self.supernet.momentum as f64),
        ];
        for (field, value) in unit {
            if !(0.0..1.0).contains(&value) {
                return Err(ConfigError::field(
                    field,
                    format!("{value} (must be in [0, 1))"),
                ));
            }
        }
        let target = self.controller.skip_target;
        if !(target > 0.0 && target < 1.0) {
            return Err(ConfigError::field(
                "controller.skip_target",
                format!("{target} (must be a probability strictly between 0 and 1)"),
            ));
        }
        for (field, value) in [
            ("controller.skip_weight", self.controller.skip_weight as f64),
            (
                "controller.tanh_constant",
                self.controller.tanh_constant as f64,
            ),
            ("supernet.grad_clip", self.supernet.grad_clip as f64),
            ("reinforce.entropy_weight", self.reinforce.entropy_weight),
            ("child.weight_decay", self.child.weight_decay as f64),
            ("supernet.weight_decay", self.supernet.weight_decay as f64),
            ("run.time_limit", self.run.time_limit),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::field(field, format!("{value} (must be >= 0)")));
            }
        }
        Ok(())
    }

    /// Checks every field against its upper bound (`COUNT_LIMITS`, `REAL_LIMITS`).
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let counts = [
            self.controller.hidden,
            self.controller.layers,
            self.controller.attention,
            self.reinforce.children_per_step,
            self.reinforce.reward_window,
            self.ppo.epochs,
            self.evolution.population,
            self.evolution.sample_size,
            self.child.epochs,
            self.child.batch_size,
            self.child.concurrent,
            self.child.patience,
            self.halving.min_epochs,
            self.halving.eta,
            self.supernet.warmup_steps,
            self.supernet.steps_per_update,
            self.supernet.batch_size,
            self.supernet.eval_images,
            self.supernet.plan_cache,
            self.run.budget,
        ];
        for (&(field, max), value) in COUNT_LIMITS.iter().zip(counts) {
            if value > max {
                return Err(ConfigError::field(
                    field,
                    format!("{value} is more than the limit of {max}"),
                ));
            }
        }
        let reals = [
            self.controller.init_range as f64,
            self.controller.learning_rate as f64,
            self.controller.temperature as f64,
            self.controller.skip_weight as f64,
            self.child.learning_rate as f64,
            self.child.weight_decay as f64,
            self.supernet.learning_rate as f64,
            self.supernet.weight_decay as f64,
            self.reinforce.reward_power,
            self.reinforce.entropy_weight,
        ];
        for (&(field, max, why), value) in REAL_LIMITS.iter().zip(reals) {
            if value > max {
                return Err(ConfigError::field(
                    field,
                    format!("{value} is more than {max}: {why}"),
                ));
            }
        }
        Ok(())
    }

    /// Checks what one part's settings require of another.
    fn validate_parts(&self) -> Result<(), ConfigError> {
        if self.evolution.sample_size > self.evolution.population {
            return Err(ConfigError::field(
                "evolution.sample_size",
                format!(
                    "{} is more than the population of {}",
                    self.evolution.sample_size, self.evolution.population
                ),
            ));
        }
        if !(self.ppo.clip.is_finite() && self.ppo.clip > 0.0 && self.ppo.clip < 1.0) {
            return Err(ConfigError::field(
                "ppo.clip",
                format!("{} (must be in (0, 1))", self.ppo.clip),
            ));
        }
        let h = &self.halving;
        if h.min_epochs > 0 {
            if h.eta < 2 {
                return Err(ConfigError::field(
                    "halving.eta",
                    format!("{} (must be at least 2)", h.eta),
                ));
            }
            if h.min_epochs >= self.child.epochs {
                return Err(ConfigError::field(
                    "halving.min_epochs",
                    format!(
                        "{} leaves no rung below child.epochs = {}",
                        h.min_epochs, self.child.epochs
                    ),
                ));
            }
        }
        match self.run.evaluator {
            EvaluatorKind::Table => {
                if self.table.file.is_none() {
                    return Err(ConfigError::field(
                        "table.file",
                        "the table evaluator needs a table (--table FILE)",
                    ));
                }
                if h.min_epochs > 0 || self.child.patience > 0 {
                    return Err(ConfigError::field(
                        "halving.min_epochs",
                        "successive halving and early stopping need the train evaluator",
                    ));
                }
            }
            EvaluatorKind::Train | EvaluatorKind::Supernet => {
                if self.table.file.is_some() {
                    return Err(ConfigError::field(
                        "table.file",
                        "a table is only read by the table evaluator (--evaluator table)",
                    ));
                }
            }
        }
        if self.run.strategy == StrategyKind::Darts {
            if matches!(self.run.space, SpaceKind::Macro | SpaceKind::Enas) {
                return Err(ConfigError::field(
                    "run.space",
                    format!(
                        "--strategy darts mixes the operations of a cell: it needs --space nb201 or darts, not {}",
                        self.run.space.name()
                    ),
                ));
            }
            if self.run.evaluator != EvaluatorKind::Supernet {
                return Err(ConfigError::field(
                    "run.evaluator",
                    format!(
                        "--strategy darts trains its architecture weights inside the supernet: it needs --evaluator supernet, not {}",
                        self.run.evaluator.name()
                    ),
                ));
            }
        }
        if self.run.evaluator == EvaluatorKind::Supernet {
            if self.run.space == SpaceKind::Macro {
                return Err(ConfigError::field(
                    "run.evaluator",
                    format!(
                        "supernet needs a space with a supernet (nb201, darts, enas); {} has none yet",
                        self.run.space.name()
                    ),
                ));
            }
            if h.min_epochs > 0 || self.child.patience > 0 {
                return Err(ConfigError::field(
                    if h.min_epochs > 0 {
                        "halving.min_epochs"
                    } else {
                        "child.patience"
                    },
                    "successive halving and early stopping need the train evaluator (the supernet trains no child)",
                ));
            }
        }
        Ok(())
    }
}
