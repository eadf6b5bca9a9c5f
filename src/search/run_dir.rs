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
use super::space::Space;
use super::state::{STATE_VERSION, SearchState};
use crate::data::ChannelStats;
use crate::nn::Architecture;
use crate::nn::meta::{ModelMeta, architecture_file_json};
use crate::util::atomic_write_with;
use crate::util::output::{FolderPlan, plan_folder, prepare_folder};

pub const CONFIG_FILE: &str = "config.json";
pub const HISTORY_FILE: &str = "history.jsonl";
pub const BEST_FILE: &str = "best.json";
pub const STATE_FILE: &str = "state.json";
/// ENAS's answer: the architecture derived from the trained controller (`search::derive`).
pub const DERIVED_FILE: &str = "derived.json";

/// An open run directory and the history recorded in it.
pub struct RunDir {
    path: PathBuf,
    history: Vec<ChildRecord>,
    /// Whether writes wait for the disk (off for searches whose work is cheap to redo).
    durable: bool,
    /// Set by `open` until `begin` has repaired the history and `best.json`.
    repair: Option<Repair>,
    /// Lines left out of `history` (only `inspect` keeps a run that has any).
    invalid: Vec<InvalidLine>,
    /// What `best.json` says of the data its network is trained on (none for a table).
    best_meta: Option<BestMeta>,
    /// Whether the run's answer is its last child rather than its best (DARTS's final derived
    /// cell: `StrategyKind::answer_is_last`).
    answer_last: bool,
}

/// The data a search trains its children on, as `best.json`'s `meta` records it: the input
/// normalisation, the dataset and its class names, so that the best architecture file says
/// what inputs its network expects, as a training output's does.
#[derive(Debug, Clone, PartialEq)]
pub struct BestMeta {
    pub dataset: String,
    pub stats: ChannelStats,
    pub class_names: Option<Vec<String>>,
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
    /// Lines that are not a valid record of this run (a resume refuses the first; a report
    /// leaves them out and says so).
    invalid: Vec<InvalidLine>,
    /// Byte length of the complete lines; longer than that, the file ends in a torn line (a
    /// child killed while being recorded, which the pending step trains again).
    complete: u64,
    /// The last record was whole but its newline was not written.
    unterminated: bool,
}

/// A line of `history.jsonl` that is not a valid record of its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// From 1.
    pub line: usize,
    /// The field at fault and what is wrong with it.
    pub message: String,
}

/// Checks one parsed line: its index is its position, it is a valid record of `space`, and it
/// describes networks of the same input and classes as the line before it.
fn check_line(
    record: &ChildRecord,
    position: usize,
    space: &dyn Space,
    first: Option<&ChildRecord>,
) -> Result<(), String> {
    if record.index != position {
        return Err(format!("index {}, expected {position}", record.index));
    }
    if let Some(f) = first {
        let (a, b) = (&record.architecture, &f.architecture);
        if (a.input, a.classes) != (b.input, b.classes) {
            return Err(format!(
                "architecture: input {:?} with {} classes, but the run's first child has {:?} with {}",
                a.input, a.classes, b.input, b.classes
            ));
        }
    }
    record.check(space)
}

/// Reads `history.jsonl` (empty if missing), checking every line against `space`. A last
/// line without its newline that does not parse is a torn write and is left out; any other
/// bad line is listed in `invalid`, naming its line and field.
fn read_history(path: &Path, space: &dyn Space) -> Result<History, SearchError> {
    let mut history = History {
        records: Vec::new(),
        invalid: Vec::new(),
        complete: 0,
        unterminated: false,
    };
    if !path.exists() {
        return Ok(history);
    }
    let bytes =
        std::fs::read(path).map_err(|e| run_dir_error(path, format!("cannot read: {e}")))?;
    let mut position = 0;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let terminated = line.ends_with(b"\n");
        if !line.trim_ascii().is_empty() {
            let checked = match ChildRecord::parse_line(line) {
                Err(_) if !terminated => return Ok(history),
                Err(e) => Err(e),
                Ok(record) => {
                    check_line(&record, position, space, history.records.first()).map(|()| record)
                }
            };
            match checked {
                Ok(record) => {
                    history.records.push(record);
                    history.unterminated = !terminated;
                }
                Err(message) => history.invalid.push(InvalidLine {
                    line: i + 1,
                    message,
                }),
            }
            position += 1;
        }
        history.complete += line.len() as u64;
    }
    Ok(history)
}

