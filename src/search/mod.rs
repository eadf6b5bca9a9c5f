//! Architecture search as plug-in parts: search spaces (`space/`), strategies (`strategy/`),
//! evaluators (`evaluator/`) and objectives (`objective.rs`), joined by one generic loop
//! (`driver.rs`) and its resumable run directory.

pub mod config;
pub mod cost;
pub mod derive;
pub mod driver;
mod error;
pub mod evaluator;
pub mod footprint;
pub mod objective;
pub mod record;
pub mod run_data;
pub mod run_dir;
pub mod space;
pub mod state;
pub mod strategy;
pub mod supernets;

pub use config::{ConfigError, EvaluatorKind, SearchConfig, SpaceKind, StrategyKind};
pub use cost::SearchCost;
pub use driver::{Parts, Search, SearchEnd, SearchEvent};
pub use error::{SearchError, run_dir_error};
pub use evaluator::ProxyTask;
pub use objective::reward;
pub use record::{ChildRecord, ChildStatus, Latency};
pub use run_data::{DataIdentity, RunData};
pub use run_dir::RunDir;
pub use space::{Decisions, MacroSpace, Rollout, Space, TokenKind};
pub use state::{PendingStep, SearchState};
