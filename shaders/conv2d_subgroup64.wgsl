// conv2d_subgroup reading eight channels per load (lavapipe with 64-bit integers): the same
// tasks, staging and broadcasts, but src pixels and weights are read as vec4<u64>, 8 floats per
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
    // As in conv2d_subgroup: subgroup k is invocations 8k..8k+7, and every lane must reach the
    // broadcasts.
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
    let red8 = p.red4 / 2u;

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
    let zero = vec4<f32>(0.0);
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
                at[k] = select(0u, pix, ok[k]) * red8;
            }
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
