// Bernoulli log-probability of actions a (U32, non-zero counts as 1) under p = sigmoid(z):
// log p = -softplus(-z), log(1 - p) = -softplus(z), stable for any z.

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> actions: array<u32>;
@group(0) @binding(3) var<storage, read_write> logp: array<f32>;

// log(1 + e) for e in [0, 1]; a short series where 1 + e would round e away.
fn log1p_small(e: f32) -> f32 {
    if e < 0.05 {
        return e * (1.0 - e * (0.5 - e * (1.0 / 3.0 - e * (0.25 - e * (0.2 - e / 6.0)))));
    }
    return log(1.0 + e);
}

fn softplus(v: f32) -> f32 {
    return max(v, 0.0) + log1p_small(exp(-abs(v)));
}

@compute @workgroup_size(64)
fn bernoulli_log_prob(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    let v = z[i];
    logp[i] = -softplus(select(v, -v, actions[i] != 0u));
}
