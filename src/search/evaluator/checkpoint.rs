//! The checkpoint files of the weight-sharing evaluators (supernet, DARTS): one safetensors file
//! per update phase, named in `state.json`, written only when every value is finite, and read
//! back with the state that names it on `--resume`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::nn::weights::{self, NamedTensor};
use crate::search::error::SearchError;
use crate::search::run_dir::{RunDir, STATE_FILE};

/// Writes `tensors` (after `steps` steps) as `name` in `run` unless one holds a value that is
/// not finite (`diverged` then makes the error: tensor, index; weights that diverged must not
/// become the run's, so it resumes from the phase before). `current` is the file the state
/// named so far; it becomes `name`, and the file it replaces is returned as obsolete.
pub fn write(
    run: &RunDir,
    name: String,
    tensors: &[NamedTensor],
    steps: usize,
    current: &mut Option<String>,
    diverged: impl Fn(&NamedTensor, usize) -> SearchError,
) -> Result<Vec<String>, SearchError> {
    for t in tensors {
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(diverged(t, i));
        }
    }
    let meta = BTreeMap::from([("steps".to_string(), steps.to_string())]);
    run.write_file(&name, &weights::to_bytes(tensors, &meta))?;
    let mut obsolete = Vec::new();
    if let Some(old) = current.replace(name.clone())
        && old != name
    {
        obsolete.push(old);
    }
    Ok(obsolete)
}

/// The evaluator's part of `state.json` as `T` and the tensors of the checkpoint it names
/// (`checkpoint_of`), with that file's path for errors; `None` when nothing was saved yet.
pub fn read<T: DeserializeOwned>(
    saved: &Json,
    run: &RunDir,
    checkpoint_of: impl Fn(&T) -> &str,
) -> Result<Option<(T, PathBuf, Vec<NamedTensor>)>, SearchError> {
    if saved.is_null() {
        return Ok(None);
    }
    let state_file = run.path().join(STATE_FILE);
    let state: T = serde_json::from_value(saved.clone())
        .map_err(|e| crate::search::run_dir_error(&state_file, format!("evaluator: {e}")))?;
    let path = run.path().join(checkpoint_of(&state));
    let (tensors, _) = weights::load(&path).map_err(SearchError::Other)?;
    Ok(Some((state, path, tensors)))
}
