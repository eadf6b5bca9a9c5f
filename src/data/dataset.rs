//! Host-side datasets: u8 images `[N, C, H, W]` with labels, the train/test pair a reader
//! returns, and per-channel statistics for normalisation.

use super::error::{DataError, argument};
use super::gather::Augment;

/// The on-disk format a dataset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// IDX files (MNIST, Fashion-MNIST): 1 channel.
    Idx,
    /// CIFAR-10 binary batches: 3 channels, 10 classes.
    Cifar10,
    /// CIFAR-100 binary files: 3 channels, 100 fine classes.
    Cifar100,
    /// A folder of PNG/JPEG images, one sub-folder per class (`data::folder`).
    ImageFolder,
}

impl Format {
    /// Augmentation used by default: crop (pad 4) and flip for CIFAR, none for IDX digits and
    /// clothes, where flips and shifts change what a class looks like less usefully.
    pub fn default_augment(self) -> Augment {
        match self {
            Format::Idx | Format::ImageFolder => Augment::NONE,
            Format::Cifar10 | Format::Cifar100 => Augment {
                crop_padding: 4,
                horizontal_flip: true,
                cutout: 0,
            },
        }
    }
}

/// Images and labels of one part (train or test) of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// For logs: e.g. "fashion-mnist train".
    pub name: String,
    /// Pixels, `[N, C, H, W]` row-major, channel-planar.
    pub images: Vec<u8>,
    /// One label per image, each `< classes`.
    pub labels: Vec<u32>,
    /// Channels, height, width of every image.
    pub image_shape: [usize; 3],
    /// Number of classes (labels are `0..classes`).
    pub classes: u32,
}

/// Per-channel mean and standard deviation of pixel values scaled to [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Dataset {
    /// A dataset after checking that the pixel count fits `image_shape` and every label is in
    /// range.
    pub fn new(
        name: impl Into<String>,
        images: Vec<u8>,
        labels: Vec<u32>,
        image_shape: [usize; 3],
        classes: u32,
    ) -> Result<Dataset, DataError> {
        let name = name.into();
        let per_image: usize = image_shape.iter().product();
        if per_image == 0 {
            return Err(argument(format!(
                "{name}: image shape {image_shape:?} has a zero dimension"
            )));
        }
        if images.len() != labels.len() * per_image {
            return Err(DataError::Mismatch {
                message: format!(
                    "{name}: {} labels need {} pixel bytes of shape {image_shape:?}, got {}",
                    labels.len(),
                    labels.len() * per_image,
                    images.len()
                ),
            });
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(argument(format!(
                "{name}: label {l} of image {i} is outside 0..{classes}"
            )));
        }
        Ok(Dataset {
            name,
            images,
            labels,
            image_shape,
            classes,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes (pixels) per image, `C * H * W`.
    pub fn image_bytes(&self) -> usize {
        self.image_shape.iter().product()
    }

    /// `[N, C, H, W]`.
    pub fn shape(&self) -> [usize; 4] {
        let [c, h, w] = self.image_shape;
        [self.len(), c, h, w]
    }

    /// The pixels of image `i`, `[C, H, W]`.
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_bytes();
        &self.images[i * s..(i + 1) * s]
    }

    /// Number of images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes as usize];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Mean and (population) standard deviation of each channel over all images, in [0, 1]
    /// units. Sums are exact integers, so the result does not depend on summation order. A
    /// constant channel gets std 1 so that normalising never divides by zero.
    pub fn channel_stats(&self) -> ChannelStats {
        let [c, h, w] = self.image_shape;
        let plane = h * w;
        let mut sum = vec![0u64; c];
        let mut sum_sq = vec![0u64; c];
        for image in self.images.chunks_exact(self.image_bytes()) {
            for (ch, pixels) in image.chunks_exact(plane).enumerate() {
                for &p in pixels {
                    sum[ch] += p as u64;
                    sum_sq[ch] += (p as u64) * (p as u64);
                }
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        let mut mean = Vec::with_capacity(c);
        let mut std = Vec::with_capacity(c);
        for ch in 0..c {
            let m = sum[ch] as f64 / count / 255.0;
            let var = (sum_sq[ch] as f64 / count / (255.0 * 255.0) - m * m).max(0.0);
            mean.push(m as f32);
            std.push(if var > 1e-12 { var.sqrt() as f32 } else { 1.0 });
        }
        ChannelStats { mean, std }
    }

    /// A new dataset of the images at `indices`, in that order (e.g. to upload only a subset).
    pub fn select(&self, indices: &[u32]) -> Result<Dataset, DataError> {
        let mut images = Vec::with_capacity(indices.len() * self.image_bytes());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i as usize >= self.len() {
                return Err(argument(format!(
                    "{}: index {i} is outside 0..{}",
                    self.name,
                    self.len()
                )));
            }
            images.extend_from_slice(self.image(i as usize));
            labels.push(self.labels[i as usize]);
        }
        Dataset::new(
            format!("{} (subset of {})", self.name, indices.len()),
            images,
            labels,
            self.image_shape,
            self.classes,
        )
    }
}

/// A dataset's training and test parts, which always have the same image shape and classes.
/// Validation splits and search subsets are taken from `train` only.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    /// Short name, e.g. "fashion-mnist" or "cifar10".
    pub name: String,
    pub format: Format,
    pub train: Dataset,
    pub test: Dataset,
    /// One name per class when the dataset has them (written into model metadata).
    pub class_names: Option<Vec<String>>,
    /// Files left out while reading ("path: reason"): image folders skip undecodable files.
    pub skipped: Vec<String>,
}

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// CIFAR-10's class names, by label (as in its `batches.meta.txt`).
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

impl TrainTest {
    /// Pairs `train` and `test` after checking they agree on image shape and classes.
    pub fn new(
        name: impl Into<String>,
        format: Format,
        train: Dataset,
        test: Dataset,
    ) -> Result<TrainTest, DataError> {
        let name = name.into();
        if train.image_shape != test.image_shape || train.classes != test.classes {
            return Err(DataError::Mismatch {
                message: format!(
                    "{name}: training images are {:?} with {} classes but test images are {:?} \
                     with {} classes",
                    train.image_shape, train.classes, test.image_shape, test.classes
                ),
            });
        }
        Ok(TrainTest {
            name,
            format,
            train,
            test,
            class_names: None,
            skipped: Vec::new(),
        })
    }

    /// The same data with class names; names whose count is not the class count are dropped.
    pub fn with_class_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> TrainTest {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        self.class_names = Some(names).filter(|n| n.len() == self.train.classes as usize);
        self
    }

    /// One line for logs: name, sizes, image shape, classes.
    pub fn summary(&self) -> String {
        let [c, h, w] = self.train.image_shape;
        format!(
            "{}: {} training + {} test images of {c}x{h}x{w}, {} classes",
            self.name,
            self.train.len(),
            self.test.len(),
            self.train.classes
        )
    }
}
