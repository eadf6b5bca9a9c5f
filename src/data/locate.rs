//! Finding data: `--data DIR` detects the format from the files present; `--dataset NAME` looks
//! in `$NASGPU_DATA/<name>`, `./data/<name>` and, for Fashion-MNIST, where Debian installs it.

use std::path::{Path, PathBuf};

use super::bundled::bundled;
use super::cifar;
use super::dataset::{CIFAR10_CLASSES, FASHION_MNIST_CLASSES, Format, TrainTest};
use super::error::{DataError, FETCH_HINT};
use super::folder::{self, FolderOptions};
use super::idx;
use super::source::FileBytes;

/// Environment variable naming a directory that holds one sub-directory per dataset.
pub const DATA_ENV: &str = "NASGPU_DATA";

/// Where Debian's `dataset-fashion-mnist` package installs the IDX files.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Classes of the IDX datasets we read (MNIST and Fashion-MNIST both have 10).
const IDX_CLASSES: u32 = 10;

/// Base names of the four IDX files: train images, train labels, test images, test labels.
const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];
const CIFAR10_TRAIN: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const CIFAR10_TEST: &str = "test_batch.bin";
const CIFAR100_FILES: [&str; 2] = ["train.bin", "test.bin"];
/// Folders the official CIFAR tarballs extract into; we look inside them too.
const CIFAR_SUBDIRS: [&str; 2] = ["cifar-10-batches-bin", "cifar-100-binary"];

/// A dataset `--dataset` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetName {
    /// The Fashion-MNIST subset built into the binary.
    Bundled,
    FashionMnist,
    Mnist,
    Cifar10,
    Cifar100,
}

impl DatasetName {
    /// Every name, in the order help texts list them.
    pub const ALL: [DatasetName; 5] = [
        DatasetName::Bundled,
        DatasetName::FashionMnist,
        DatasetName::Mnist,
        DatasetName::Cifar10,
        DatasetName::Cifar100,
    ];

    /// Parses a name, ignoring case, '-' and '_' (so "cifar-10" and "Fashion_MNIST" work).
    pub fn parse(name: &str) -> Result<DatasetName, DataError> {
        let key: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str().replace('-', "") == key)
            .ok_or_else(|| DataError::UnknownDataset {
                name: name.to_string(),
            })
    }

    /// The canonical name, also the sub-directory looked for.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Bundled => "bundled",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Mnist => "mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
        }
    }

    /// The format its files are in.
    pub fn format(self) -> Format {
        match self {
            DatasetName::Bundled | DatasetName::FashionMnist | DatasetName::Mnist => Format::Idx,
            DatasetName::Cifar10 => Format::Cifar10,
            DatasetName::Cifar100 => Format::Cifar100,
        }
    }

    /// Directories searched for it, in order (none for the bundled subset).
    pub fn search_dirs(self) -> Vec<PathBuf> {
        if self == DatasetName::Bundled {
            return Vec::new();
        }
        let mut dirs = Vec::new();
        if let Some(root) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(root).join(self.as_str()));
        }
        dirs.push(Path::new("data").join(self.as_str()));
        if self == DatasetName::FashionMnist {
            dirs.push(PathBuf::from(DEBIAN_FASHION_MNIST));
        }
        dirs
    }

    /// How to obtain it.
    fn hint(self) -> String {
        let place = format!(
            "./data/{} (or ${DATA_ENV}/{})",
            self.as_str(),
            self.as_str()
        );
        let how = match self {
            DatasetName::FashionMnist | DatasetName::Bundled => return FETCH_HINT.to_string(),
            DatasetName::Mnist => format!(
                "put the four MNIST IDX files ({}, raw or .gz) in {place}",
                IDX_FILES.join(", ")
            ),
            DatasetName::Cifar10 => format!(
                "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html \
                 and extract it into {place}"
            ),
            DatasetName::Cifar100 => format!(
                "download cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html \
                 and extract it into {place}"
            ),
        };
        format!("{how}; or use `--dataset bundled` (built in, no download)")
    }
}

impl std::str::FromStr for DatasetName {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatasetName::parse(s)
    }
}

/// Where to load a dataset from: `--dataset NAME` or `--data DIR`; the bundled subset by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    Named(DatasetName),
    Dir(PathBuf),
}

impl Default for DataSource {
    fn default() -> Self {
        DataSource::Named(DatasetName::Bundled)
    }
}

