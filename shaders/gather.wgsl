// Batch gather: images[b] = normalise(augment(dataset[order[cursor.offset + b]])), labels[b] the
// image's label. Augmentation: a random crop of the zero-padded image, a horizontal flip, and
// cutout (DeVries & Taylor 2017: a square of side `cutout` at a random centre, clipped at the
// border, set to zero, i.e. the channel mean), each from a hash of (seed, image index). One
// invocation per output element. The dataset's u8 pixels are packed 4 per u32 and may be split
// over several chunk buffers (storage bindings are capped); one launch per
// chunk writes the samples whose image lies in it, and the first launch also writes the slots
// past the end of the batch (zeros, IGNORE_LABEL). So every element is written exactly once.

struct Params {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    chunk_first: u32,     // dataset index of the chunk's first image
    chunk_count: u32,     // images in this chunk
    dataset_len: u32,
    order_len: u32,
    pad: u32,             // random-crop zero padding (0 = no crop)
    flip: u32,            // 1 = random horizontal flip
    writes_invalid: u32,  // 1 for the launch that writes the invalid slots
    cutout: u32,          // side of the cutout square (0 = none)
    scale: vec4<f32>,     // per channel: 1 / (255 * std)
    bias: vec4<f32>,      // per channel: -mean / std
}

const WG: u32 = 256u;
const IGNORE_LABEL: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> dataset_labels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> cursor: array<u32>;  // offset, count, seed, unused
@group(0) @binding(5) var<storage, read_write> images: array<f32>;
@group(0) @binding(6) var<storage, read_write> labels: array<u32>;

// A 32-bit integer mixer (Chris Wellons' lowbias32): a counter-based hash, so augmentation
// depends only on (seed, image index), never on scheduling.
fn mix32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

fn augment_hash(seed: u32, index: u32) -> u32 {
    return mix32(index ^ mix32(seed + 0x9e3779b9u));
}

// Whether output pixel (y, x) lies in the image's cutout square: rows and columns
// [centre - cutout / 2, centre - cutout / 2 + cutout), the centre uniform over the image. Its
// own hash (the seed offset by a constant), so it varies independently of crop and flip.
fn in_cutout(seed: u32, index: u32, y: u32, x: u32) -> bool {
    let h = augment_hash(seed ^ 0x85ebca6bu, index);
    let y0 = i32((h & 0xffffu) % p.height) - i32(p.cutout / 2u);
    let x0 = i32((h >> 16u) % p.width) - i32(p.cutout / 2u);
    let dy = i32(y) - y0;
    let dx = i32(x) - x0;
    return dy >= 0 && dy < i32(p.cutout) && dx >= 0 && dx < i32(p.cutout);
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let plane = p.height * p.width;
    let per_image = p.channels * plane;
    if i >= p.batch * per_image { return; }
    let b = i / per_image;
    let r = i - b * per_image;

    let offset = cursor[0];
    let count = min(cursor[1], p.batch);
    var valid = b < count && offset < p.order_len && b < p.order_len - offset;
    var index = 0u;
    if valid {
        index = order[offset + b];
        valid = index < p.dataset_len;
    }
    if !valid {
        if p.writes_invalid == 1u {
            images[i] = 0.0;
            if r == 0u { labels[b] = IGNORE_LABEL; }
        }
        return;
    }
    if index < p.chunk_first || index - p.chunk_first >= p.chunk_count { return; }
    if r == 0u { labels[b] = dataset_labels[index]; }

    let c = r / plane;
    let yx = r - c * plane;
    let y = yx / p.width;
    var x = yx - y * p.width;
    if p.cutout != 0u && in_cutout(cursor[2], index, y, x) {
        images[i] = 0.0;
        return;
    }
    // Flip the cropped image, then crop: the output pixel (y, x) comes from the padded image at
    // (y + dy, x' + dx), i.e. the source pixel (y + dy - pad, x' + dx - pad).
    var dy = 0u;
    var dx = 0u;
    if p.pad != 0u || p.flip != 0u {
        let h = augment_hash(cursor[2], index);
        if p.flip != 0u && (h >> 31u) == 1u { x = p.width - 1u - x; }
        let span = 2u * p.pad + 1u;
        dx = (h & 0xffffu) % span;
        dy = ((h >> 16u) & 0x7fffu) % span;
    }
    let sy = i32(y + dy) - i32(p.pad);
    let sx = i32(x + dx) - i32(p.pad);
    if sy < 0 || sx < 0 || sy >= i32(p.height) || sx >= i32(p.width) {
        images[i] = 0.0;  // zero padding, in normalised units (the channel mean)
        return;
    }
    let byte = (index - p.chunk_first) * per_image + c * plane + u32(sy) * p.width + u32(sx);
    let value = (pixels[byte >> 2u] >> ((byte & 3u) * 8u)) & 0xffu;
    images[i] = fma(f32(value), p.scale[c], p.bias[c]);
}
