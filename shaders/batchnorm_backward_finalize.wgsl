// Batch-norm backward, pass 2: one invocation per channel sums its partials in order, writes
// dbeta = sum dy and dgamma = invstd * sum dy (x - mean), and the per-channel coefficients of
// dx = k * (dy - dbeta/m - (x - mean) * invstd * dgamma/m), k = gamma * invstd.
// coef = [C, 4]: (k, dbeta/m, invstd * dgamma/m, mean).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;

@compute @workgroup_size(256)
fn bn_backward_finalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = gid.x + gid.y * nwg.x * WG;
    if c >= p.c {
        return;
    }
    var s1 = 0.0;
    var s2 = 0.0;
    for (var k = 0u; k < p.nchunks; k++) {
        s1 += partials[2u * (c * p.nchunks + k)];
        s2 += partials[2u * (c * p.nchunks + k) + 1u];
    }
    let r = invstd[c];
    let dg = s2 * r;
    let m = f32(p.n * p.plane);
    dbeta[c] = s1;
    dgamma[c] = dg;
    coef[c] = vec4<f32>(gamma[c] * r, s1 / m, r * dg / m, mean[c]);
}
