// Batch-norm inference: y = (x - running_mean) * (gamma / sqrt(running_var + eps)) + beta, PER
// units per invocation (see batchnorm_walk.wgsl); a single dispatch, so each invocation forms
// the coefficients of the channels it meets.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Unit>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<Unit>;

fn coefficients(c: u32) -> vec4<f32> {
    let invstd = 1.0 / sqrt(variance[c] + p.eps);
    return vec4<f32>(mean[c], gamma[c] * invstd, beta[c], 0.0);
}

@compute @workgroup_size(256)
fn bn_inference(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_unit(gid, nwg);
    let end = min(first + PER * ROW, p.units);
    var walk = start_walk();
    for (var t = first; t < end; t += ROW) {
        let k = unit_coefficients(t, &walk);
        y[t] = (x[t] - k[0]) * k[1] + k[2];
    }
}
