// weighted_sum family, softmax_backward: see weighted_sum_common.wgsl.

@group(0) @binding(2) var<storage, read> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> dalpha: array<f32>;

@compute @workgroup_size(64)
fn wsum_softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lane_of(gid, nwg);
    if i >= p.k { return; }
    var wg = 0.0;
    var gi = 0.0;
    for (var t = 0u; t < p.k; t++) {
        var g = 0.0;
        if (p.present & (1u << t)) != 0u {
            for (var c = 0u; c < p.chunks; c++) { g += part[t * p.chunks + c]; }
        }
        wg += softmax_at(t) * g;
        if t == i { gi = g; }
    }
    dalpha[i] = softmax_at(i) * (gi - wg);
}
