// Backward of the controller entropies, given the upstream gradient dh:
// categorical dz_j = -dh * p_j (log p_j + H) (one invocation per row, recomputing softmax and H);
// Bernoulli dz = -dh * z * sigmoid(z) * sigmoid(-z) (one invocation per element).

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

@compute @workgroup_size(64)
fn categorical_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = linear_index(gid, nwg);
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    var m = x[base];
    for (var k = 1u; k < p.k; k++) {
        m = max(m, x[base + k]);
    }
    var s = 0.0;
    var weighted = 0.0;
    for (var k = 0u; k < p.k; k++) {
        let d = x[base + k] - m;
        let e = exp(d);
        s += e;
        weighted += e * d;
    }
    let log_s = log(s);
    let h = log_s - weighted / s;
    let g = dh[row];
    for (var k = 0u; k < p.k; k++) {
        let d = x[base + k] - m;
        let prob = exp(d) / s;
        dx[base + k] = -g * prob * ((d - log_s) + h);
    }
}

@compute @workgroup_size(64)
fn bernoulli_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i >= p.n {
        return;
    }
    let z = x[i];
    dx[i] = -dh[i] * z * sigmoid(z) * sigmoid(-z);
}
