//! The run directory: `config.json`, `history.jsonl` (a line per child), `best.json` (an
//! architecture file `nasgpu train --arch` accepts), `state.json` and the controller checkpoint.
//! Every file is replaced atomically (temp file + rename), so a kill at any moment leaves the
//! last complete version of each, and a search resumes from its last finished child.

use std::path::{Path, PathBuf};

use super::config::SearchConfig;
use super::error::{SearchError, run_dir_error};
use super::record::ChildRecord;
use super::state::{STATE_VERSION, SearchState};
use crate::util::atomic_write;

pub const CONFIG_FILE: &str = "config.json";
pub const HISTORY_FILE: &str = "history.jsonl";
pub const BEST_FILE: &str = "best.json";
pub const STATE_FILE: &str = "state.json";

/// An open run directory and the history recorded in it.
pub struct RunDir {
    path: PathBuf,
    history: Vec<ChildRecord>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SearchError> {
    atomic_write(path, bytes).map_err(|e| run_dir_error(path, format!("cannot write: {e}")))
}

fn read(path: &Path) -> Result<String, SearchError> {
    std::fs::read_to_string(path).map_err(|e| run_dir_error(path, format!("cannot read: {e}")))
}

impl RunDir {
    /// Starts a new run in `path` (created if missing). Refuses a directory that already holds
    /// a search, so finished work is never overwritten.
    pub fn create(path: &Path, config: &SearchConfig) -> Result<RunDir, SearchError> {
        if path.join(STATE_FILE).exists() || path.join(HISTORY_FILE).exists() {
            return Err(run_dir_error(
                path,
                "already holds a search; continue it with --resume, or choose another --out",
            ));
        }
        std::fs::create_dir_all(path)
            .map_err(|e| run_dir_error(path, format!("cannot create: {e}")))?;
        let text = serde_json::to_string_pretty(config).expect("config serialises");
        write(&path.join(CONFIG_FILE), text.as_bytes())?;
        Ok(RunDir {
            path: path.to_path_buf(),
            history: Vec::new(),
        })
    }

    /// Opens an existing run for `--resume`: its config, state and history.
    pub fn open(path: &Path) -> Result<(RunDir, SearchConfig, SearchState), SearchError> {
        if !path.is_dir() {
            return Err(run_dir_error(path, "no such run directory"));
        }
        let config = SearchConfig::load(&path.join(CONFIG_FILE))?;
        let state_path = path.join(STATE_FILE);
        let state: SearchState = if state_path.exists() {
            serde_json::from_str(&read(&state_path)?)
                .map_err(|e| run_dir_error(&state_path, format!("corrupt state: {e}")))?
        } else {
            // Killed before the first state was written: start over from the config's seed.
            SearchState::new(config.run.seed)
        };
        if state.version != STATE_VERSION {
            return Err(run_dir_error(
                &state_path,
                format!("state version {} is not {STATE_VERSION}", state.version),
            ));
        }
        let history_path = path.join(HISTORY_FILE);
        let mut history = Vec::new();
        if history_path.exists() {
            for (i, line) in read(&history_path)?
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let record: ChildRecord = serde_json::from_str(line)
                    .map_err(|e| run_dir_error(&history_path, format!("line {}: {e}", i + 1)))?;
                history.push(record);
            }
        }
        // Children recorded after the last state write belong to the pending step: keep them.
        if history.len() < state.children_done {
            return Err(run_dir_error(
                &history_path,
                format!(
                    "holds {} children but state.json counts {}",
                    history.len(),
                    state.children_done
                ),
            ));
        }
        Ok((
            RunDir {
                path: path.to_path_buf(),
                history,
            },
            config,
            state,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn history(&self) -> &[ChildRecord] {
        &self.history
    }

    /// Appends a finished child: rewrites `history.jsonl` and, if it is the new best, `best.json`.
    pub fn record(&mut self, record: ChildRecord) -> Result<(), SearchError> {
        let is_best = self.best().is_none_or(|b| record.reward > b.reward);
        self.history.push(record);
        let mut text = String::new();
        for r in &self.history {
            text.push_str(&serde_json::to_string(r).expect("record serialises"));
            text.push('\n');
        }
        write(&self.path.join(HISTORY_FILE), text.as_bytes())?;
        if is_best {
            let best = self.history.last().expect("just pushed");
            write(
                &self.path.join(BEST_FILE),
                best.architecture.to_json().as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The child with the highest reward so far (the first of equals).
    pub fn best(&self) -> Option<&ChildRecord> {
        self.history
            .iter()
            .fold(None, |best: Option<&ChildRecord>, r| match best {
                Some(b) if b.reward >= r.reward => Some(b),
                _ => Some(r),
            })
    }

    /// Replaces `state.json`.
    pub fn save_state(&self, state: &SearchState) -> Result<(), SearchError> {
        let text = serde_json::to_string(state).expect("state serialises");
        write(&self.path.join(STATE_FILE), text.as_bytes())
    }

    /// Writes a file of the run (e.g. a controller checkpoint) atomically.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), SearchError> {
        write(&self.path.join(name), bytes)
    }

    /// Removes a file of the run if present (an older checkpoint).
    pub fn remove_file(&self, name: &str) {
        let _ = std::fs::remove_file(self.path.join(name));
    }
}
