// weighted_sum family, dots: see weighted_sum_common.wgsl.

{{DECLS}}

@compute @workgroup_size(64)
fn wsum_dots(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = lane_of(gid, nwg);
    if c >= p.chunks { return; }
    let lo = c * p.chunk;
    let hi = min(lo + p.chunk, p.n);
    var s = vec4<f32>(0.0);
    for (var i = lo; i < hi; i++) {
        let g = dy[i];
        {{BODY}}
    }
    {{TAIL}}
}