impl DataSource {
    /// The source the CLI options `--data DIR` and `--dataset NAME` ask for (at most one).
    pub fn from_args(dir: Option<&Path>, name: Option<&str>) -> Result<DataSource, DataError> {
        match (dir, name) {
            (Some(_), Some(_)) => Err(DataError::Argument {
                message: "give either --data DIR or --dataset NAME, not both".to_string(),
            }),
            (Some(dir), None) => Ok(DataSource::Dir(dir.to_path_buf())),
            (None, Some(name)) => Ok(DataSource::Named(DatasetName::parse(name)?)),
            (None, None) => Ok(DataSource::default()),
        }
    }
}

/// The files of a dataset found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub format: Format,
    /// The directory the files are in (may be a CIFAR tarball's sub-folder of the one given).
    pub dir: PathBuf,
    /// Training files: IDX images then labels, or the CIFAR training batches.
    pub train: Vec<PathBuf>,
    /// Test files, in the same arrangement.
    pub test: Vec<PathBuf>,
}

/// Loads the dataset a `DataSource` names.
pub fn load(source: &DataSource) -> Result<TrainTest, DataError> {
    load_with(source, FolderOptions::default())
}

/// Loads the dataset a `DataSource` names, treating image folders as `opts` says.
pub fn load_with(source: &DataSource, opts: FolderOptions) -> Result<TrainTest, DataError> {
    match source {
        DataSource::Named(name) => load_named(*name),
        DataSource::Dir(dir) => load_dir_with(dir, None, opts),
    }
}

/// Loads a named dataset from the first search directory that holds it.
pub fn load_named(name: DatasetName) -> Result<TrainTest, DataError> {
    if name == DatasetName::Bundled {
        return bundled();
    }
    let mut looked = Vec::new();
    for dir in name.search_dirs() {
        if !dir.is_dir() {
            looked.push((dir.clone(), not_a_directory(&dir)));
            continue;
        }
        match detect(&dir) {
            Ok(layout) if layout.format == name.format() => {
                let data = load_layout(&layout, name.as_str())?;
                return Ok(match name {
                    DatasetName::FashionMnist => data.with_class_names(FASHION_MNIST_CLASSES),
                    DatasetName::Mnist => data.with_class_names((0..10).map(|d| d.to_string())),
                    _ => data,
                });
            }
            Ok(layout) => looked.push((dir, format!("holds {:?}, not {name:?}", layout.format))),
            Err(e) => looked.push((dir, e.to_string())),
        }
    }
    let mut hint = name.hint();
    if std::env::var_os(DATA_ENV).is_none() {
        hint.push_str(&format!(
            ". (Set {DATA_ENV}=DIR to also look in DIR/{}.)",
            name.as_str()
        ));
    }
    Err(DataError::NotFound {
        dataset: name.as_str().to_string(),
        looked,
        hint,
    })
}

/// Loads whatever dataset `dir` holds; `name` defaults to the directory's name.
pub fn load_dir(dir: &Path, name: Option<&str>) -> Result<TrainTest, DataError> {
    load_dir_with(dir, name, FolderOptions::default())
}

/// `load_dir`, with `opts` for an image folder (`DIR/train/<class>/*.png|jpg`).
pub fn load_dir_with(
    dir: &Path,
    name: Option<&str>,
    opts: FolderOptions,
) -> Result<TrainTest, DataError> {
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    if folder::is_image_folder(dir) {
        let fallback = base.unwrap_or_else(|| "images".into());
        return folder::load(dir, name.unwrap_or(&fallback), opts);
    }
    let layout = detect(dir)?;
    let fallback = base.unwrap_or_else(|| format!("{:?}", layout.format));
    load_layout(&layout, name.unwrap_or(&fallback))
}

/// Reads the files of a detected layout.
pub fn load_layout(layout: &Layout, name: &str) -> Result<TrainTest, DataError> {
    let read_all = |paths: &[PathBuf]| -> Result<Vec<FileBytes>, DataError> {
        paths.iter().map(|p| FileBytes::read(p)).collect()
    };
    let (train, test) = (read_all(&layout.train)?, read_all(&layout.test)?);
    let (train, test) = match layout.format {
        Format::Idx => (
            idx::read_pair(&format!("{name} train"), &train[0], &train[1], IDX_CLASSES)?,
            idx::read_pair(&format!("{name} test"), &test[0], &test[1], IDX_CLASSES)?,
        ),
        format => (
            cifar::read_files(&format!("{name} train"), &train, format)?,
            cifar::read_files(&format!("{name} test"), &test, format)?,
        ),
    };
    let data = TrainTest::new(name, layout.format, train, test)?;
    Ok(match layout.format {
        Format::Idx | Format::ImageFolder => data,
        Format::Cifar10 => match label_names(&layout.dir, "batches.meta.txt") {
            Some(names) => data.with_class_names(names),
            None => data.with_class_names(CIFAR10_CLASSES),
        },
        Format::Cifar100 => match label_names(&layout.dir, "fine_label_names.txt") {
            Some(names) => data.with_class_names(names),
            None => data,
        },
    })
}

