// Prelude of the windowed pooling kernels (after pool_common.wgsl): an invocation owns PX
// columns of one destination row and loads, per window row, the source values those columns
// share once, instead of once per window position: a 3x3 stride-1 window reads 30 values for 8
// outputs instead of 72 (on lavapipe every storage load is a loop over the lanes). The column
// stride SW and the window's widest side MAX_PK are template constants, so every window index
// is a constant after unrolling and the window stays in registers.

const PX: u32 = 8u;
const SW: u32 = {{SW}}u;
const MAX_PK: u32 = 4u;
// Forward: source columns under PX outputs.
const WIN_F: u32 = (PX - 1u) * SW + MAX_PK;
// Backward: destination columns over PX sources of one phase.
const WIN_B: u32 = PX + MAX_PK - 1u;

fn lane_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// Forward lanes: column block fastest, then the output row, then the plane.
struct ForwardLane {
    plane: u32,
    oy: u32,
    c0: u32,
}

fn forward_lane(lane: u32) -> ForwardLane {
    let r = udiv(lane, p.blocks, p.rblocks);
    let plane = udiv(r, p.oh, p.roh);
    return ForwardLane(plane, r - plane * p.oh, (lane - r * p.blocks) * PX);
}

// Backward lanes: column block, then the input row, then the column phase q (dx columns
// q + SW * (c0 + i)), then the plane, so that neighbouring lanes share the phase, on which
// the window taps depend.
struct BackwardLane {
    plane: u32,
    iy: u32,
    q: u32,
    c0: u32,
}

fn backward_lane(lane: u32) -> BackwardLane {
    let r = udiv(lane, p.blocks, p.rblocks);
    let r2 = udiv(r, p.h, p.rh);
    let plane = r2 / SW;
    return BackwardLane(plane, r - r2 * p.h, r2 - plane * SW, (lane - r * p.blocks) * PX);
}

// floor(a / SW) for a possibly negative a.
fn floor_div(a: i32) -> i32 {
    let s = i32(SW);
    return select(a / s, -((-a + s - 1) / s), a < 0);
}

// For phase q of the backward pass: the output columns covering dx column q + SW * m are
// m + first .. m + first + taps - 1 (TensorFlow "same" or valid windows of width kw).
fn covering_taps(q: u32) -> vec2<i32> {
    let first = floor_div(i32(q + p.pw) + i32(SW) - i32(p.kw));
    let last = floor_div(i32(q + p.pw));
    return vec2<i32>(first, last - first + 1);
}
