// Weight gradient of conv2d, split over the batch-and-space reduction: each invocation owns one
// (split, tap, x-channel block, dy-channel block) and sums dy * x over its rows of N * OH into
// an RO x RI register tile, read as vec4 groups from NHWC4-packed dy and x. The splits are then
// added in a fixed order by conv2d_reduce.wgsl (no atomics, bit-identical reruns).

const RO: u32 = {{RO}}u; // dy channels per invocation, a multiple of 4
const RI: u32 = {{RI}}u; // x channels per invocation, a multiple of 4
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
    taps: u32,
    rows_per_split: u32,
    lanes: u32,
    k_h: u32,
    _pad0: u32,
    _pad1: u32,
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
    let tap = r % p.taps;
    let split = r / p.taps;
    let kh = tap / p.k_w;
    let kw = tap % p.k_w;

    var acc: array<array<vec4<f32>, RI4>, RO>;
    for (var o = 0u; o < RO; o++) {
        for (var j = 0u; j < RI4; j++) { acc[o][j] = vec4<f32>(0.0); }
    }
    let first = split * p.rows_per_split;
    let last = min(first + p.rows_per_split, p.n * p.oh);
    for (var row = first; row < last; row++) {
        let img = row / p.oh;
        let ih = i32((row - img * p.oh) * p.s_h + kh) - i32(p.pad_h);
        if ih < 0 || ih >= i32(p.h) { continue; }
        let x_row = (img * p.h + u32(ih)) * p.w;
        for (var c = 0u; c < p.ow; c++) {
            let iw = i32(c * p.s_w + kw) - i32(p.pad_w);
            let ok = iw >= 0 && iw < i32(p.w);
            let xa = (x_row + select(0u, u32(iw), ok)) * p.x_groups + bi * RI4;
            let da = (row * p.ow + c) * p.dy_groups + bo * RO4;
            var xv: array<vec4<f32>, RI4>;
            for (var j = 0u; j < RI4; j++) { xv[j] = select(vec4<f32>(0.0), x[xa + j], ok); }
            for (var q = 0u; q < RO4; q++) {
                let dv = dy[da + q];
                for (var j = 0u; j < RI4; j++) {
                    acc[4u * q][j] = fma(vec4<f32>(dv.x), xv[j], acc[4u * q][j]);
                    acc[4u * q + 1u][j] = fma(vec4<f32>(dv.y), xv[j], acc[4u * q + 1u][j]);
                    acc[4u * q + 2u][j] = fma(vec4<f32>(dv.z), xv[j], acc[4u * q + 2u][j]);
                    acc[4u * q + 3u][j] = fma(vec4<f32>(dv.w), xv[j], acc[4u * q + 3u][j]);
                }
            }
        }
    }
    let o_pad = p.blocks_o * RO;
    let i_groups = p.blocks_i * RI4;
    for (var o = 0u; o < RO; o++) {
        let base = ((split * p.taps + tap) * o_pad + bo * RO + o) * i_groups + bi * RI4;
        for (var j = 0u; j < RI4; j++) { part[base + j] = acc[o][j]; }
    }
}
