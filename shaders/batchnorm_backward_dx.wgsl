// Batch-norm backward, pass 3: dx = k * (dy - dbeta/m - (x - mean) * invstd * dgamma/m) from the
// per-channel coefficients of pass 2. One invocation per element (see sample_element).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn bn_backward_dx(
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
    let k = coef[c];
    dx[t] = k.x * (dy[t] - k.y - (x[t] - mean[c]) * k.z);
}
