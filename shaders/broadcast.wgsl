// Broadcast along one axis: y[o, a, i] = alpha * x[o, i] for a in 0..axis_len.
// The backward of a sum (alpha = 1) or mean (alpha = 1/axis_len) reduction.

struct Params {
    outer: u32,
    axis_len: u32,
    inner: u32,
    alpha: f32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn broadcast_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    let total = p.outer * p.axis_len * p.inner;
    if idx >= total { return; }
    let i = idx % p.inner;
    let o = idx / (p.inner * p.axis_len);
    y[idx] = p.alpha * x[o * p.inner + i];
}
