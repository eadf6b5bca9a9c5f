//! Architecture search: the space, its configuration, the strategies (REINFORCE controller,
//! random) and the run directory that makes a search resumable.

pub mod config;
pub mod controller;
pub mod cost;
pub mod driver;
mod error;
pub mod evaluator;
pub mod random;
pub mod record;
pub mod run_data;
pub mod run_dir;
pub mod space;
pub mod state;

pub use config::{ConfigError, SearchConfig, Strategy};
pub use cost::SearchCost;
pub use driver::{Search, SearchEnd, SearchEvent};
pub use error::{SearchError, run_dir_error};
pub use evaluator::ProxyTask;
pub use record::{ChildRecord, ChildStatus, reward};
pub use run_data::{DataIdentity, RunData};
pub use run_dir::RunDir;
pub use space::{Decisions, SearchSpace, TokenKind};
pub use state::{PendingStep, SearchState};
