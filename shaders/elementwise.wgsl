// Binary elementwise kernels: add, mul, and the backward of the activations.
// `Unit` is vec4<f32> when the element count is a multiple of 4, else f32 (template slot UNIT):
// on lavapipe every load is a loop over the SIMD lanes, so four values per load is what makes
// these memory-bound kernels fast. Each invocation handles PER units ROW apart, so ROW adjacent
// invocations cover a contiguous run of ROW * PER units (one sequential stream on CPU Vulkan,
// whole cache lines on GPUs).

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
@group(0) @binding(1) var<storage, read> a: array<Unit>;
@group(0) @binding(2) var<storage, read> b: array<Unit>;
@group(0) @binding(3) var<storage, read_write> out: array<Unit>;

// This invocation's first unit (the grid is 1-D, split over x and y past the grid limit) and
// the end of its run.
fn run_of(gid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let i = gid.x + gid.y * nwg.x * WG;
    let first = (i / ROW) * (ROW * PER) + i % ROW;
    return vec2<u32>(first, min(first + ROW * PER, p.n));
}

// --- binary: out = f(a, b) ---

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        out[i] = a[i] + b[i];
    }
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        out[i] = a[i] * b[i];
    }
}

// --- backward of activations: a = saved forward value, b = upstream gradient ---

// relu backward takes the forward *input* x: dx = dy where x > 0.
@compute @workgroup_size(256)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        out[i] = select(Unit(0.0), b[i], a[i] > Unit(0.0));
    }
}

// sigmoid backward takes the forward *output* y: dx = dy * y * (1 - y).
@compute @workgroup_size(256)
fn sigmoid_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        let y = a[i];
        out[i] = b[i] * y * (1.0 - y);
    }
}

// tanh backward takes the forward *output* y: dx = dy * (1 - y^2).
@compute @workgroup_size(256)
fn tanh_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(gid, nwg);
    for (var i = r.x; i < r.y; i += ROW) {
        let y = a[i];
        out[i] = b[i] * (1.0 - y * y);
    }
}
