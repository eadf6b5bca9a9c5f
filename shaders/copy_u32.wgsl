// dst[dst_offset + i] = src[i] for i < n: gathers the controller's sampled ids of every step
// into one buffer, so a whole batch of architectures is read back once.

struct Params {
    n: u32,
    dst_offset: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(64)
fn copy_u32(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // Large copies spread over y (grid_1d): row y starts after nwg.x * 64 elements.
    let i = gid.x + gid.y * nwg.x * 64u;
    if i < p.n { dst[p.dst_offset + i] = src[i]; }
}
