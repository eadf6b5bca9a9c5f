// The unrolled architecture gradient: out = galpha - lr * diff / (2 eps), with
// diff = dL_train(w+)/dalpha - dL_train(w-)/dalpha, 1 / (2 eps) = stats[2] and lr the training
// feed's rate of the step (xi).

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct StepScalars {
    lr: f32,
    step: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> galpha: array<f32>;
@group(0) @binding(2) var<storage, read> diff: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> scalars: StepScalars;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    out[i] = galpha[i] - scalars.lr * (diff[i] * stats[2]);
}
