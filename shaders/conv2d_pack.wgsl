// Layout packing for the conv2d kernels (parameters in conv2d_pack_common.wgsl).
// pack_nhwc4: NCHW activations -> NHWC with channels in vec4 groups (zero-padded to `groups`
//   vec4s per pixel), so the conv kernels read four channels of one pixel with one load.
// pack_weights: conv weights -> [taps][red4][out_pad] vec4 tiles, each vec4 holding four
//   consecutive reduction channels of one output channel, or [taps][red4 / 2][out_pad] blocks
//   of eight (`pairs`); zero outside the real channels.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

// One invocation per pixel: every channel group of that pixel.
@compute @workgroup_size(64)
fn pack_nhwc4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let pixel = linear_index(gid, nwg);
    if pixel >= p.total { return; }
    let n = pixel / p.plane;
    let base = n * p.channels * p.plane + (pixel - n * p.plane);
    for (var g = 0u; g < p.groups; g++) {
        var v: vec4<f32>;
        for (var j = 0u; j < 4u; j++) {
            let c = 4u * g + j;
            let ok = c < p.channels;
            v[j] = select(0.0, src[select(0u, base + c * p.plane, ok)], ok);
        }
        dst[pixel * p.groups + g] = v;
    }
}

// One invocation per output vec4 at [tap][r4][o], or with `pairs` at [tap][r4 / 2][o][r4 % 2]
// (8 consecutive reduction channels of one output channel in two adjacent vec4s).
@compute @workgroup_size(64)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i >= p.total { return; }
    var o: u32;
    var r4: u32;
    var tap: u32;
    if p.pairs != 0u {
        let rest = i / 2u;
        o = rest % p.out_pad;
        let blocks = p.red4 / 2u;
        r4 = 2u * ((rest / p.out_pad) % blocks) + i % 2u;
        tap = rest / p.out_pad / blocks;
    } else {
        o = i % p.out_pad;
        let rest = i / p.out_pad;
        r4 = rest % p.red4;
        tap = rest / p.red4;
    }
    var v: vec4<f32>;
    for (var j = 0u; j < 4u; j++) {
        let r = 4u * r4 + j;
        let ok = o < p.out_real && r < p.red_real;
        v[j] = select(0.0, src[select(0u, o * p.stride_out + r * p.stride_red + tap, ok)], ok);
    }
    dst[i] = v;
}