/// Appends `bytes` to `path` and waits until they are on disk.
fn append(path: &Path, bytes: &[u8]) -> Result<(), SearchError> {
    append_with(path, bytes, true)
}

/// Makes `history.jsonl` end with its last complete record and a newline, so that appending
/// continues it cleanly.
fn repair_history(path: &Path, complete: u64, unterminated: bool) -> Result<(), SearchError> {
    let fix = || -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        if file.metadata()?.len() > complete {
            file.set_len(complete)?;
            file.sync_data()?;
        }
        Ok(())
    };
    fix().map_err(|e| run_dir_error(path, format!("cannot drop the torn last line: {e}")))?;
    if unterminated {
        append(path, b"\n")?;
    }
    Ok(())
}

/// What a reopened run still has to fix before it records again (done by `RunDir::begin`,
/// once the resumed search has started for real, so a refused resume changes nothing).
#[derive(Debug, Clone, Copy)]
struct Repair {
    complete: u64,
    unterminated: bool,
}

/// Names of the files a search writes into its run directory (what `--force` may replace).
pub fn is_run_file(name: &str) -> bool {
    matches!(
        name,
        CONFIG_FILE
            | HISTORY_FILE
            | BEST_FILE
            | STATE_FILE
            | "data.json"
            | "summary.json"
            | "darts.json"
    ) || ((name.starts_with("controller-")
        || name.starts_with("supernet-")
        || name.starts_with("darts-"))
        && name.ends_with(".safetensors"))
        || name.starts_with("model.")
}

impl RunDir {
    /// Decides, before any work, whether a new run may be created in `path`: a missing or
    /// empty folder, or (with `force`) an earlier run, which `create_planned` then replaces as
    /// a whole. Refuses a folder holding a search without `force`, so finished work is never
    /// overwritten by mistake.
    pub fn plan_create(path: &Path, force: bool) -> Result<FolderPlan, SearchError> {
        plan_folder(
            path,
            &is_run_file,
            "a search",
            "--out",
            "continue it with --resume, ",
            force,
        )
        .map_err(SearchError::Other)
    }

    /// Starts a new run in `path` (created if missing). Refuses a directory that already holds
    /// a search, so finished work is never overwritten.
    pub fn create(path: &Path, config: &SearchConfig) -> Result<RunDir, SearchError> {
        let plan = RunDir::plan_create(path, false)?;
        RunDir::create_planned(path, config, plan)
    }

    /// Starts a new run in `path` as `plan_create` decided: the folder is made ready (an
    /// earlier run replaced as a whole) and `config.json` written.
    pub fn create_planned(
        path: &Path,
        config: &SearchConfig,
        plan: FolderPlan,
    ) -> Result<RunDir, SearchError> {
        prepare_folder(path, plan).map_err(SearchError::Other)?;
        let text = serde_json::to_string_pretty(config).expect("config serialises");
        write(&path.join(CONFIG_FILE), text.as_bytes())?;
        Ok(RunDir {
            path: path.to_path_buf(),
            history: Vec::new(),
            durable: true,
            repair: None,
            invalid: Vec::new(),
            best_meta: None,
            answer_last: config.run.strategy.answer_is_last(),
        })
    }

    /// Opens an existing run for `--resume`: its config, state and history, every history
    /// line checked. Changes no file: `begin` drops a torn last history line and rewrites
    /// `best.json` (in case the search was killed between recording a new best and writing
    /// it) once the resumed search has started.
    pub fn open(path: &Path) -> Result<(RunDir, SearchConfig, SearchState), SearchError> {
        let (history, config, state) = RunDir::load(path, false)?;
        let run = RunDir {
            path: path.to_path_buf(),
            history: history.records,
            durable: true,
            repair: Some(Repair {
                complete: history.complete,
                unterminated: history.unterminated,
            }),
            invalid: Vec::new(),
            best_meta: None,
            answer_last: config.run.strategy.answer_is_last(),
        };
        Ok((run, config, state))
    }

