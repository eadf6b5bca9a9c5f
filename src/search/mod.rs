//! Architecture search: the space, its configuration, the strategies (REINFORCE controller,
//! random) and the run directory that makes a search resumable.

pub mod config;
pub mod random;
pub mod space;

pub use config::{ConfigError, SearchConfig, Strategy};
pub use space::{Decisions, SearchSpace, TokenKind};
