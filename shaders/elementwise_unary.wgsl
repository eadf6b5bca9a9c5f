// Unary elementwise kernels: out = f(x). Separate from elementwise.wgsl because they bind one
// input, and a pipeline layout must match the bindings exactly.

struct Params {
    n: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { out[i] = max(x[i], 0.0); }
}

// Numerically stable for large |x|: exp of a non-positive number only.
@compute @workgroup_size(256)
fn sigmoid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n {
        let v = x[i];
        let e = exp(-abs(v));
        out[i] = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
    }
}

// tanh via exp of a non-positive number, so large inputs saturate instead of overflowing.
@compute @workgroup_size(256)
fn tanh_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n {
        let v = x[i];
        let e = exp(-2.0 * abs(v));
        out[i] = sign(v) * (1.0 - e) / (1.0 + e);
    }
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { out[i] = p.alpha * x[i]; }
}

// out += alpha * x (gradient accumulation; out is read and written by the same invocation).
@compute @workgroup_size(256)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i < p.n { out[i] = out[i] + p.alpha * x[i]; }
}
