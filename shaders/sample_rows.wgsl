// One input -> one output kernels of the search controller: tempered softmax and the categorical
// entropy (one invocation per row: controller rows are short), and the Bernoulli entropy (one
// invocation per element). Every log and exp takes a non-positive argument or a sum >= 1, so
// logits of +-80 stay finite.

struct Params {
    n: u32,
    k: u32,
    inv_temperature: f32,
    _pad0: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// log(1 + e) for e in [0, 1]; a short series where 1 + e would round e away.
fn log1p_small(e: f32) -> f32 {
    if e < 0.05 {
        return e * (1.0 - e * (0.5 - e * (1.0 / 3.0 - e * (0.25 - e * (0.2 - e / 6.0)))));
    }
    return log(1.0 + e);
}

// softplus(z) = log(1 + exp(z)) without overflow.
fn softplus(z: f32) -> f32 {
    return max(z, 0.0) + log1p_small(exp(-abs(z)));
}

fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

fn row_max(base: u32, scale: f32) -> f32 {
    var m = x[base] * scale;
    for (var k = 1u; k < p.k; k++) {
        m = max(m, x[base + k] * scale);
    }
    return m;
}

// probs = softmax(logits * inv_temperature) per row.
@compute @workgroup_size(64)
fn softmax_temperature(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = linear_index(gid, nwg);
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    let t = p.inv_temperature;
    let m = row_max(base, t);
    var s = 0.0;
    for (var k = 0u; k < p.k; k++) {
        s += exp(x[base + k] * t - m);
    }
    let inv = 1.0 / s;
    for (var k = 0u; k < p.k; k++) {
        out[base + k] = exp(x[base + k] * t - m) * inv;
    }
}

// H = -sum p log p of softmax(logits), as log(s) - sum p (z - m) with s = sum exp(z - m):
// an underflowed p multiplies a finite (z - m), so there is no 0 * log 0.
@compute @workgroup_size(64)
fn categorical_entropy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = linear_index(gid, nwg);
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    let m = row_max(base, 1.0);
    var s = 0.0;
    var weighted = 0.0;
    for (var k = 0u; k < p.k; k++) {
        let d = x[base + k] - m;
        let e = exp(d);
        s += e;
        weighted += e * d;
    }
    out[row] = log(s) - weighted / s;
}

// H = p softplus(-z) + (1 - p) softplus(z) with p = sigmoid(z) and 1 - p = sigmoid(-z).
@compute @workgroup_size(64)
fn bernoulli_entropy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i >= p.n {
        return;
    }
    let z = x[i];
    out[i] = sigmoid(z) * softplus(-z) + sigmoid(-z) * softplus(z);
}
