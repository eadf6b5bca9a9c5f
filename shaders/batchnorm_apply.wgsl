// Batch-norm normalisation, training or inference: y = gamma * (x - mean) * invstd + beta, where
// invstd is `stat` itself (training: saved batch invstd) or 1/sqrt(stat + eps) (inference:
// stat = running variance). One invocation per element (see sample_element).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> stat: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn bn_apply(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let e = sample_element(gid, wid, nwg);
    let t = e.x;
    let c = e.y;
    if c >= p.c {
        return;
    }
    var invstd = stat[c];
    if p.from_var != 0u {
        invstd = 1.0 / sqrt(invstd + p.eps);
    }
    y[t] = gamma[c] * ((x[t] - mean[c]) * invstd) + beta[c];
}
