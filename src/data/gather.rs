//! The batch gather kernel (`shaders/gather.wgsl`): builds a normalised, optionally augmented
//! f32 batch from a `DeviceDataset` by index, entirely on the device. The indices come from an
//! order tensor at an offset held in a small cursor tensor, so a training step re-encodes the
//! same launches and the host writes only the 16-byte cursor per step.

use std::sync::Arc;

use super::device::DeviceDataset;
use super::error::{DataError, argument};
use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::kernels::checks::{distinct, fits_u32, has_dtype, has_rank, has_shape};
use crate::tensor::{DType, Tensor};

/// Label of a batch slot past the end of the order (or with an out-of-range index): the loss
/// and the metrics skip it. Its image is all zeros.
pub const IGNORE_LABEL: u32 = u32::MAX;

const WG: u32 = 256;

static GATHER: KernelDef = KernelDef {
    name: "gather",
    source: include_str!("../../shaders/gather.wgsl"),
    entry: "gather",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
};

/// Random augmentation applied while gathering; each image's crop offset, flip and cutout square
/// come from a hash of (cursor seed, image index), so they are reproducible for a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Augment {
    /// Pad this many zero pixels on every side, then crop back to H x W at a random offset
    /// (0 = no crop). Padding is zero after normalisation, i.e. the channel mean.
    pub crop_padding: u32,
    /// Mirror left-right with probability 1/2.
    pub horizontal_flip: bool,
    /// Cutout (DeVries & Taylor 2017): zero a square of this side at a uniformly random centre,
    /// clipped at the border (0 = none). Zero after normalisation, as the crop's padding.
    pub cutout: u32,
}

impl Augment {
    /// No augmentation (evaluation, and IDX datasets by default).
    pub const NONE: Augment = Augment {
        crop_padding: 0,
        horizontal_flip: false,
        cutout: 0,
    };
}

/// The per-step state of a gather, on the device: U32 `[4]` = offset into the order, number
/// of valid slots, augmentation seed, unused.
#[derive(Debug, Clone)]
pub struct BatchCursor {
    tensor: Tensor,
}

impl BatchCursor {
    /// A cursor at offset 0 with no valid slots.
    pub fn new(gpu: &Arc<Gpu>) -> Result<BatchCursor, DataError> {
        Ok(BatchCursor {
            tensor: Tensor::from_u32(gpu, &[4], &[0; 4])?,
        })
    }

    /// Points the next gather at `order[offset .. offset + count]` (count is clamped to the
    /// batch size and to the order's end) with augmentation seed `seed`. One 16-byte write;
    /// vary the seed per step so each epoch sees new crops.
    pub fn set(&self, offset: u32, count: u32, seed: u32) {
        self.tensor.gpu().write_bytes(
            self.tensor.raw(),
            bytemuck::cast_slice(&[offset, count, seed, 0u32]),
        );
    }

    /// The cursor's tensor.
    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    chunk_first: u32,
    chunk_count: u32,
    dataset_len: u32,
    order_len: u32,
    pad: u32,
    flip: u32,
    writes_invalid: u32,
    cutout: u32,
    scale: [f32; 4],
    bias: [f32; 4],
}

/// Launches that fill `images` (F32 `[B, C, H, W]`) and `labels` (U32 `[B]`) from `data`:
/// slot `b` takes image `order[offset + b]` (offset, count and seed from `cursor`) as
/// `(pixel / 255 - mean) / std`, augmented by `augment`. Slots `b >= count`, past the end of
/// `order`, or whose index is out of range get a zero image and `IGNORE_LABEL`. One launch per
/// dataset chunk; encode them all, in any order, in the same pass.
pub fn gather_batch(
    gpu: &Gpu,
    data: &DeviceDataset,
    order: &Tensor,
    cursor: &BatchCursor,
    images: &Tensor,
    labels: &Tensor,
    augment: Augment,
) -> Result<Vec<Launch>, DataError> {
    let name = GATHER.name;
    let [c, h, w] = data.image_shape();
    let batch = images.shape().first().copied().unwrap_or(0);
    has_dtype(name, "images", images, DType::F32)?;
    has_shape(name, "images", images, &[batch, c, h, w])?;
    has_dtype(name, "labels", labels, DType::U32)?;
    has_shape(name, "labels", labels, &[batch])?;
    has_dtype(name, "order", order, DType::U32)?;
    has_rank(name, "order", order, 1)?;
    has_dtype(name, "cursor", cursor.tensor(), DType::U32)?;
    let inputs = [
        ("order", order),
        ("cursor", cursor.tensor()),
        ("dataset labels", data.labels()),
    ];
    distinct(name, ("images", images), &inputs)?;
    distinct(name, ("labels", labels), &inputs)?;
    distinct(name, ("labels", labels), &[("images", images)])?;
    if batch == 0 {
        return Err(argument("gather: the batch must hold at least one image"));
    }
    let pad = augment.crop_padding as usize;
    if pad > h.min(w) {
        return Err(argument(format!(
            "gather: crop padding {pad} is larger than the {h}x{w} image"
        )));
    }
    if augment.cutout as usize > h.max(w) {
        return Err(argument(format!(
            "gather: cutout {} is larger than the {h}x{w} image",
            augment.cutout
        )));
    }
    let elements = fits_u32(name, "batch elements", images.numel())?;
    let order_len = fits_u32(name, "order length", order.numel())?;
    let stats = data.stats();
    let mut scale = [0.0f32; 4];
    let mut bias = [0.0f32; 4];
    for ch in 0..c {
        let (mean, std) = (stats.mean[ch] as f64, stats.std[ch] as f64);
        scale[ch] = (1.0 / (255.0 * std)) as f32;
        bias[ch] = (-mean / std) as f32;
    }
    let grid = grid_1d(gpu, elements as usize, WG);
    let launches = data
        .chunks()
        .iter()
        .enumerate()
        .map(|(k, chunk)| {
            let params = Params {
                batch: batch as u32,
                channels: c as u32,
                height: h as u32,
                width: w as u32,
                chunk_first: chunk.first,
                chunk_count: chunk.count,
                dataset_len: data.len() as u32,
                order_len,
                pad: augment.crop_padding,
                flip: augment.horizontal_flip as u32,
                writes_invalid: (k == 0) as u32,
                cutout: augment.cutout,
                scale,
                bias,
            };
            Launch::new(
                gpu,
                &GATHER,
                &vec![],
                bytemuck::bytes_of(&params),
                &[
                    chunk.binding(),
                    data.labels().binding(),
                    order.binding(),
                    cursor.tensor().binding(),
                    images.binding(),
                    labels.binding(),
                ],
                grid,
            )
        })
        .collect();
    Ok(launches)
}
