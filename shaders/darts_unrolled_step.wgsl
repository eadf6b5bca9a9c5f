// DARTS second order, the virtual weight step (Liu et al. 2019, as quark0/darts computes it):
//   out = w - lr * (momentum * velocity + (grad + wd * w)),
// the SGD step the next weight step would take without Nesterov, written to its own buffer so w
// stays as it is. lr comes from the training feed's per-step scalars.

struct Params {
    n: u32,
    momentum: f32,
    weight_decay: f32,
    _pad: u32,
}

struct StepScalars {
    lr: f32,
    step: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> velocity: array<f32>;
@group(0) @binding(4) var<storage, read> scalars: StepScalars;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn unrolled_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    let x = w[i];
    out[i] = x - scalars.lr * (p.momentum * velocity[i] + (grad[i] + p.weight_decay * x));
}
