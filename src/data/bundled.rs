//! The Fashion-MNIST subset embedded in the binary (`assets/fashion-mnist-subset/`, see its
//! README): 2,000 training and 1,000 test images, class-balanced, so `--dataset bundled` works
//! anywhere with no download.

use super::dataset::{FASHION_MNIST_CLASSES, Format, TrainTest};
use super::error::DataError;
use super::idx;
use super::source::FileBytes;

/// (name, gzipped IDX bytes) of the four embedded files.
const FILES: [(&str, &[u8]); 4] = [
    (
        "bundled/train-images-idx3-ubyte.gz",
        include_bytes!("../../assets/fashion-mnist-subset/train-images-idx3-ubyte.gz"),
    ),
    (
        "bundled/train-labels-idx1-ubyte.gz",
        include_bytes!("../../assets/fashion-mnist-subset/train-labels-idx1-ubyte.gz"),
    ),
    (
        "bundled/t10k-images-idx3-ubyte.gz",
        include_bytes!("../../assets/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"),
    ),
    (
        "bundled/t10k-labels-idx1-ubyte.gz",
        include_bytes!("../../assets/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz"),
    ),
];

/// Decodes the embedded subset.
pub fn bundled() -> Result<TrainTest, DataError> {
    let files = FILES
        .iter()
        .map(|(name, bytes)| FileBytes::from_memory(*name, bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let train = idx::read_pair("bundled train", &files[0], &files[1], 10)?;
    let test = idx::read_pair("bundled test", &files[2], &files[3], 10)?;
    Ok(
        TrainTest::new("bundled", Format::Idx, train, test)?
            .with_class_names(FASHION_MNIST_CLASSES),
    )
}
