// SGD update, in place, PyTorch semantics (dampening 0):
//   g = grad + wd * param; v = momentum * v + g; step = nesterov ? g + momentum * v : v;
//   param -= lr * step.
// With momentum 0 the velocity buffer is neither read nor written (PyTorch keeps no buffer then).
// lr comes from the per-step scalars buffer, so the same launch is re-encoded every step.

struct Params {
    n: u32,
    momentum: f32,
    weight_decay: f32,
    nesterov: u32,
}

struct StepScalars {
    lr: f32,
    step: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> velocity: array<f32>;
@group(0) @binding(4) var<storage, read> scalars: StepScalars;

@compute @workgroup_size(256)
fn sgd_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    let w = param[i];
    let g = grad[i] + p.weight_decay * w;
    var step = g;
    if p.momentum != 0.0 {
        let v = p.momentum * velocity[i] + g;
        velocity[i] = v;
        step = select(v, g + p.momentum * v, p.nesterov != 0u);
    }
    param[i] = w - scalars.lr * step;
}
