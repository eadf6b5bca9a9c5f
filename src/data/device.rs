//! A dataset resident on the device: u8 pixels packed 4 per u32, uploaded once, split into
//! chunk buffers no larger than a storage binding allows, plus a U32 label tensor.

use std::sync::Arc;

use super::dataset::{ChannelStats, Dataset};
use super::error::{DataError, argument};
use crate::device::{Binding, Gpu};
use crate::tensor::Tensor;

/// Most channels the gather kernel normalises (its per-channel constants are one vec4).
pub const MAX_CHANNELS: usize = 4;

/// Bytes written per `write_buffer` (each followed by a submit, so staging memory stays bounded).
const UPLOAD_PIECE: usize = 16 << 20;

/// One buffer of whole images: images `first .. first + count`.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub buffer: wgpu::Buffer,
    pub first: u32,
    pub count: u32,
    pub bytes: u64,
}

impl Chunk {
    pub fn binding(&self) -> Binding<'_> {
        Binding::new(&self.buffer, self.bytes)
    }
}

/// A dataset on the device, ready for `gather_batch`.
#[derive(Debug)]
pub struct DeviceDataset {
    chunks: Vec<Chunk>,
    labels: Tensor,
    image_shape: [usize; 3],
    classes: u32,
    stats: ChannelStats,
}

impl DeviceDataset {
    /// Uploads `data`, normalised by `stats` when gathered (use the training set's statistics
    /// for every part). Chunks are as large as the device's storage binding limit allows.
    pub fn upload(
        gpu: &Arc<Gpu>,
        data: &Dataset,
        stats: &ChannelStats,
    ) -> Result<DeviceDataset, DataError> {
        DeviceDataset::upload_windowed(gpu, data, stats, gpu.max_binding_bytes())
    }

    /// Like `upload`, with chunks of at most `window_bytes` (capped by the binding limit);
    /// small windows exercise the chunking on any device.
    pub fn upload_windowed(
        gpu: &Arc<Gpu>,
        data: &Dataset,
        stats: &ChannelStats,
        window_bytes: u64,
    ) -> Result<DeviceDataset, DataError> {
        check_stats(data, stats)?;
        if data.is_empty() {
            return Err(argument(format!("{}: no images to upload", data.name)));
        }
        let n = u32::try_from(data.len())
            .map_err(|_| argument(format!("{}: too many images for u32 indices", data.name)))?;
        let image_bytes = data.image_bytes() as u64;
        // Byte offsets inside a chunk are u32 in the kernel; keep windows below 2^31.
        let window = window_bytes.min(gpu.max_binding_bytes()).min(1 << 31);
        let per_chunk = (window / image_bytes).min(n as u64) as u32;
        if per_chunk == 0 {
            return Err(argument(format!(
                "{}: one image is {image_bytes} bytes but a chunk may hold only {window}",
                data.name
            )));
        }
        let mut chunks = Vec::new();
        let mut first = 0u32;
        while first < n {
            let count = per_chunk.min(n - first);
            let start = first as usize * image_bytes as usize;
            let end = start + count as usize * image_bytes as usize;
            chunks.push(upload_chunk(gpu, &data.images[start..end], first, count)?);
            first += count;
        }
        let labels = Tensor::from_u32(gpu, &[data.len()], &data.labels)?;
        Ok(DeviceDataset {
            chunks,
            labels,
            image_shape: data.image_shape,
            classes: data.classes,
            stats: stats.clone(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.numel()
    }

    /// Always false: an empty dataset cannot be uploaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Channels, height, width.
    pub fn image_shape(&self) -> [usize; 3] {
        self.image_shape
    }

    /// Number of classes.
    pub fn classes(&self) -> u32 {
        self.classes
    }

    /// The statistics images are normalised with.
    pub fn stats(&self) -> &ChannelStats {
        &self.stats
    }

    /// Labels, U32 `[N]`.
    pub fn labels(&self) -> &Tensor {
        &self.labels
    }

    /// Number of chunk buffers the pixels are split over.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Device bytes held by pixels and labels.
    pub fn device_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.bytes).sum::<u64>() + self.labels.bytes()
    }

    pub(crate) fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }
}

/// Statistics must give every channel a finite mean and a positive finite std.
fn check_stats(data: &Dataset, stats: &ChannelStats) -> Result<(), DataError> {
    let [c, _, _] = data.image_shape;
    if c > MAX_CHANNELS {
        return Err(argument(format!(
            "{}: {c} channels; the gather kernel handles at most {MAX_CHANNELS}",
            data.name
        )));
    }
    if stats.mean.len() != c || stats.std.len() != c {
        return Err(argument(format!(
            "{}: statistics for {} / {} channels, images have {c}",
            data.name,
            stats.mean.len(),
            stats.std.len()
        )));
    }
    let bad_std = stats.std.iter().any(|s| !(s.is_finite() && *s > 0.0));
    if bad_std || stats.mean.iter().any(|m| !m.is_finite()) {
        return Err(argument(format!(
            "{}: normalisation needs finite means and positive stds, got {stats:?}",
            data.name
        )));
    }
    Ok(())
}

/// Copies one chunk's pixels into a new buffer, little-endian packed (byte k of the chunk is
/// byte k % 4 of word k / 4, which is how WGSL sees host memory).
fn upload_chunk(gpu: &Gpu, pixels: &[u8], first: u32, count: u32) -> Result<Chunk, DataError> {
    let bytes = (pixels.len() as u64).next_multiple_of(4);
    let buffer = gpu.create_buffer(
        bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        "dataset pixels",
    )?;
    for (i, piece) in pixels.chunks(UPLOAD_PIECE).enumerate() {
        let mut padded;
        let piece = if piece.len() % 4 == 0 {
            piece
        } else {
            padded = piece.to_vec();
            padded.resize(piece.len().next_multiple_of(4), 0);
            &padded
        };
        gpu.queue
            .write_buffer(&buffer, (i * UPLOAD_PIECE) as u64, piece);
        gpu.queue.submit(std::iter::empty());
    }
    gpu.check_errors()?;
    Ok(Chunk {
        buffer,
        first,
        count,
        bytes,
    })
}
