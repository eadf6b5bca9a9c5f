// Adam update, in place, as torch.optim.Adam (weight decay added to the gradient, not AdamW):
//   g = grad + wd * param; m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g^2;
//   param -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// t is the 1-based step from the per-step scalars buffer (0 is treated as 1). The bias
// corrections 1 - beta^t are computed without cancellation (see one_minus_pow), so they keep
// full f32 relative precision even at t = 2 with beta2 = 0.999, where 1 - pow(beta2, t) in f32
// would lose four digits; and they are identical on every device, unlike pow().

struct Params {
    n: u32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
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
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> scalars: StepScalars;

// 1 - (1 - d)^t by squaring, with every power held as "one minus" it: (1 - a)(1 - c) is
// 1 - (a + c - a*c), and a + c - a*c >= max(a, c), so nothing cancels.
fn one_minus_pow(d: f32, t: u32) -> f32 {
    var acc = 0.0;
    var b = d;
    var e = t;
    loop {
        if (e & 1u) != 0u {
            acc = acc + b - acc * b;
        }
        e >>= 1u;
        if e == 0u {
            break;
        }
        b = b + b - b * b;
    }
    return acc;
}

@compute @workgroup_size(256)
fn adam_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    let t = max(scalars.step, 1u);
    let bias1 = one_minus_pow(1.0 - p.beta1, t);
    let bias2 = one_minus_pow(1.0 - p.beta2, t);
    let w = param[i];
    let g = grad[i] + p.weight_decay * w;
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    let denom = sqrt(v1) / sqrt(bias2) + p.eps;
    param[i] = w - (scalars.lr / bias1) * (m1 / denom);
}
