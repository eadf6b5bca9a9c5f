// Unary elementwise kernels: out = f(x). Separate from elementwise.wgsl because they bind one
// input, and a pipeline layout must match the bindings exactly. Units, runs and the template
// slot UNIT as in elementwise.wgsl.

alias Unit = {{UNIT}};

struct Params {
    // Units (elements / width).
    n: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;
const ROW: u32 = 8u;
const PER: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Unit>;
@group(0) @binding(2) var<storage, read_write> out: array<Unit>;

// This invocation's first unit and the end of its run (see elementwise.wgsl).
fn run_of(gid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let i = gid.x + gid.y * nwg.x * WG;
    let first = (i / ROW) * (ROW * PER) + i % ROW;
    return vec2<u32>(first, min(first + ROW * PER, p.n));
}

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        out[i] = max(x[i], Unit(0.0));
    }
}

// Numerically stable for large |x|: exp of a non-positive number only.
@compute @workgroup_size(256)
fn sigmoid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        let v = x[i];
        let e = exp(-abs(v));
        out[i] = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= Unit(0.0));
    }
}

// tanh via exp of a non-positive number, so large inputs saturate instead of overflowing.
@compute @workgroup_size(256)
fn tanh_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        let v = x[i];
        let e = exp(-2.0 * abs(v));
        out[i] = sign(v) * (1.0 - e) / (1.0 + e);
    }
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        out[i] = p.alpha * x[i];
    }
}

// out += alpha * x (gradient accumulation; out is read and written by the same invocation).
@compute @workgroup_size(256)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        out[i] = out[i] + p.alpha * x[i];
    }
}
