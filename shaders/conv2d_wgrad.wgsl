// Weight gradient of conv2d, split over the batch-and-space reduction: each invocation owns one
// (split, filter row kh, run of TW filter columns, x-channel block, dy-channel block) and sums
// dy * x over its rows of N * OH into a TW x RO x RI register tile, read as vec4 groups from
// NHWC4-packed dy and x. One dy load feeds all TW taps, and at stride 1 the TW x columns slide
// along the row, so each output column loads one new x column. The splits are then added in a
// fixed order by conv2d_reduce.wgsl (no atomics, bit-identical reruns).

const RO: u32 = {{RO}}u; // dy channels per invocation, a multiple of 4
const RI: u32 = {{RI}}u; // x channels per invocation, a multiple of 4
const TW: u32 = {{TW}}u; // consecutive filter columns per invocation
const RO4: u32 = RO / 4u;
const RI4: u32 = RI / 4u;
const WG: u32 = 64u;

struct Params {
    n: u32,
    h: u32,
    w: u32,
    x_groups: u32,   // vec4 groups per x pixel (padded to RI)
    oh: u32,
    ow: u32,
    dy_groups: u32,  // vec4 groups per dy pixel (padded to RO)
    k_w: u32,
    s_h: u32,
    s_w: u32,
    pad_h: u32,
    pad_w: u32,
    blocks_o: u32,
    blocks_i: u32,
    taps: u32,       // KH * KW
    rows_per_split: u32,
    lanes: u32,
    k_h: u32,
    col_blocks: u32, // TW-wide runs of filter columns
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;

@compute @workgroup_size(64)
fn conv2d_wgrad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = gid.x + gid.y * nwg.x * WG;
    if lane >= p.lanes { return; }
    var r = lane;
    let bo = r % p.blocks_o;
    r = r / p.blocks_o;
    let bi = r % p.blocks_i;
    r = r / p.blocks_i;
    let cb = r % p.col_blocks;
    r = r / p.col_blocks;
    let kh = r % p.k_h;
    let split = r / p.k_h;
    let kw0 = cb * TW;

    var acc: array<array<array<vec4<f32>, RI4>, RO>, TW>;
    for (var t = 0u; t < TW; t++) {
        for (var o = 0u; o < RO; o++) {
            for (var j = 0u; j < RI4; j++) { acc[t][o][j] = vec4<f32>(0.0); }
        }
    }
    let first = split * p.rows_per_split;
    let last = min(first + p.rows_per_split, p.n * p.oh);
    let x_off = bi * RI4;
    for (var row = first; row < last; row++) {
        let img = row / p.oh;
        let ih = i32((row - img * p.oh) * p.s_h + kh) - i32(p.pad_h);
        if ih < 0 || ih >= i32(p.h) { continue; }
        let x_row = (img * p.h + u32(ih)) * p.w;
        // win[t] holds x at column c0 + t, the column tap kw0 + t reads for the current dy column.
        var win: array<array<vec4<f32>, RI4>, TW>;
        var c0 = i32(kw0) - i32(p.pad_w);
        for (var c = 0u; c < p.ow; c++) {
            if c == 0u || p.s_w != 1u {
                if c != 0u { c0 += i32(p.s_w); }
                for (var t = 0u; t < TW; t++) {
                    let iw = c0 + i32(t);
                    let ok = iw >= 0 && iw < i32(p.w);
                    let xa = (x_row + select(0u, u32(iw), ok)) * p.x_groups + x_off;
                    for (var j = 0u; j < RI4; j++) { win[t][j] = select(vec4<f32>(0.0), x[xa + j], ok); }
                }
            } else {
                c0 += 1;
                for (var t = 0u; t + 1u < TW; t++) { win[t] = win[t + 1u]; }
                let iw = c0 + i32(TW) - 1;
                let ok = iw >= 0 && iw < i32(p.w);
                let xa = (x_row + select(0u, u32(iw), ok)) * p.x_groups + x_off;
                for (var j = 0u; j < RI4; j++) { win[TW - 1u][j] = select(vec4<f32>(0.0), x[xa + j], ok); }
            }
            let da = (row * p.ow + c) * p.dy_groups + bo * RO4;
            for (var q = 0u; q < RO4; q++) {
                let dv = dy[da + q];
                for (var t = 0u; t < TW; t++) {
                    for (var j = 0u; j < RI4; j++) {
                        let xv = win[t][j];
                        acc[t][4u * q][j] = fma(vec4<f32>(dv.x), xv, acc[t][4u * q][j]);
                        acc[t][4u * q + 1u][j] = fma(vec4<f32>(dv.y), xv, acc[t][4u * q + 1u][j]);
                        acc[t][4u * q + 2u][j] = fma(vec4<f32>(dv.z), xv, acc[t][4u * q + 2u][j]);
                        acc[t][4u * q + 3u][j] = fma(vec4<f32>(dv.w), xv, acc[t][4u * q + 3u][j]);
                    }
                }
            }
        }
    }
    let o_pad = p.blocks_o * RO;
    let i_groups = p.blocks_i * RI4;
    for (var t = 0u; t < TW; t++) {
        let kw = kw0 + t;
        if kw >= p.k_w { break; }
        let tap = kh * p.k_w + kw;
        for (var o = 0u; o < RO; o++) {
            let base = ((split * p.taps + tap) * o_pad + bo * RO + o) * i_groups + bi * RI4;
            for (var j = 0u; j < RI4; j++) { part[base + j] = acc[t][o][j]; }
        }
    }
}