/// Class names from a CIFAR tarball's label file (one per line), when present.
fn label_names(dir: &Path, file: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    )
}

/// The path of an IDX file in `dir`: the canonical name or the dotted variant some mirrors use
/// (`train-images.idx3-ubyte`), raw or gzipped.
fn find_idx(dir: &Path, stem: &str) -> Option<PathBuf> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    let names: Vec<PathBuf> = [stem, dotted.as_str()]
        .into_iter()
        .flat_map(|s| [s.to_string(), format!("{s}.gz")])
        .map(|name| dir.join(name))
        .collect();
    // A file first; else whatever stands under the name (a directory, a broken link), so that
    // reading it says what it is instead of calling it missing.
    names
        .iter()
        .find(|p| p.is_file())
        .or_else(|| names.iter().find(|p| present(p)))
        .cloned()
}

/// Something exists under `path` (a file, a directory, a link even if it leads nowhere).
fn present(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Why `dir` is not a directory we can read: missing, a file, or a link that leads nowhere.
fn not_a_directory(dir: &Path) -> String {
    match (dir.symlink_metadata(), std::fs::metadata(dir)) {
        (Err(_), _) => "no such directory".to_string(),
        (Ok(_), Ok(m)) if m.is_file() => {
            "is a file, not a directory (--data takes the folder holding the dataset's files)"
                .to_string()
        }
        (Ok(_), Ok(_)) => "is not a directory".to_string(),
        (Ok(_), Err(e)) => format!("is a symbolic link that cannot be followed ({e})"),
    }
}

/// Splits names into found paths and missing names.
fn partition(dir: &Path, found: Vec<(&str, Option<PathBuf>)>) -> (Vec<PathBuf>, Vec<String>) {
    let mut paths = Vec::new();
    let mut missing = Vec::new();
    for (name, path) in found {
        match path {
            Some(p) => paths.push(p),
            None => missing.push(format!("{}", dir.join(name).display())),
        }
    }
    (paths, missing)
}

/// Detects which dataset `dir` holds from the files present.
pub fn detect(dir: &Path) -> Result<Layout, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Io {
            file: dir.to_path_buf(),
            reason: not_a_directory(dir),
        });
    }
    let idx: Vec<_> = IDX_FILES.iter().map(|s| (*s, find_idx(dir, s))).collect();
    let file = |name: &str| Some(dir.join(name)).filter(|p| present(p));
    let c10: Vec<_> = CIFAR10_TRAIN
        .iter()
        .chain([&CIFAR10_TEST])
        .map(|s| (*s, file(s)))
        .collect();
    let c100: Vec<_> = CIFAR100_FILES.iter().map(|s| (*s, file(s))).collect();
    let candidates = [
        (Format::Idx, "IDX (MNIST / Fashion-MNIST)", idx, 2),
        (Format::Cifar10, "CIFAR-10", c10, 5),
        (Format::Cifar100, "CIFAR-100", c100, 1),
    ];
    let mut partial = None;
    for (format, label, found, n_train) in candidates {
        let any = found.iter().any(|(_, p)| p.is_some());
        let (mut paths, missing) = partition(dir, found);
        if missing.is_empty() {
            let test = paths.split_off(n_train);
            return Ok(Layout {
                format,
                dir: dir.to_path_buf(),
                train: paths,
                test,
            });
        }
        if any && partial.is_none() {
            partial = Some(DataError::Incomplete {
                dir: dir.to_path_buf(),
                format: label,
                missing,
            });
        }
    }
    if let Some(e) = partial {
        return Err(e);
    }
    for sub in CIFAR_SUBDIRS {
        if dir.join(sub).is_dir() {
            return detect(&dir.join(sub));
        }
    }
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.truncate(12);
    Err(DataError::Unrecognised {
        dir: dir.to_path_buf(),
        found,
    })
}
