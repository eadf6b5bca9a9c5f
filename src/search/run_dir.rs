//! The run directory: `config.json`, `history.jsonl` (a line per child), `best.json` (an
//! architecture file `nasgpu train --arch` accepts), `state.json` and the controller checkpoint.
//! `history.jsonl` grows by one synced line per child; every other file is replaced atomically
//! (temp file + rename). A kill at any moment therefore leaves the last complete version of each
//! file and at most a torn last history line, and a search resumes from its last finished child.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::config::SearchConfig;
use super::error::{SearchError, run_dir_error};
use super::record::ChildRecord;
use super::state::{STATE_VERSION, SearchState};
use crate::util::atomic_write_with;

pub const CONFIG_FILE: &str = "config.json";
pub const HISTORY_FILE: &str = "history.jsonl";
pub const BEST_FILE: &str = "best.json";
pub const STATE_FILE: &str = "state.json";

/// An open run directory and the history recorded in it.
pub struct RunDir {
    path: PathBuf,
    history: Vec<ChildRecord>,
    /// Whether writes wait for the disk (off for searches whose work is cheap to redo).
    durable: bool,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SearchError> {
    write_with(path, bytes, true)
}

fn write_with(path: &Path, bytes: &[u8], sync: bool) -> Result<(), SearchError> {
    atomic_write_with(path, bytes, sync)
        .map_err(|e| run_dir_error(path, format!("cannot write: {e}")))
}

fn read(path: &Path) -> Result<String, SearchError> {
    std::fs::read_to_string(path).map_err(|e| run_dir_error(path, format!("cannot read: {e}")))
}

/// Appends `bytes` to `path` (created if missing) and, with `sync`, waits until they are on
/// disk.
fn append_with(path: &Path, bytes: &[u8], sync: bool) -> Result<(), SearchError> {
    let result = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            if sync { file.sync_data() } else { Ok(()) }
        });
    result.map_err(|e| run_dir_error(path, format!("cannot append: {e}")))
}

/// `history.jsonl` as read: the records of its complete lines and what followed the last one.
struct History {
    records: Vec<ChildRecord>,
    /// Byte length of the complete lines; longer than that, the file ends in a torn line (a
    /// child killed while being recorded, which the pending step trains again).
    complete: u64,
    /// The last record was whole but its newline was not written.
    unterminated: bool,
}

/// Reads `history.jsonl` (empty if missing). A last line without its newline that does not
/// parse is a torn write and is left out; any other bad line is an error naming it.
fn read_history(path: &Path) -> Result<History, SearchError> {
    let mut history = History {
        records: Vec::new(),
        complete: 0,
        unterminated: false,
    };
    if !path.exists() {
        return Ok(history);
    }
    let bytes =
        std::fs::read(path).map_err(|e| run_dir_error(path, format!("cannot read: {e}")))?;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let terminated = line.ends_with(b"\n");
        if !line.trim_ascii().is_empty() {
            match serde_json::from_slice::<ChildRecord>(line) {
                Ok(record) if record.index != history.records.len() => {
                    return Err(run_dir_error(
                        path,
                        format!(
                            "line {}: index {}, expected {}",
                            i + 1,
                            record.index,
                            history.records.len()
                        ),
                    ));
                }
                Ok(record) => {
                    history.records.push(record);
                    history.unterminated = !terminated;
                }
                Err(_) if !terminated => return Ok(history),
                Err(e) => {
                    return Err(run_dir_error(path, format!("line {}: {e}", i + 1)));
                }
            }
        }
        history.complete += line.len() as u64;
    }
    Ok(history)
}

/// Makes `history.jsonl` end with its last complete record and a newline, so that appending
/// continues it cleanly.
/// Appends `bytes` to `path` and waits until they are on disk.
fn append(path: &Path, bytes: &[u8]) -> Result<(), SearchError> {
    append_with(path, bytes, true)
}

