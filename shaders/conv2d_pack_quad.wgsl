// pack_nhwc4_quad: pack_nhwc4 (conv2d_pack.wgsl) four pixels at a time, for planes whose size
// is a multiple of 4: one invocation per (quad of pixels, channel group) loads the quad of each
// of the group's four channels with one vec4 load (NCHW keeps a channel's pixels adjacent),
// transposes them in registers and stores four pixel vec4s. Four loads per four pixels instead
// of sixteen scalar ones: on lavapipe every load is a per-lane loop, and this pass is load-bound.
// Invocation i = g * quads + q, so adjacent lanes read adjacent quads.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(64)
fn pack_nhwc4_quad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    let quads = p.total / 4u;
    if i >= quads * p.groups { return; }
    let g = i / quads;
    let q = i - g * quads;
    let pixel = 4u * q;
    let n = pixel / p.plane;
    // First element of this quad in channel 0 of image n, in vec4 units (plane % 4 == 0).
    let base = (n * p.channels * p.plane + (pixel - n * p.plane)) / 4u;
    let plane4 = p.plane / 4u;
    var v: array<vec4<f32>, 4>;
    for (var j = 0u; j < 4u; j++) {
        let c = 4u * g + j;
        let ok = c < p.channels;
        v[j] = select(vec4<f32>(0.0), src[select(0u, base + c * plane4, ok)], ok);
    }
    let out = pixel * p.groups + g;
    dst[out] = vec4<f32>(v[0].x, v[1].x, v[2].x, v[3].x);
    dst[out + p.groups] = vec4<f32>(v[0].y, v[1].y, v[2].y, v[3].y);
    dst[out + 2u * p.groups] = vec4<f32>(v[0].z, v[1].z, v[2].z, v[3].z);
    dst[out + 3u * p.groups] = vec4<f32>(v[0].w, v[1].w, v[2].w, v[3].w);
}
