//! Errors of the search layer.

use std::fmt;

use super::config::ConfigError;
use crate::autograd::AutogradError;
use crate::device::DeviceError;

/// A search could not start, continue or save its work.
#[derive(Debug)]
pub enum SearchError {
    Config(ConfigError),
    /// A run directory problem: names the path and what is wrong.
    RunDir {
        path: String,
        message: String,
    },
    Device(DeviceError),
    Autograd(AutogradError),
    /// Anything else with a message a user can act on (data, controller).
    Other(String),
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::Config(e) => write!(f, "{e}"),
            SearchError::RunDir { path, message } => write!(f, "{path}: {message}"),
            SearchError::Device(e) => write!(f, "{e}"),
            SearchError::Autograd(e) => write!(f, "{e}"),
            SearchError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SearchError {}

impl From<ConfigError> for SearchError {
    fn from(e: ConfigError) -> Self {
        SearchError::Config(e)
    }
}

impl From<DeviceError> for SearchError {
    fn from(e: DeviceError) -> Self {
        SearchError::Device(e)
    }
}

impl From<AutogradError> for SearchError {
    fn from(e: AutogradError) -> Self {
        SearchError::Autograd(e)
    }
}

/// A run-directory error for `path`.
pub fn run_dir_error(path: &std::path::Path, message: impl Into<String>) -> SearchError {
    SearchError::RunDir {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// serde_json's message for `text`, prefixed with the object key whose value the error is in
/// when it is a syntax error (`baseline: number out of range at line 1 column 80`): serde
/// names only a column.
pub(crate) fn json_error(text: &str, e: &serde_json::Error) -> String {
    let key = || {
        let line = text.lines().nth(e.line().checked_sub(1)?)?;
        let head = line.get(..e.column().saturating_sub(1).min(line.len()))?;
        let colon = head.rfind("\":")?;
        let start = head[..colon].rfind('"')? + 1;
        Some(&head[start..colon])
    };
    match key() {
        Some(k) if e.is_syntax() => format!("{k}: {e}"),
        _ => e.to_string(),
    }
}