fn repair_history(path: &Path, history: &History) -> Result<(), SearchError> {
    let fix = || -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        if file.metadata()?.len() > history.complete {
            file.set_len(history.complete)?;
            file.sync_data()?;
        }
        Ok(())
    };
    fix().map_err(|e| run_dir_error(path, format!("cannot drop the torn last line: {e}")))?;
    if history.unterminated {
        append(path, b"\n")?;
    }
    Ok(())
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
            durable: true,
        })
    }

    /// Opens an existing run for `--resume`: its config, state and history. Drops a torn last
    /// history line, so that recording continues the file cleanly, and rewrites `best.json` from
    /// the history, in case the search was killed between recording a new best and writing it.
    pub fn open(path: &Path) -> Result<(RunDir, SearchConfig, SearchState), SearchError> {
        let (history, config, state) = RunDir::load(path)?;
        let history_path = path.join(HISTORY_FILE);
        if history_path.exists() {
            repair_history(&history_path, &history)?;
        }
        let run = RunDir {
            path: path.to_path_buf(),
            history: history.records,
            durable: true,
        };
        if let Some(best) = run.best() {
            write(
                &path.join(BEST_FILE),
                best.architecture.to_json().as_bytes(),
            )?;
        }
        Ok((run, config, state))
    }

    /// Reads a run without changing any of its files, e.g. to report on a search that is still
    /// running (whose last history line may be half written). Not for recording children.
    pub fn inspect(path: &Path) -> Result<(RunDir, SearchConfig, SearchState), SearchError> {
        let (history, config, state) = RunDir::load(path)?;
        let run = RunDir {
            path: path.to_path_buf(),
            history: history.records,
            durable: true,
        };
        Ok((run, config, state))
    }

    /// Reads the config, state and history of the run in `path`.
    fn load(path: &Path) -> Result<(History, SearchConfig, SearchState), SearchError> {
        if !path.is_dir() {
            return Err(run_dir_error(path, "no such run directory"));
        }
        let config = SearchConfig::load(&path.join(CONFIG_FILE))?;
        let state_path = path.join(STATE_FILE);
        let state: SearchState = if state_path.exists() {
            let text = read(&state_path)?;
            let raw: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| run_dir_error(&state_path, format!("corrupt state: {e}")))?;
            let version = raw.get("version").and_then(|v| v.as_u64());
            if version != Some(STATE_VERSION as u64) {
                return Err(run_dir_error(
                    &state_path,
                    match version {
                        Some(1) => format!(
                            "state version 1 was written by a nasgpu from before search spaces, strategies and \
                             evaluators became separate parts (its batch and REINFORCE state are stored \
                             differently); this version reads version {STATE_VERSION}. Its history.jsonl and \
                             best.json stay readable as files; start a new search to continue"
                        ),
                        Some(v) => format!("state version {v} is not {STATE_VERSION}"),
                        None => "corrupt state: no version".to_string(),
                    },
                ));
            }
            serde_json::from_value(raw)
                .map_err(|e| run_dir_error(&state_path, format!("corrupt state: {e}")))?
        } else {
            // Killed before the first state was written: start over from the config's seed.
            SearchState::new(config.run.seed)
        };
        let history_path = path.join(HISTORY_FILE);
        let history = read_history(&history_path)?;
        if !state_path.exists() && !history.records.is_empty() {
            return Err(run_dir_error(
                &state_path,
                format!(
                    "missing, but history.jsonl holds {} children",
                    history.records.len()
                ),
            ));
        }
        let space = super::space::build(&config);
        state
            .check(&config, space.as_ref(), &history.records)
            .map_err(|(file, message)| run_dir_error(&path.join(file), message))?;
        Ok((history, config, state))
    }

    /// The run directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every recorded child, in order.
    pub fn history(&self) -> &[ChildRecord] {
        &self.history
    }

    /// Whether every write waits for the disk (the default). Off for a search whose work is
    /// cheap to redo (a table lookup costs microseconds, a sync milliseconds): files are still
    /// replaced atomically and appended in order, so a killed process loses nothing; only a
    /// crash of the machine could leave older files.
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    /// Records a finished child: appends its line to `history.jsonl` and, if it is the new
    /// best, replaces `best.json`.
    pub fn record(&mut self, record: ChildRecord) -> Result<(), SearchError> {
        let is_best = self.best().is_none_or(|b| record.reward > b.reward);
        let mut line = serde_json::to_string(&record).expect("record serialises");
        line.push('\n');
        append_with(&self.path.join(HISTORY_FILE), line.as_bytes(), self.durable)?;
        self.history.push(record);
        if is_best {
            let best = self.history.last().expect("just pushed");
            write_with(
                &self.path.join(BEST_FILE),
                best.architecture.to_json().as_bytes(),
                self.durable,
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
        write_with(&self.path.join(STATE_FILE), text.as_bytes(), self.durable)
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
