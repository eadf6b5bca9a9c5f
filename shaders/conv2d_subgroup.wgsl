// Direct convolution for CPU-like devices with 8-wide subgroups (lavapipe on AVX2): each
// subgroup computes PX consecutive dst pixels (flattened over image, row, column of a phase) for
// 8 * RC dst channels, RC per lane. Storage loads there cost a per-lane loop whatever the
// address, so the PX src pixels are loaded cooperatively (PX / 8 vec4 loads per lane per
// reduction step) and shared with subgroupBroadcast, which is a register shuffle; each lane then
// loads only its own RC weight vec4s. Half the loads of the register-blocked conv2d_direct.
//
// Data layouts, parameters and the forward/transposed phase mapping come from conv2d_common.wgsl;
// `blocks_c` counts groups of 8 * RC channels and `items` subgroup tasks per phase.

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
    // Subgroup k of the workgroup is invocations 8k..8k+7 (so on lavapipe, the only device the
    // subgroup variants are chosen for). No early return: every lane must reach the broadcasts.
    let task = (wid.x + wid.y * nwg.x) * 8u + li / 8u;
    let live = task < p.items;
    let tk = select(0u, task, live);
    let tr = p.transposed != 0u;
    let ah = axis(wid.z / p.s_w, p.k_h, p.s_h, p.pad_h, tr);
    let aw = axis(wid.z % p.s_w, p.k_w, p.s_w, p.pad_w, tr);
    let per_img = p.rows * p.cols;
    let pixels = p.n * per_img;
    let m0 = (tk / p.blocks_c) * PX;
    let c0 = ((tk % p.blocks_c) * 8u + lane) * RC;

    // The pixels this lane stages: m0 + 8k + lane.
    var st_n: array<u32, PX8>;
    var st_a: array<u32, PX8>;
    var st_b: array<u32, PX8>;
    var st_ok: array<bool, PX8>;
    for (var k = 0u; k < PX8; k++) {
        let m = m0 + 8u * k + lane;
        st_ok[k] = live && m < pixels;
        let mm = select(0u, m, st_ok[k]);
        st_n[k] = mm / per_img;
        let rest = mm - st_n[k] * per_img;
        st_a[k] = rest / p.cols;
        st_b[k] = rest - st_a[k] * p.cols;
    }

    var acc: array<array<f32, RC>, PX>;
    for (var i = 0u; i < PX; i++) {
        for (var c = 0u; c < RC; c++) { acc[i][c] = 0.0; }
    }
    for (var t = 0u; t < ah.taps; t++) {
        let kh = ah.k0 + t * ah.k_step;
        for (var u = 0u; u < aw.taps; u++) {
            let kw = aw.k0 + u * aw.k_step;
            var at: array<u32, PX8>;
            var ok: array<bool, PX8>;
            for (var k = 0u; k < PX8; k++) {
                let sr = i32(st_a[k] * ah.a_mul) + ah.base + ah.dir * i32(t);
                let sc = i32(st_b[k] * aw.a_mul) + aw.base + aw.dir * i32(u);
                ok[k] = st_ok[k] && sr >= 0 && sr < i32(p.src_h) && sc >= 0 && sc < i32(p.src_w);
                let pix = (st_n[k] * p.src_h + u32(sr)) * p.src_w + u32(sc);
                at[k] = select(0u, pix, ok[k]) * p.red4;
            }
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

    let plane = p.dst_h * p.dst_w;
    for (var i = 0u; i < PX; i++) {
        let m = m0 + i;
        if !live || m >= pixels { break; }
        let n = m / per_img;
        let rest = m - n * per_img;
        let a = rest / p.cols;
        let row = ah.dst_off + a * ah.dst_step;
        let col = aw.dst_off + (rest - a * p.cols) * aw.dst_step;
        if row >= p.dst_h || col >= p.dst_w { continue; }
        for (var c = 0u; c < RC; c++) {
            let co = c0 + c;
            if co >= p.dst_c { break; }
            var b = 0.0;
            if p.has_bias != 0u { b = bias[co]; }
            dst[(n * p.dst_c + co) * plane + row * p.dst_w + col] = acc[i][c] + b;
        }
    }
}
