//! `data.json`: where a run's data is and what it is, so `--resume` reloads the same data from
//! any working directory and refuses other data (another split, other child inputs or classes
//! would silently change the search while its controller, baseline and random state go on).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{SearchError, run_dir_error};
use crate::data::folder::FolderOptions;
use crate::data::{self, DataSource, DatasetName, TrainTest};
use crate::util::atomic_write;

pub const DATA_FILE: &str = "data.json";

/// What tells two datasets apart for a search: name, training images, image shape, classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataIdentity {
    pub name: String,
    pub train_images: usize,
    /// Channels, height, width.
    pub image_shape: [usize; 3],
    pub classes: u32,
}

impl DataIdentity {
    /// The identity of loaded data.
    pub fn of(data: &TrainTest) -> DataIdentity {
        DataIdentity {
            name: data.name.clone(),
            train_images: data.train.len(),
            image_shape: data.train.image_shape,
            classes: data.train.classes,
        }
    }
}

impl fmt::Display for DataIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [c, h, w] = self.image_shape;
        write!(
            f,
            "{} ({} training images of {c}x{h}x{w}, {} classes)",
            self.name, self.train_images, self.classes
        )
    }
}

/// The data of a run: where to load it from and what it must be.
#[derive(Debug, Clone, PartialEq)]
pub struct RunData {
    source: DataSource,
    identity: DataIdentity,
    /// How an image folder was read (`--resize`, `--strict`), so a resume reads it the same way.
    folder: FolderOptions,
}

/// `data.json` as written: `data` (an absolute folder) or `dataset` (a name), and the identity.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    data: Option<PathBuf>,
    dataset: Option<String>,
    identity: DataIdentity,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    resize: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    strict: bool,
}

/// How the command line names a source, for messages.
fn describe(source: &DataSource) -> String {
    match source {
        DataSource::Named(name) => format!("--dataset {}", name.as_str()),
        DataSource::Dir(dir) => format!("--data {}", dir.display()),
    }
}

impl RunData {
    /// Describes `data`, loaded from `source`. A folder is kept as its canonical absolute path,
    /// so the run resumes from any working directory.
    pub fn new(source: &DataSource, data: &TrainTest) -> Result<RunData, SearchError> {
        let source = match source {
            DataSource::Dir(dir) => DataSource::Dir(std::fs::canonicalize(dir).map_err(|e| {
                SearchError::Other(format!("{}: cannot resolve: {e}", dir.display()))
            })?),
            named => named.clone(),
        };
        Ok(RunData {
            source,
            identity: DataIdentity::of(data),
            folder: FolderOptions::default(),
        })
    }

    /// The same data, read from an image folder with `folder`'s options.
    pub fn with_folder(self, folder: FolderOptions) -> RunData {
        RunData { folder, ..self }
    }

    /// Where the data is loaded from.
    pub fn source(&self) -> &DataSource {
        &self.source
    }

    /// What the data must be.
    pub fn identity(&self) -> &DataIdentity {
        &self.identity
    }

    /// Writes `data.json` into the run directory `dir` (atomically).
    pub fn save(&self, dir: &Path) -> Result<(), SearchError> {
        let (data, dataset) = match &self.source {
            DataSource::Dir(d) => (Some(d.clone()), None),
            DataSource::Named(n) => (None, Some(n.as_str().to_string())),
        };
        let file = DataFile {
            data,
            dataset,
            identity: self.identity.clone(),
            resize: self.folder.resize,
            strict: self.folder.strict,
        };
        let text = serde_json::to_string_pretty(&file).expect("data.json serialises");
        let path = dir.join(DATA_FILE);
        atomic_write(&path, text.as_bytes())
            .map_err(|e| run_dir_error(&path, format!("cannot write: {e}")))
    }

    /// Reads `data.json` of the run directory `dir`; missing or damaged is an error naming it.
    pub fn load(dir: &Path) -> Result<RunData, SearchError> {
        let path = dir.join(DATA_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            run_dir_error(
                &path,
                format!("cannot read ({e}); it names the data this run was started on"),
            )
        })?;
        let file: DataFile = serde_json::from_str(&text)
            .map_err(|e| run_dir_error(&path, format!("corrupt: {e}")))?;
        let source = match (file.data, file.dataset) {
            (Some(dir), None) => DataSource::Dir(dir),
            (None, Some(name)) => DataSource::Named(
                DatasetName::parse(&name)
                    .map_err(|e| run_dir_error(&path, format!("dataset: {e}")))?,
            ),
            _ => {
                return Err(run_dir_error(
                    &path,
                    "corrupt: needs exactly one of `data` and `dataset`",
                ));
            }
        };
        Ok(RunData {
            source,
            identity: file.identity,
            folder: FolderOptions {
                resize: file.resize,
                strict: file.strict,
            },
        })
    }

    /// For `--resume`: loads the data of the run in `dir`, from `given` (a new place of the same
    /// data, which `data.json` then remembers) or from where the run started, and checks that
    /// it is the data the run started on.
    pub fn reload(dir: &Path, given: Option<DataSource>) -> Result<TrainTest, SearchError> {
        let saved = RunData::load(dir)?;
        let source = given.unwrap_or_else(|| saved.source.clone());
        let data = data::load_with(&source, saved.folder)
            .map_err(|e| SearchError::Other(e.to_string()))?;
        let found = RunData::new(&source, &data)?.with_folder(saved.folder);
        if found.identity != saved.identity {
            return Err(run_dir_error(
                &dir.join(DATA_FILE),
                format!(
                    "this run was started on {} from {}, but {} holds {}",
                    saved.identity,
                    describe(&saved.source),
                    describe(&source),
                    found.identity
                ),
            ));
        }
        if found.source != saved.source {
            found.save(dir)?;
        }
        Ok(data)
    }
}
