//! Datasets: safe readers for IDX and CIFAR files, image folders (PNG/JPEG per class), the bundled Fashion-MNIST subset, finding
//! data on disk, seeded splits, and device-resident datasets with an on-device batch gather.
//!
//! Flow: `locate::load` -> `TrainTest` (host u8 images) -> `split_train_validation` / `subset`
//! (indices) -> `DeviceDataset::upload` (once) -> per step `BatchCursor::set` + re-encoded
//! `gather_batch` launches.

mod bundled;
mod cifar;
mod dataset;
mod device;
mod error;
pub mod folder;
mod gather;
mod idx;
mod locate;
mod source;
mod split;

pub use bundled::bundled;
pub use cifar::{CIFAR_SHAPE, parse_file as parse_cifar_file, read_files as read_cifar_files};
pub use dataset::{
    CIFAR10_CLASSES, ChannelStats, Dataset, FASHION_MNIST_CLASSES, Format, TrainTest,
};
pub use device::{DeviceDataset, MAX_CHANNELS};
pub use error::{DataError, FETCH_HINT};
pub use gather::{Augment, BatchCursor, IGNORE_LABEL, gather_batch};
pub use idx::read_pair as read_idx_pair;
pub use idx::{IdxImages, parse_images as parse_idx_images, parse_labels as parse_idx_labels};
pub use locate::{
    DATA_ENV, DEBIAN_FASHION_MNIST, DataSource, DatasetName, Layout, detect, load, load_dir,
    load_dir_with, load_layout, load_named, load_with,
};
pub use source::{FileBytes, MAX_FILE_BYTES};
pub use split::{Amount, Sampling, Split, shuffled, split_train_validation, subset};
