// Draws for the search controller from host-generated (seeded) uniforms u in [0, 1):
// categorical: out[n] = smallest k with cumsum(probs[n, ..=k]) > u[offset + n], summed in f32 in
// index order (so the host can replay the rule bit for bit); if rounding leaves the total <= u,
// the last category with non-zero probability (a zero-probability category is never drawn).
// Bernoulli: out[n] = u[offset + n] < sigmoid(z[n]).

struct Params {
    n: u32,
    k: u32,
    offset: u32,
    _pad0: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> uniforms: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(64)
fn categorical_sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = linear_index(gid, nwg);
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    let u = uniforms[p.offset + row];
    var cum = 0.0;
    var last_nonzero = 0u;
    for (var k = 0u; k < p.k; k++) {
        let q = x[base + k];
        cum += q;
        if q > 0.0 {
            last_nonzero = k;
        }
        if cum > u {
            out[row] = k;
            return;
        }
    }
    out[row] = last_nonzero;
}

@compute @workgroup_size(64)
fn bernoulli_sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i >= p.n {
        return;
    }
    let z = x[i];
    let e = exp(-abs(z));
    let prob = select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
    out[i] = select(0u, 1u, uniforms[p.offset + i] < prob);
}
