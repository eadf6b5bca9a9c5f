// Prelude of the conv2d_grouped family (conv2d_grouped.wgsl, conv2d_grouped_window.wgsl,
// conv2d_grouped_backward_data.wgsl):
// parameters, bindings, index helper.

struct Params {
    n: u32,
    c_in: u32,
    c_out: u32,
    cpg_in: u32,     // input channels per group
    cpg_out: u32,    // output channels per group
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    k_h: u32,
    k_w: u32,
    s_h: u32,
    s_w: u32,
    d_h: u32,
    d_w: u32,
    pad_h: i32,
    pad_w: i32,
    has_bias: u32,
    items: u32,      // invocations (forward, data: pixel blocks; wgrad: rows of taps; reduce: weights)
    blocks_w: u32,   // PX-column blocks per row (forward: of OW, data: of W)
    rows_per_split: u32,
    weights: u32,    // Cout * Cin/g * KH * KW
    splits: u32,
    w_a: u32,        // window kernel: weight stride of the destination channel within its group
    w_b: u32,        // window kernel: weight stride of the source channel within its group
    flip: u32,       // window kernel: taps read reversed (backward data as a forward conv)
    blocks_o: u32,   // window kernel: RC-channel blocks of the destination (all groups)
    bpg: u32,        // window kernel: RC-channel blocks per group
}

const PX: u32 = 8u;
const MAX_K: u32 = 7u;
const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn lane_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

