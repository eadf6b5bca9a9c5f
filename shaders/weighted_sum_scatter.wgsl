// weighted_sum family, scatter: see weighted_sum_common.wgsl.

{{DECLS}}

@compute @workgroup_size(64)
fn wsum_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(lane_of(gid, nwg));
    if r.x >= p.n { return; }
    let cw = coefs();
    for (var i = r.x; i < r.y; i += ROW) {
        let g = dy[i];
        {{BODY}}
    }
}
