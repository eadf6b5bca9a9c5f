// Copy kernel: the device's practical memory bandwidth. vec4 loads and stores, {{PER_THREAD}}
// vec4s per invocation strided by the grid size so each pass over memory stays coalesced.

struct Params {
    n4: u32,       // vec4 elements to copy
    stride: u32,   // invocations in the grid
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = gid.x + gid.y * nwg.x * WG;
    for (var k = 0u; k < {{PER_THREAD}}u; k++) {
        let i = first + k * p.stride;
        if i < p.n4 {
            dst[i] = src[i];
        }
    }
}
