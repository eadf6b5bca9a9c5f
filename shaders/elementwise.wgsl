// Elementwise kernels: activations, their backward, add/mul, scale, accumulate, fill.
// One invocation per element; the grid may be split over x and y for large tensors.

struct Params {
    n: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// --- binary: out = f(a, b) ---

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { out[i] = a[i] * b[i]; }
}

// --- backward of activations: a = saved forward value, b = upstream gradient ---

// relu backward takes the forward *input* x: dx = dy where x > 0.
@compute @workgroup_size(256)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { out[i] = select(0.0, b[i], a[i] > 0.0); }
}

// sigmoid backward takes the forward *output* y: dx = dy * y * (1 - y).
@compute @workgroup_size(256)
fn sigmoid_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { let y = a[i]; out[i] = b[i] * y * (1.0 - y); }
}

// tanh backward takes the forward *output* y: dx = dy * (1 - y^2).
@compute @workgroup_size(256)
fn tanh_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { let y = a[i]; out[i] = b[i] * (1.0 - y * y); }
}
