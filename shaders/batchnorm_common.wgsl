// Shared by the batch-norm kernels (prepended to each batchnorm_*.wgsl file by the launcher,
// after udiv.wgsl and one of the unit preludes unit_f32.wgsl / unit_vec4.wgsl).
// x is [N, C, HW] (HW = 1 for [N, C] inputs), read in units of `width` elements (a vec4 when
// HW % 4 == 0: on lavapipe every load costs a loop over the SIMD lanes, so four values per load
// is what makes these memory-bound passes fast). Statistics are per channel over m units, split
// into nchunks chunks of `chunk` units, one workgroup per (channel, chunk).

struct Params {
    c: u32,
    // Units per plane (HW / width).
    hw: u32,
    // Units per channel (N * hw).
    m: u32,
    chunk: u32,
    nchunks: u32,
    // Elements per unit: 1 or 4 (which prelude the kernel was built with).
    width: u32,
    eps: f32,
    momentum: f32,
    // 1/hw and 1/c for `udiv` (udiv.wgsl).
    rhw: f32,
    rc: f32,
    // ROW = step_b * hw + step_s: how far (batch, position) moves per ROW units.
    step_b: u32,
    step_s: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

// Workgroup size of the elementwise and per-channel kernels.
const WG: u32 = 256u;
// Workgroup size of the per-chunk partial kernels: each invocation walks a strided slice of the
// chunk, then 8 invocations combine 8 each and one combines those 8 (two barriers; small groups
// with few barriers run much faster on CPU Vulkan and are plenty on GPUs).
const TREE_WG: u32 = 64u;
// The partial workgroup is 8 rows of ROW lanes; row r reads the r-th eighth of the chunk, its
// lanes adjacent units. CPU Vulkan runs one 8-lane row at a time up to the barrier, so each row
// is one sequential stream (a stride of 64 units made nearly every load miss the cache); on GPUs
// each row still reads whole cache lines.
const ROW: u32 = 8u;

// This invocation's first unit and its row's end (exclusive) within the chunk [start, end);
// p.chunk is a multiple of TREE_WG.
fn row_slice(start: u32, end: u32, lid: u32) -> vec2<u32> {
    let row_start = start + (lid / ROW) * (p.chunk / ROW);
    return vec2<u32>(row_start + lid % ROW, min(row_start + p.chunk / ROW, end));
}

// Walks units j, j + ROW, j + 2 ROW, ... of one channel as (batch, position) without dividing
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

// Flat unit index of the cursor's unit in channel c.
fn element(c: u32, at: Cursor) -> u32 {
    return (at.b * p.c + c) * p.hw + at.s;
}

// Elementwise kernels: each invocation handles PER units ROW apart, so ROW adjacent invocations
// cover a contiguous run of ROW * PER units (one sequential stream on CPU Vulkan, whole cache
// lines on GPUs) and a channel's coefficients are loaded once per run rather than per unit.
const PER: u32 = 8u;

// First unit of this invocation (the grid is 1-D, split over x and y past the grid limit);
// it is at or past p.c * p.m for surplus invocations.
fn first_unit(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    let i = gid.x + gid.y * nwg.x * WG;
    return (i / ROW) * (ROW * PER) + i % ROW;
}

// Channel of flat unit t (two division-free quotients: plane, then plane mod C).
fn unit_channel(t: u32) -> u32 {
    let plane = udiv(t, p.hw, p.rhw);
    return plane - udiv(plane, p.c, p.rc) * p.c;
}

// Units in chunk k of a channel.
fn chunk_count(k: u32) -> u32 {
    return min(p.chunk, p.m - k * p.chunk);
}

// Per-chunk partials = [C, nchunks, 2] followed by the C shifts (see batchnorm_stats.wgsl).
fn shift_slot(c: u32) -> u32 {
    return 2u * p.c * p.nchunks + c;
}
