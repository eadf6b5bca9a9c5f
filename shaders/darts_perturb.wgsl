// The two points of the finite-difference Hessian-vector product: plus = w + eps v and
// minus = w - eps v, eps = stats[1] (from darts_hvp_scale), each in its own buffer.

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> plus: array<f32>;
@group(0) @binding(5) var<storage, read_write> minus: array<f32>;

@compute @workgroup_size(256)
fn perturb(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    let step = stats[1] * v[i];
    plus[i] = w[i] + step;
    minus[i] = w[i] - step;
}
