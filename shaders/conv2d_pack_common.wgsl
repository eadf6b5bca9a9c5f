// Shared by the conv2d packing kernels (conv2d_pack.wgsl, conv2d_pack_quad.wgsl), prepended to
// each: the parameters and the linear invocation index.

struct Params {
    total: u32,      // items of the grid: pixels (pack_nhwc4) or output vec4s (pack_weights)
    channels: u32,   // pack_nhwc4: real channels of the source
    plane: u32,      // pack_nhwc4: H * W of the source
    groups: u32,     // pack_nhwc4: vec4 groups per pixel in the output
    out_real: u32,   // pack_weights: real output channels
    out_pad: u32,    // pack_weights: padded output channels (row length of a tile)
    red_real: u32,   // pack_weights: real reduction channels
    red4: u32,       // pack_weights: vec4 groups of reduction channels
    taps: u32,       // pack_weights: KH * KW
    stride_out: u32, // pack_weights: source stride of one output channel
    stride_red: u32, // pack_weights: source stride of one reduction channel
    pairs: u32,      // pack_weights: 1 for blocks of 8 reduction channels (conv2d_subgroup64)
}

const WG: u32 = 64u;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}
