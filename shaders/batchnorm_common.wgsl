// Shared by the batch-norm kernels (prepended to each batchnorm_*.wgsl file by the launcher).
// x is [N, C, HW] (HW = 1 for [N, C] inputs); statistics are per channel over m = N*HW
// elements, split into nchunks chunks of `chunk` elements, one workgroup per (channel, chunk).

struct Params {
    c: u32,
    hw: u32,
    m: u32,
    chunk: u32,
    nchunks: u32,
    total: u32,
    eps: f32,
    momentum: f32,
    // Apply kernel: 1 when `stat` holds a variance (inference), 0 when it holds invstd.
    from_var: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG: u32 = 256u;

// Flat index of element j (0 <= j < m) of channel c.
fn element(c: u32, j: u32) -> u32 {
    let b = j / p.hw;
    return (b * p.c + c) * p.hw + (j - b * p.hw);
}

// Channel of flat element t.
fn channel_of(t: u32) -> u32 {
    return (t / p.hw) % p.c;
}

// Elements in chunk k of a channel.
fn chunk_count(k: u32) -> u32 {
    return min(p.chunk, p.m - k * p.chunk);
}
