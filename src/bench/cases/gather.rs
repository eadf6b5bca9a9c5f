//! Benchmark cases of the batch gather kernel (memory-bound: reported in GB/s). The dataset is
//! synthetic so the table needs no files.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::data::{Augment, BatchCursor, DataError, Dataset, DeviceDataset, gather_batch};
use crate::device::Gpu;
use crate::kernels::{KernelError, argument_error};
use crate::tensor::{DType, Tensor};

/// Batch 128 from a 10,000-image dataset: CIFAR-shaped with crop + flip, and
/// Fashion-MNIST-shaped plain and with cutout.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let crop_flip = Augment {
        crop_padding: 4,
        horizontal_flip: true,
        cutout: 0,
    };
    let cutout = Augment {
        cutout: 14,
        ..Augment::NONE
    };
    Ok(vec![
        case(gpu, [3, 32, 32], crop_flip, "n128 3x32x32 crop4 flip").map_err(to_kernel)?,
        case(gpu, [1, 28, 28], Augment::NONE, "n128 1x28x28").map_err(to_kernel)?,
        case(gpu, [1, 28, 28], cutout, "n128 1x28x28 cutout14").map_err(to_kernel)?,
    ])
}

fn to_kernel(e: DataError) -> KernelError {
    match e {
        DataError::Kernel(k) => k,
        DataError::Device(d) => KernelError::Device(d),
        other => argument_error("gather", other.to_string()),
    }
}

fn case(
    gpu: &Arc<Gpu>,
    shape: [usize; 3],
    augment: Augment,
    label: &str,
) -> Result<BenchCase, DataError> {
    let (n, batch) = (10_000usize, 128usize);
    let per_image: usize = shape.iter().product();
    let pixels = (0..n * per_image).map(|i| (i * 131 % 251) as u8).collect();
    let labels = (0..n).map(|i| (i % 10) as u32).collect();
    let data = Dataset::new("bench", pixels, labels, shape, 10)?;
    let device = Arc::new(DeviceDataset::upload(gpu, &data, &data.channel_stats())?);
    // A strided order so consecutive slots read distant images, as a shuffled epoch does.
    let order: Vec<u32> = (0..n as u32).map(|i| i * 7919 % n as u32).collect();
    let order = Tensor::from_u32(gpu, &[n], &order)?;
    let cursor = BatchCursor::new(gpu)?;
    cursor.set(1000, batch as u32, 42);
    let [c, h, w] = shape;
    let images = Tensor::zeros(gpu, &[batch, c, h, w])?;
    let out_labels = Tensor::empty(gpu, &[batch], DType::U32)?;
    let launches = gather_batch(gpu, &device, &order, &cursor, &images, &out_labels, augment)?
        .into_iter()
        .map(|l| l.keep_alive(device.clone()))
        .collect();
    Ok(BenchCase {
        kernel: "gather".into(),
        shape: label.to_string(),
        flops: 0.0,
        // Read each pixel byte and index once, write each f32 and label once.
        bytes: (batch * (per_image * 5 + 12)) as f64,
        launches,
        keep: vec![order, cursor.tensor().clone(), images, out_labels],
    })
}
