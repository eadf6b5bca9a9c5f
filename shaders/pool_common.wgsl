// Shared by the 2-D pooling kernels (prepended to each pool_*.wgsl file by the launcher).
// x is [planes, h, w] (planes = N*C), y is [planes, oh, ow]; window (oh, ow) covers input rows
// oh*sh - ph .. oh*sh - ph + kh (clipped to the input), and likewise for columns.

struct Params {
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    total: u32,
    // f32 reciprocals of h, w, oh, ow, sh, sw for `udiv` (udiv.wgsl).
    rh: f32,
    rw: f32,
    roh: f32,
    row: f32,
    rsh: f32,
    rsw: f32,
    // Window kernels (pool_window*.wgsl): PX-column blocks per row and its reciprocal.
    blocks: u32,
    rblocks: f32,
    _pad2: u32,
}

const WG: u32 = 256u;

// Input range [start, end) that output position o's window covers along one axis.
fn window(o: u32, stride: u32, pad: u32, k: u32, size: u32) -> vec2<u32> {
    let origin = i32(o * stride) - i32(pad);
    return vec2<u32>(u32(max(origin, 0)), u32(min(origin + i32(k), i32(size))));
}

// Output positions [first, last + 1) whose windows contain input position i along one axis
// (rs = 1 / stride).
fn covering(i: u32, stride: u32, rs: f32, pad: u32, k: u32, out_size: u32) -> vec2<u32> {
    let a = i + pad;
    let first = select(0u, udiv(a - k, stride, rs) + 1u, a >= k);
    let last = min(udiv(a, stride, rs), out_size - 1u);
    return vec2<u32>(first, last + 1u);
}
