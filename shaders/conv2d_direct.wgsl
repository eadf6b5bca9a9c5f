// Direct convolution, register-blocked: each invocation computes PX pixels of one output row
// for RC output channels, reading NHWC4-packed input (four channels per load) and weights packed
// as [kh][kw][red4][out_pad] vec4. No workgroup memory: every load feeds PX * RC * 4 FMAs.
//
// One kernel serves the forward conv and the backward-to-input pass ("transposed"):
// - forward: dst pixel (a, b) reads src (a*s + k - pad); one phase.
// - transposed (stride s): dst pixels are split into s_h * s_w phases (z of the grid); in phase
//   (qh, qw) the dst rows are qh + s*a and only taps k = k0 + s*t contribute, reading src row
//   a + base - t. So every tap loop is uniform and no FMA is wasted on skipped taps.

const PX: u32 = {{PX}}u;
const RC: u32 = {{RC}}u;
const WG: u32 = 64u;

@compute @workgroup_size(64)
fn conv2d_direct(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let lane = gid.x + gid.y * nwg.x * WG;
    if lane >= p.items { return; }
    let tr = p.transposed != 0u;
    let ah = axis(gid.z / p.s_w, p.k_h, p.s_h, p.pad_h, tr);
    let aw = axis(gid.z % p.s_w, p.k_w, p.s_w, p.pad_w, tr);

    var r = lane;
    let cb = r % p.blocks_c;
    r = r / p.blocks_c;
    let blocks_w = (p.cols + PX - 1u) / PX;
    let bb = r % blocks_w;
    r = r / blocks_w;
    let a = r % p.rows;
    let n = r / p.rows;
    let dst_row = ah.dst_off + a * ah.dst_step;
    if dst_row >= p.dst_h { return; }
    let c0 = cb * RC;
    let b0 = bb * PX;

    var acc: array<array<f32, RC>, PX>;
    for (var i = 0u; i < PX; i++) {
        for (var c = 0u; c < RC; c++) { acc[i][c] = 0.0; }
    }
    for (var t = 0u; t < ah.taps; t++) {
        let kh = ah.k0 + t * ah.k_step;
        let sr = i32(a * ah.a_mul) + ah.base + ah.dir * i32(t);
        if sr < 0 || sr >= i32(p.src_h) { continue; }
        let row = (n * p.src_h + u32(sr)) * p.src_w;
        for (var u = 0u; u < aw.taps; u++) {
            let kw = aw.k0 + u * aw.k_step;
            // Clamp out-of-range columns to column 0 and zero them after the load.
            var at: array<u32, PX>;
            var ok: array<bool, PX>;
            for (var i = 0u; i < PX; i++) {
                let sc = i32((b0 + i) * aw.a_mul) + aw.base + aw.dir * i32(u);
                ok[i] = sc >= 0 && sc < i32(p.src_w);
                at[i] = (row + select(0u, u32(sc), ok[i])) * p.red4;
            }
            var wi = (kh * p.k_w + kw) * p.red4 * p.dst_cp + c0;
            for (var g = 0u; g < p.red4; g++) {
                var xv: array<vec4<f32>, PX>;
                for (var i = 0u; i < PX; i++) {
                    xv[i] = select(vec4<f32>(0.0), src[at[i] + g], ok[i]);
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
    for (var c = 0u; c < RC; c++) {
        let co = c0 + c;
        if co >= p.dst_c { break; }
        var b = 0.0;
        if p.has_bias != 0u { b = bias[co]; }
        let out = (n * p.dst_c + co) * plane + dst_row * p.dst_w;
        for (var i = 0u; i < PX; i++) {
            let col = aw.dst_off + (b0 + i) * aw.dst_step;
            if col < p.dst_w { dst[out + col] = acc[i][c] + b; }
        }
    }
}
