// Backward of the Bernoulli log-probability: dz = dlogp * (a - sigmoid(z)).

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
@group(0) @binding(3) var<storage, read> dlogp: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(64)
fn bernoulli_log_prob_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n {
        return;
    }
    let v = z[i];
    let e = exp(-abs(v));
    // a - sigmoid(z) = a ? sigmoid(-z) : -sigmoid(z), each from exp of a non-positive number.
    let small = e / (1.0 + e);
    let large = 1.0 / (1.0 + e);
    let s_pos = select(small, large, v >= 0.0);
    let s_neg = select(large, small, v >= 0.0);
    dz[i] = dlogp[i] * select(-s_pos, s_neg, actions[i] != 0u);
}
