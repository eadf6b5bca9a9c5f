// Shared by the batch-norm kernels (prepended to each batchnorm_*.wgsl file by the launcher,
// after udiv.wgsl and one of the unit preludes unit_f32.wgsl / unit_vec4.wgsl).
// x is [N, C, HW] (HW = 1 for [N, C] inputs), seen as a flat array of units of WIDTH elements:
// vec4 units whenever the element count is a multiple of 4 and HW >= 4 (on lavapipe every load
// is a loop over the SIMD lanes, so four values per load is what makes these memory-bound passes
// fast). When HW is not a multiple of 4 a unit can straddle two planes; the kernels mask the
// elements that are not theirs.
//
// Reductions walk a channel plane by plane, `slots` units per plane (enough to cover a plane at
// any alignment; the elements of a slot outside the plane are masked). Statistics are per
// channel over m = N * slots slots, split into nchunks chunks of `chunk` slots, one workgroup
// per (channel, chunk).

struct Params {
    c: u32,
    // Elements per plane (H * W).
    plane: u32,
    // Unit slots per plane.
    slots: u32,
    // Slots per channel (N * slots).
    m: u32,
    chunk: u32,
    nchunks: u32,
    // Units in x (elements / WIDTH).
    units: u32,
    // Batch size N.
    n: u32,
    eps: f32,
    momentum: f32,
    // 1/slots, 1/plane and 1/c for `udiv` (udiv.wgsl).
    rslots: f32,
    rplane: f32,
    rc: f32,
    // ROW = step_b * slots + step_s: how far (batch, slot) moves per ROW slots.
    step_b: u32,
    step_s: u32,
    _pad0: u32,
}

// Workgroup size of the elementwise and per-channel kernels.
const WG: u32 = 256u;
// Workgroup size of the per-chunk partial kernels: each invocation walks a strided slice of the
// chunk, then 8 invocations combine 8 each and one combines those 8 (two barriers; small groups
// with few barriers run much faster on CPU Vulkan and are plenty on GPUs).
const TREE_WG: u32 = 64u;
// The partial workgroup is 8 rows of ROW lanes; row r reads the r-th eighth of the chunk, its
// lanes adjacent slots. CPU Vulkan runs one 8-lane row at a time up to the barrier, so each row
// is one sequential stream (a stride of 64 units made nearly every load miss the cache); on GPUs
// each row still reads whole cache lines.
const ROW: u32 = 8u;

// This invocation's first slot and its row's end (exclusive) within the chunk [start, end);
// p.chunk is a multiple of TREE_WG.
fn row_slice(start: u32, end: u32, lid: u32) -> vec2<u32> {
    let row_start = start + (lid / ROW) * (p.chunk / ROW);
    return vec2<u32>(row_start + lid % ROW, min(row_start + p.chunk / ROW, end));
}

// Walks slots j, j + ROW, j + 2 ROW, ... of one channel as (batch, slot) without dividing in
// the loop.
struct Cursor {
    b: u32,
    s: u32,
}

fn cursor(j: u32) -> Cursor {
    let b = udiv(j, p.slots, p.rslots);
    return Cursor(b, j - b * p.slots);
}

fn advance(at: Cursor) -> Cursor {
    var next = Cursor(at.b + p.step_b, at.s + p.step_s);
    if next.s >= p.slots {
        next.s -= p.slots;
        next.b += 1u;
    }
    return next;
}

// The unit under the cursor's slot in channel c (clamped to x, so a slot past the last plane
// loads a real unit, all of it masked) and which of its elements belong to the plane.
struct Slot {
    unit: u32,
    mine: Mask,
}

fn slot(c: u32, at: Cursor) -> Slot {
    let first = (at.b * p.c + c) * p.plane;
    let unit = first / WIDTH + at.s;
    return Slot(min(unit, p.units - 1u), inside(i32(unit * WIDTH) - i32(first), p.plane));
}

// Element e of a flat array of units.
fn element_of(v: Unit, e: u32) -> f32 {
    return pick(v, e % WIDTH);
}

// Per-chunk partials = [C, nchunks, 3] followed by the C shifts (see batchnorm_stats.wgsl).
fn shift_slot(c: u32) -> u32 {
    return 3u * p.c * p.nchunks + c;
}
