// Batch-norm backward, pass 3: dx = k * (dy - dbeta/m - (x - mean) * invstd * dgamma/m) from the
// per-channel coefficients of pass 2. PER units per invocation (see batchnorm_walk.wgsl).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<Unit>;
@group(0) @binding(2) var<storage, read> x: array<Unit>;
@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<Unit>;

fn coefficients(c: u32) -> vec4<f32> {
    return coef[c];
}

@compute @workgroup_size(256)
fn bn_backward_dx(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_unit(gid, nwg);
    let end = min(first + PER * ROW, p.units);
    var walk = start_walk();
    for (var t = first; t < end; t += ROW) {
        let k = unit_coefficients(t, &walk);
        dx[t] = k[0] * (dy[t] - k[1] - (x[t] - k[3]) * k[2]);
    }
}
