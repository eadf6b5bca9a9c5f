//! f64 reference of the batch gather kernel, written from its specification: pad the image with
//! zeros (in normalised units), crop H x W at (dy, dx), mirror the crop when the flip bit is
//! set, normalise as (p / 255 - mean) / std, then zero the cutout square.

/// Label of slots past the end of the order.
pub const IGNORE: u32 = u32::MAX;

/// Chris Wellons' lowbias32 integer mixer.
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The augmentation hash of (seed, image index).
pub fn augment_hash(seed: u32, index: u32) -> u32 {
    mix32(index ^ mix32(seed.wrapping_add(0x9e37_79b9)))
}

/// Crop offset (dy, dx) in 0..=2*pad and the flip decision for an image.
pub fn augmentation(seed: u32, index: u32, pad: u32, flip: bool) -> (usize, usize, bool) {
    if pad == 0 && !flip {
        return (0, 0, false);
    }
    let h = augment_hash(seed, index);
    let span = 2 * pad + 1;
    let dx = (h & 0xffff) % span;
    let dy = ((h >> 16) & 0x7fff) % span;
    (dy as usize, dx as usize, flip && (h >> 31) == 1)
}

/// A host dataset as the reference sees it.
pub struct HostData<'a> {
    pub pixels: &'a [u8],
    pub labels: &'a [u32],
    /// [N, C, H, W]
    pub shape: [usize; 4],
    pub mean: &'a [f32],
    pub std: &'a [f32],
}

/// One gather: what the cursor and launch say.
pub struct GatherCall<'a> {
    pub order: &'a [u32],
    pub offset: u32,
    pub count: u32,
    pub seed: u32,
    pub batch: usize,
    pub pad: u32,
    pub flip: bool,
    /// Side of the cutout square (0 = none).
    pub cutout: u32,
}

/// The first row and column of an image's cutout square (the centre, uniform over the
/// H x W image, minus half the side), from its own hash of (seed, index).
pub fn cutout_corner(seed: u32, index: u32, cutout: u32, h: usize, w: usize) -> (i64, i64) {
    let hash = augment_hash(seed ^ 0x85eb_ca6b, index);
    let half = (cutout / 2) as i64;
    (
        ((hash & 0xffff) as usize % h) as i64 - half,
        ((hash >> 16) as usize % w) as i64 - half,
    )
}

/// Images `[B, C, H, W]` and labels `[B]` of one gathered batch.
pub fn gather(data: &HostData, call: &GatherCall) -> (Vec<f64>, Vec<u32>) {
    let [n, c, h, w] = data.shape;
    let mut images = Vec::with_capacity(call.batch * c * h * w);
    let mut labels = Vec::with_capacity(call.batch);
    for b in 0..call.batch {
        let pos = call.offset as usize + b;
        let index = if b < call.count as usize && pos < call.order.len() {
            Some(call.order[pos] as usize).filter(|&i| i < n)
        } else {
            None
        };
        let Some(index) = index else {
            images.extend(std::iter::repeat_n(0.0, c * h * w));
            labels.push(IGNORE);
            continue;
        };
        labels.push(data.labels[index]);
        let (dy, dx, mirrored) = augmentation(call.seed, index as u32, call.pad, call.flip);
        let p = call.pad as usize;
        let (y0, x0) = cutout_corner(call.seed, index as u32, call.cutout, h, w);
        let side = call.cutout as i64;
        let cut = |y: usize, x: usize| {
            let (dy, dx) = (y as i64 - y0, x as i64 - x0);
            side > 0 && (0..side).contains(&dy) && (0..side).contains(&dx)
        };
        for ch in 0..c {
            let (mean, std) = (data.mean[ch] as f64, data.std[ch] as f64);
            let plane = &data.pixels[((index * c + ch) * h * w)..((index * c + ch + 1) * h * w)];
            // The padded image, (H + 2p) x (W + 2p); None is padding.
            let padded = |y: usize, x: usize| -> Option<u8> {
                (y >= p && x >= p && y - p < h && x - p < w).then(|| plane[(y - p) * w + (x - p)])
            };
            for y in 0..h {
                for x in 0..w {
                    let xc = if mirrored { w - 1 - x } else { x };
                    let value = match padded(y + dy, xc + dx) {
                        _ if cut(y, x) => 0.0,
                        Some(v) => (v as f64 / 255.0 - mean) / std,
                        None => 0.0,
                    };
                    images.push(value);
                }
            }
        }
    }
    (images, labels)
}
