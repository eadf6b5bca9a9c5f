// Direct convolution for CPU-like devices with 8-wide subgroups (lavapipe on AVX2): each
// subgroup computes PX consecutive dst pixels (flattened over image, row, column of a phase) for
// 8 * RC dst channels, RC per lane. Storage loads there cost a per-lane loop whatever the
// address, so the PX src pixels are loaded cooperatively (PX / 8 vec4 loads per lane per
// reduction step) and shared with subgroupBroadcast, which is a register shuffle; each lane then
// loads only its own RC weight vec4s. Half the loads of the register-blocked conv2d_direct.
//
// Data layouts, parameters and the forward/transposed phase mapping come from conv2d_common.wgsl;
// the task, staging and store (shared with conv2d_subgroup64) from conv2d_subgroup_tile.wgsl.

const PX: u32 = {{PX}}u;
const RC: u32 = {{RC}}u;
const PX8: u32 = PX / 8u;

@compute @workgroup_size(64)
fn conv2d_subgroup(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    // No early return: every lane must reach the broadcasts.
    let task = subgroup_task(wid, nwg, li, lane);
    let ah = task.ah;
    let aw = task.aw;
    let c0 = task.c0;
    let st = staged(task, lane);

    var acc: array<array<f32, RC>, PX>;
    for (var i = 0u; i < PX; i++) {
        for (var c = 0u; c < RC; c++) { acc[i][c] = 0.0; }
    }
    for (var t = 0u; t < ah.taps; t++) {
        let kh = ah.k0 + t * ah.k_step;
        for (var u = 0u; u < aw.taps; u++) {
            let kw = aw.k0 + u * aw.k_step;
            let src_at = tap_sources(st, ah, aw, t, u);
            var at: array<u32, PX8>;
            for (var k = 0u; k < PX8; k++) { at[k] = src_at.pixel[k] * p.red4; }
            let ok = src_at.ok;
            var wi = (kh * p.k_w + kw) * p.red4 * p.dst_cp + c0;
            for (var g = 0u; g < p.red4; g++) {
                var xv: array<vec4<f32>, PX>;
                // Broadcasts written out: their lane ids must be constants, and a
                // function returning the eight as an array ran 30% slower.
                for (var k = 0u; k < PX8; k++) {
                    let v = select(vec4<f32>(0.0), src[at[k] + g], ok[k]);
                    xv[8u * k] = subgroupBroadcast(v, 0u);
                    xv[8u * k + 1u] = subgroupBroadcast(v, 1u);
                    xv[8u * k + 2u] = subgroupBroadcast(v, 2u);
                    xv[8u * k + 3u] = subgroupBroadcast(v, 3u);
                    xv[8u * k + 4u] = subgroupBroadcast(v, 4u);
                    xv[8u * k + 5u] = subgroupBroadcast(v, 5u);
                    xv[8u * k + 6u] = subgroupBroadcast(v, 6u);
                    xv[8u * k + 7u] = subgroupBroadcast(v, 7u);
                }
                for (var c = 0u; c < RC; c++) {
                    let wv = wts[wi + c];
                    for (var i = 0u; i < PX; i++) {
                        acc[i][c] = fma(xv[i].x, wv.x, fma(xv[i].y, wv.y,
                            fma(xv[i].z, wv.z, fma(xv[i].w, wv.w, acc[i][c]))));
                    }
                }
                wi += p.dst_cp;
            }
        }
    }

    store_tile(task, &acc);
}
