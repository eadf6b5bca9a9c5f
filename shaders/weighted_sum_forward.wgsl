// weighted_sum family, forward: see weighted_sum_common.wgsl.

{{DECLS}}

@compute @workgroup_size(64)
fn wsum_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = run_of(lane_of(gid, nwg));
    if r.x >= p.n { return; }
    let cw = coefs();
    for (var i = r.x; i < r.y; i += ROW) {
        var s = Unit(0.0);
        if p.accumulate != 0u { s = y[i]; }
        {{BODY}}
        y[i] = s;
    }
}
