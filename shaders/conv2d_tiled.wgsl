// Tiled implicit-GEMM convolution for real GPUs: a workgroup computes BM dst pixels x BN dst
// channels, staging BK4 vec4 groups of the reduction channels of the src pixels and weights in
// workgroup memory per step; each invocation accumulates a TM x TN register tile.
// Data layouts, parameters and the forward/transposed phase mapping come from conv2d_common.wgsl.

const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const BK4: u32 = {{BK4}}u;
const THREADS_M: u32 = BM / TM;
const THREADS_N: u32 = BN / TN;
const WGS: u32 = THREADS_M * THREADS_N;
const LOADS_A: u32 = BM * BK4 / WGS;
const LOADS_B: u32 = BN * BK4 / WGS;

var<workgroup> tile_a: array<vec4<f32>, BK4 * BM>;
var<workgroup> tile_b: array<vec4<f32>, BK4 * BN>;

@compute @workgroup_size(WGS)
fn conv2d_tiled(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let tile = wid.x + wid.y * nwg.x;
    // Whole workgroups leave together, so the barriers below stay uniform.
    if tile >= p.items { return; }
    let tr = p.transposed != 0u;
    let ah = axis(wid.z / p.s_w, p.k_h, p.s_h, p.pad_h, tr);
    let aw = axis(wid.z % p.s_w, p.k_w, p.s_w, p.pad_w, tr);
    let c0 = (tile % p.blocks_c) * BN;
    let m0 = (tile / p.blocks_c) * BM;
    let pixels = p.n * p.rows * p.cols;

    // The src pixels this invocation stages: fixed for the whole reduction.
    var ld_n: array<u32, LOADS_A>;
    var ld_a: array<u32, LOADS_A>;
    var ld_b: array<u32, LOADS_A>;
    var ld_ok: array<bool, LOADS_A>;
    for (var s = 0u; s < LOADS_A; s++) {
        let m = m0 + (tid + s * WGS) / BK4;
        ld_ok[s] = m < pixels;
        ld_b[s] = m % p.cols;
        ld_a[s] = (m / p.cols) % p.rows;
        ld_n[s] = m / (p.cols * p.rows);
    }

    let tx = tid % THREADS_N;
    let ty = tid / THREADS_N;
    var acc: array<array<f32, TN>, TM>;
    for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; }
    }
    for (var t = 0u; t < ah.taps; t++) {
        let kh = ah.k0 + t * ah.k_step;
        for (var u = 0u; u < aw.taps; u++) {
            let kw = aw.k0 + u * aw.k_step;
            let wtap = (kh * p.k_w + kw) * p.red4;
            for (var g0 = 0u; g0 < p.red4; g0 += BK4) {
                for (var s = 0u; s < LOADS_A; s++) {
                    let l = tid + s * WGS;
                    let g = g0 + l % BK4;
                    let sr = i32(ld_a[s] * ah.a_mul) + ah.base + ah.dir * i32(t);
                    let sc = i32(ld_b[s] * aw.a_mul) + aw.base + aw.dir * i32(u);
                    let ok = ld_ok[s] && g < p.red4 && sr >= 0 && sr < i32(p.src_h) && sc >= 0
                        && sc < i32(p.src_w);
                    let at = ((ld_n[s] * p.src_h + u32(sr)) * p.src_w + u32(sc)) * p.red4 + g;
                    tile_a[(l % BK4) * BM + l / BK4] = select(vec4<f32>(0.0), src[select(0u, at, ok)], ok);
                }
                for (var s = 0u; s < LOADS_B; s++) {
                    let l = tid + s * WGS;
                    let g = g0 + l / BN;
                    let ok = g < p.red4;
                    let at = (wtap + g) * p.dst_cp + c0 + l % BN;
                    tile_b[l] = select(vec4<f32>(0.0), wts[select(0u, at, ok)], ok);
                }
                workgroupBarrier();
                for (var g = 0u; g < BK4; g++) {
                    var bv: array<vec4<f32>, TN>;
                    for (var j = 0u; j < TN; j++) { bv[j] = tile_b[g * BN + tx + j * THREADS_N]; }
                    for (var i = 0u; i < TM; i++) {
                        let av = tile_a[g * BM + ty + i * THREADS_M];
                        for (var j = 0u; j < TN; j++) {
                            acc[i][j] = fma(av.x, bv[j].x, fma(av.y, bv[j].y,
                                fma(av.z, bv[j].z, fma(av.w, bv[j].w, acc[i][j]))));
                        }
                    }
                }
                workgroupBarrier();
            }
        }
    }

    let plane = p.dst_h * p.dst_w;
    for (var i = 0u; i < TM; i++) {
        let m = m0 + ty + i * THREADS_M;
        if m >= pixels { continue; }
        let b = m % p.cols;
        let a = (m / p.cols) % p.rows;
        let n = m / (p.cols * p.rows);
        let row = ah.dst_off + a * ah.dst_step;
        let col = aw.dst_off + b * aw.dst_step;
        if row >= p.dst_h || col >= p.dst_w { continue; }
        for (var j = 0u; j < TN; j++) {
            let co = c0 + tx + j * THREADS_N;
            if co >= p.dst_c { continue; }
            var bb = 0.0;
            if p.has_bias != 0u { bb = bias[co]; }
            dst[(n * p.dst_c + co) * plane + row * p.dst_w + col] = acc[i][j] + bb;
        }
    }
}
