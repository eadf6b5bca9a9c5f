//! Errors of the data layer: unreadable or malformed files, missing datasets, bad split sizes,
//! and device failures while uploading or gathering. Every message names the file or value.

use std::fmt;
use std::path::PathBuf;

use crate::device::DeviceError;
use crate::kernels::KernelError;

/// Where to point a user who has no copy of a dataset.
pub const FETCH_HINT: &str = "run `scripts/fetch-data.sh` (puts Fashion-MNIST in ./data/fashion-mnist; \
     needs apt, not root) or `sudo apt-get install dataset-fashion-mnist`; or use `--dataset bundled` \
     (built in, no download)";

/// A dataset could not be read, found, split or put on the device.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// The file could not be opened or read.
    Io { file: PathBuf, reason: String },
    /// The file is not a valid gzip stream (or it ends early).
    Gzip { file: PathBuf, reason: String },
    /// The content is malformed at `offset` (of the decompressed data when `compressed`).
    Format {
        file: PathBuf,
        offset: u64,
        compressed: bool,
        expected: String,
        found: String,
    },
    /// Two files that belong together disagree (image and label counts, train and test shapes).
    Mismatch { message: String },
    /// `--dataset` names no dataset we know.
    UnknownDataset { name: String },
    /// A named dataset is in none of the places we look; `looked` says why for each.
    NotFound {
        dataset: String,
        looked: Vec<(PathBuf, String)>,
        hint: String,
    },
    /// `--data DIR` holds no dataset we recognise.
    Unrecognised { dir: PathBuf, found: Vec<String> },
    /// A directory holds some but not all files of a format.
    Incomplete {
        dir: PathBuf,
        format: &'static str,
        missing: Vec<String>,
    },
    /// An argument is out of range (split sizes, augmentation, channel count).
    Argument { message: String },
    /// A gather launch was given tensors that do not fit.
    Kernel(KernelError),
    /// The device failed (out of memory, lost device).
    Device(DeviceError),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { file, reason } => {
                write!(f, "cannot read {}: {reason}", file.display())
            }
            DataError::Gzip { file, reason } => write!(
                f,
                "{}: not a valid gzip file ({reason}); the download may be incomplete, fetch it again",
                file.display()
            ),
            DataError::Format {
                file,
                offset,
                compressed,
                expected,
                found,
            } => write!(
                f,
                "{}: at byte {offset}{}: expected {expected}, found {found}",
                file.display(),
                if *compressed {
                    " of the decompressed data"
                } else {
                    ""
                }
            ),
            DataError::Mismatch { message } => f.write_str(message),
            DataError::UnknownDataset { name } => write!(
                f,
                "unknown dataset '{name}'; choose one of: bundled, fashion-mnist, mnist, cifar10, \
                 cifar100 (or give a directory with --data DIR)"
            ),
            DataError::NotFound {
                dataset,
                looked,
                hint,
            } => {
                write!(f, "dataset '{dataset}' not found; looked in:")?;
                for (dir, why) in looked {
                    write!(f, "\n  {}: {why}", dir.display())?;
                }
                write!(f, "\nTo get it: {hint}")
            }
            DataError::Unrecognised { dir, found } => write!(
                f,
                "{} holds no dataset nasgpu can read (found: {}). Expected IDX files \
                 (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], \
                 t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), CIFAR-10 binaries \
                 (data_batch_1.bin .. data_batch_5.bin, test_batch.bin) or CIFAR-100 binaries \
                 (train.bin, test.bin) or an image folder (train/<class>/*.png|jpg)",
                dir.display(),
                if found.is_empty() {
                    "nothing".to_string()
                } else {
                    found.join(", ")
                }
            ),
            DataError::Incomplete {
                dir,
                format,
                missing,
            } => write!(
                f,
                "{} holds part of a {format} dataset but lacks {}; the download or extraction \
                 is incomplete",
                dir.display(),
                missing.join(", ")
            ),
            DataError::Argument { message } => f.write_str(message),
            DataError::Kernel(e) => write!(f, "{e}"),
            DataError::Device(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DataError {}

impl From<DeviceError> for DataError {
    fn from(e: DeviceError) -> Self {
        DataError::Device(e)
    }
}

impl From<KernelError> for DataError {
    fn from(e: KernelError) -> Self {
        DataError::Kernel(e)
    }
}

/// Shorthand for an argument error.
pub fn argument(message: impl Into<String>) -> DataError {
    DataError::Argument {
        message: message.into(),
    }
}
