// conv2d_subgroup reading eight channels per load (lavapipe with 64-bit integers): the same
// tasks, staging and store (conv2d_subgroup_tile.wgsl) and broadcasts, but src pixels and weights are read as vec4<u64>, 8 floats per
// lane per load where a storage load costs the same per lane for 32- and 64-bit components, and
// each accumulator is written once per 8 channels instead of per 4 (llvmpipe blends a
// loop-carried variable with the loop mask on every write). Half the loads and writes.
//
// The reduction channels must come in an even number of vec4 groups (`red4`), so every load is
// whole and 32-byte aligned; src is NHWC4-packed (pixel stride red4 vec4s), the weights are
// packed as [kh][kw][red4 / 2][dst_cp] blocks of 8 consecutive reduction channels.
//
// The products are added in exactly the order of conv2d_subgroup (per vec4 group: channel 3,
// 2, 1, 0, then the next group), so both give the same bits and the measured choice between
// them never changes a result.

@group(0) @binding(1) var<storage, read> src: array<vec4<u64>>;
@group(0) @binding(2) var<storage, read> wts: array<vec4<u64>>;

const PX: u32 = {{PX}}u;
const RC: u32 = {{RC}}u;
const PX8: u32 = PX / 8u;

// Eight consecutive floats: [0] = channels 0, 2, 4, 6; [1] = channels 1, 3, 5, 7.
alias Pair = array<vec4<f32>, 2>;

fn split(v: vec4<u64>) -> Pair {
    return Pair(
        bitcast<vec4<f32>>(vec4<u32>(v)),
        bitcast<vec4<f32>>(vec4<u32>(v >> vec4<u32>(32u))),
    );
}

// acc plus the 8 products of x and w, channel 3, 2, 1, 0, 7, 6, 5, 4 first to last.
fn dot8(x: Pair, w: Pair, acc: f32) -> f32 {
    let lo = fma(x[0].x, w[0].x, fma(x[1].x, w[1].x, fma(x[0].y, w[0].y, fma(x[1].y, w[1].y, acc))));
    return fma(x[0].z, w[0].z, fma(x[1].z, w[1].z, fma(x[0].w, w[0].w, fma(x[1].w, w[1].w, lo))));
}

@compute @workgroup_size(64)
fn conv2d_subgroup64(
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
    let red8 = p.red4 / 2u;

    var acc: array<array<f32, RC>, PX>;
    for (var i = 0u; i < PX; i++) {
        for (var c = 0u; c < RC; c++) { acc[i][c] = 0.0; }
    }
    let zero = vec4<f32>(0.0);
    for (var t = 0u; t < ah.taps; t++) {
        let kh = ah.k0 + t * ah.k_step;
        for (var u = 0u; u < aw.taps; u++) {
            let kw = aw.k0 + u * aw.k_step;
            let src_at = tap_sources(st, ah, aw, t, u);
            var at: array<u32, PX8>;
            for (var k = 0u; k < PX8; k++) { at[k] = src_at.pixel[k] * red8; }
            let ok = src_at.ok;
            var wi = (kh * p.k_w + kw) * red8 * p.dst_cp + c0;
            for (var g = 0u; g < red8; g++) {
                var x0: array<vec4<f32>, PX>;
                var x1: array<vec4<f32>, PX>;
                // Broadcasts written out: their lane ids must be constants.
                for (var k = 0u; k < PX8; k++) {
                    let v = split(src[at[k] + g]);
                    let a = select(zero, v[0], ok[k]);
                    let b = select(zero, v[1], ok[k]);
                    x0[8u * k] = subgroupBroadcast(a, 0u);
                    x1[8u * k] = subgroupBroadcast(b, 0u);
                    x0[8u * k + 1u] = subgroupBroadcast(a, 1u);
                    x1[8u * k + 1u] = subgroupBroadcast(b, 1u);
                    x0[8u * k + 2u] = subgroupBroadcast(a, 2u);
                    x1[8u * k + 2u] = subgroupBroadcast(b, 2u);
                    x0[8u * k + 3u] = subgroupBroadcast(a, 3u);
                    x1[8u * k + 3u] = subgroupBroadcast(b, 3u);
                    x0[8u * k + 4u] = subgroupBroadcast(a, 4u);
                    x1[8u * k + 4u] = subgroupBroadcast(b, 4u);
                    x0[8u * k + 5u] = subgroupBroadcast(a, 5u);
                    x1[8u * k + 5u] = subgroupBroadcast(b, 5u);
                    x0[8u * k + 6u] = subgroupBroadcast(a, 6u);
                    x1[8u * k + 6u] = subgroupBroadcast(b, 6u);
                    x0[8u * k + 7u] = subgroupBroadcast(a, 7u);
                    x1[8u * k + 7u] = subgroupBroadcast(b, 7u);
                }
                for (var c = 0u; c < RC; c++) {
                    let wv = split(wts[wi + c]);
                    for (var i = 0u; i < PX; i++) {
                        acc[i][c] = dot8(Pair(x0[i], x1[i]), wv, acc[i][c]);
                    }
                }
                wi += p.dst_cp;
            }
        }
    }

    store_tile(task, &acc);
}
