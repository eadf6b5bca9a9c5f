// Shared by the batch-norm kernels (prepended to each batchnorm_*.wgsl file by the launcher).
// x is [N, C, HW] (HW = 1 for [N, C] inputs); statistics are per channel over m = N*HW
// elements, split into nchunks chunks of `chunk` elements, one workgroup per (channel, chunk).

struct Params {
    c: u32,
    hw: u32,
    m: u32,
    chunk: u32,
    nchunks: u32,
    n: u32,
    eps: f32,
    momentum: f32,
    // Apply kernel: 1 when `stat` holds a variance (inference), 0 when it holds invstd.
    from_var: u32,
    // 1/hw for `udiv` (udiv.wgsl).
    rhw: f32,
    // TREE_WG = step_b * hw + step_s: how far (batch, position) moves per TREE_WG elements.
    step_b: u32,
    step_s: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

// Workgroup size of the elementwise and per-channel kernels.
const WG: u32 = 256u;
// Workgroup size of the per-chunk partial kernels: each invocation walks 32 elements of a
// 2048-element chunk, then 8 invocations combine 8 each and one combines those 8 (two barriers;
// small groups with few barriers run much faster on CPU Vulkan and are plenty on GPUs).
const TREE_WG: u32 = 64u;

// Walks elements j, j + TREE_WG, j + 2 TREE_WG, ... of one channel as (batch, position) without dividing
// in the loop.
struct Cursor {
    b: u32,
    s: u32,
}

fn cursor(j: u32) -> Cursor {
    let b = udiv(j, p.hw, p.rhw);
    return Cursor(b, j - b * p.hw);
}

fn advance(at: Cursor) -> Cursor {
    var next = Cursor(at.b + p.step_b, at.s + p.step_s);
    if next.s >= p.hw {
        next.s -= p.hw;
        next.b += 1u;
    }
    return next;
}

// Flat index of the cursor's element in channel c.
fn element(c: u32, at: Cursor) -> u32 {
    return (at.b * p.c + c) * p.hw + at.s;
}

// Elementwise kernels run on a grid of x = positions within one sample (C*HW of them),
// y and z = sample (split over y and z past the grid limit): returns (flat index, channel), or
// channel = C for invocations past the end.
fn sample_element(gid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let q = gid.x;
    let b = wid.y + wid.z * nwg.y;
    if q >= p.c * p.hw || b >= p.n {
        return vec2<u32>(0u, p.c);
    }
    return vec2<u32>(b * p.c * p.hw + q, udiv(q, p.hw, p.rhw));
}

// Elements in chunk k of a channel.
fn chunk_count(k: u32) -> u32 {
    return min(p.chunk, p.m - k * p.chunk);
}