    /// Repairs what `open` found (a torn last history line, a stale `best.json`); called when
    /// a resumed search starts for real, and by `record` before its first line.
    pub fn begin(&mut self) -> Result<(), SearchError> {
        let Some(repair) = self.repair.take() else {
            return Ok(());
        };
        let history_path = self.path.join(HISTORY_FILE);
        if history_path.exists() {
            repair_history(&history_path, repair.complete, repair.unterminated)?;
        }
        if let Some(best) = self.best() {
            let text = self.best_text(&best.architecture);
            let path = self.path.join(BEST_FILE);
            if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
                write(&path, text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Reads a run without changing any of its files, e.g. to report on a search that is still
    /// running (whose last history line may be half written). Not for recording children.
    /// History lines that are not valid records are left out and listed by `invalid`.
    pub fn inspect(path: &Path) -> Result<(RunDir, SearchConfig, SearchState), SearchError> {
        let (history, config, state) = RunDir::load(path, true)?;
        let run = RunDir {
            path: path.to_path_buf(),
            history: history.records,
            durable: true,
            repair: None,
            invalid: history.invalid,
            best_meta: None,
            answer_last: config.run.strategy.answer_is_last(),
        };
        Ok((run, config, state))
    }

    /// History lines `inspect` left out because they are not valid records of this run.
    pub fn invalid(&self) -> &[InvalidLine] {
        &self.invalid
    }

    /// Reads the config, state and history of the run in `path`. Without `tolerate_invalid`
    /// the first invalid history line is an error naming it.
    fn load(
        path: &Path,
        tolerate_invalid: bool,
    ) -> Result<(History, SearchConfig, SearchState), SearchError> {
        if !path.is_dir() {
            return Err(run_dir_error(path, "no such run directory"));
        }
        let config = SearchConfig::load(&path.join(CONFIG_FILE))?;
        let state_path = path.join(STATE_FILE);
        let state: SearchState = if state_path.exists() {
            let text = read(&state_path)?;
            let raw: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                run_dir_error(
                    &state_path,
                    format!("corrupt state: {}", super::error::json_error(&text, &e)),
                )
            })?;
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
        let space = super::space::build(&config);
        let history_path = path.join(HISTORY_FILE);
        let history = read_history(&history_path, space.as_ref())?;
        if let (false, Some(bad)) = (tolerate_invalid, history.invalid.first()) {
            return Err(run_dir_error(
                &history_path,
                format!("line {}: {}", bad.line, bad.message),
            ));
        }
        let lines = history.records.len() + history.invalid.len();
        if !state_path.exists() && lines > 0 {
            return Err(run_dir_error(
                &state_path,
                format!("missing, but history.jsonl holds {lines} children"),
            ));
        }
        // With lines left out, the counts cannot match the state; the report says why.
        if history.invalid.is_empty() {
            state
                .check(&config, space.as_ref(), &history.records)
                .map_err(|(file, message)| run_dir_error(&path.join(file), message))?;
        }
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
        self.begin()?;
        let is_best = self.answer_last || self.best().is_none_or(|b| record.reward > b.reward);
        let mut line = serde_json::to_string(&record).expect("record serialises");
        line.push('\n');
        append_with(&self.path.join(HISTORY_FILE), line.as_bytes(), self.durable)?;
        self.history.push(record);
        if is_best {
            let best = self.history.last().expect("just pushed");
            let text = self.best_text(&best.architecture);
            write_with(&self.path.join(BEST_FILE), text.as_bytes(), self.durable)?;
        }
        Ok(())
    }

    /// Sets what `best.json` records of the children's data (from now on; a resumed run's
    /// `best.json` is rewritten with it when the search begins).
    pub fn set_best_meta(&mut self, meta: BestMeta) {
        self.best_meta = Some(meta);
    }

    /// `best.json` for `arch`: the architecture file, with the data's metadata when known.
    fn best_text(&self, arch: &Architecture) -> String {
        let meta = self
            .best_meta
            .as_ref()
            .map(|m| ModelMeta::new(arch, &m.dataset, &m.stats, m.class_names.clone()));
        architecture_file_json(arch, meta.as_ref())
    }

    /// The run's answer so far: the child with the highest reward (the first of equals), or
    /// the last child for a strategy whose answer is its last (DARTS).
    pub fn best(&self) -> Option<&ChildRecord> {
        if self.answer_last {
            return self.history.last();
        }
        self.history
            .iter()
            .fold(None, |best: Option<&ChildRecord>, r| match best {
                Some(b) if b.reward >= r.reward => Some(b),
                _ => Some(r),
            })
    }

    /// Replaces `derived.json` with `arch`'s architecture file.
    pub fn write_derived(&self, arch: &Architecture) -> Result<(), SearchError> {
        let text = self.best_text(arch);
        write_with(&self.path.join(DERIVED_FILE), text.as_bytes(), self.durable)
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
