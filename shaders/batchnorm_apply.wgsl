// Batch-norm normalisation in training: y = (x - mean) * (gamma * invstd) + beta, with the
// per-channel coefficients of the statistics pass (coef = [C, 4]: mean, gamma * invstd, beta).
// PER units per invocation (see batchnorm_walk.wgsl).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Unit>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<Unit>;

fn coefficients(c: u32) -> vec4<f32> {
    return coef[c];
}

@compute @workgroup_size(256)
fn bn_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_unit(gid, nwg);
    let end = min(first + PER * ROW, p.units);
    var walk = start_walk();
    for (var t = first; t < end; t += ROW) {
        let k = unit_coefficients(t, &walk);
        y[t] = (x[t] - k[0]) * k[1] + k[2];
    }
}
