// Weight gradient for CPU-like devices with 8-wide subgroups (lavapipe on AVX2). A lane owns CQ
// columns of the im2col matrix, q = tap * x_groups + g (four x channels of one tap), and
// accumulates them against RO dy channels over its split's rows of N * OH. All lanes of a
// subgroup walk the same dy pixels, so the RO / 4 <= 8 dy vec4s of a pixel are loaded
// cooperatively (one load per lane) and shared with subgroupBroadcast; each lane loads only its
// own CQ x vec4s. Partials are laid out like conv2d_wgrad.wgsl's, summed by conv2d_reduce.wgsl.

const RO: u32 = {{RO}}u; // dy channels per task, a multiple of 4, at most 32
const CQ: u32 = {{CQ}}u; // im2col columns per lane
const RO4: u32 = RO / 4u;

struct Params {
    n: u32,
    h: u32,
    w: u32,
    x_groups: u32,   // vec4 groups per x pixel
    oh: u32,
    ow: u32,
    dy_groups: u32,  // vec4 groups per dy pixel (any; chunk groups past it read as zero)
    k_w: u32,
    s_h: u32,
    s_w: u32,
    pad_h: u32,
    pad_w: u32,
    col_blocks: u32, // (8 * CQ)-column blocks of the taps * x_groups columns
    chunks: u32,     // RO-wide dy channel chunks
    taps: u32,
    rows_per_split: u32,
    items: u32,      // subgroup tasks
    k_h: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;

// acc[m][4l + k] += dy channel 4l + k (held by lane l in `mine`) times xv[m].
fn accumulate(
    acc: ptr<function, array<array<vec4<f32>, RO>, CQ>>,
    mine: vec4<f32>,
    xv: array<vec4<f32>, CQ>,
) {
    var dv: array<vec4<f32>, 8>;
    dv[0] = subgroupBroadcast(mine, 0u);
    dv[1] = subgroupBroadcast(mine, 1u);
    dv[2] = subgroupBroadcast(mine, 2u);
    dv[3] = subgroupBroadcast(mine, 3u);
    dv[4] = subgroupBroadcast(mine, 4u);
    dv[5] = subgroupBroadcast(mine, 5u);
    dv[6] = subgroupBroadcast(mine, 6u);
    dv[7] = subgroupBroadcast(mine, 7u);
    for (var l = 0u; l < RO4; l++) {
        let o = 4u * l;
        for (var m = 0u; m < CQ; m++) {
            (*acc)[m][o] = fma(vec4<f32>(dv[l].x), xv[m], (*acc)[m][o]);
            (*acc)[m][o + 1u] = fma(vec4<f32>(dv[l].y), xv[m], (*acc)[m][o + 1u]);
            (*acc)[m][o + 2u] = fma(vec4<f32>(dv[l].z), xv[m], (*acc)[m][o + 2u]);
            (*acc)[m][o + 3u] = fma(vec4<f32>(dv[l].w), xv[m], (*acc)[m][o + 3u]);
        }
    }
}

@compute @workgroup_size(64)
fn conv2d_wgrad_subgroup(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    // Subgroup k of the workgroup is invocations 8k..8k+7 (so on lavapipe, the only device the
    // subgroup variants are chosen for). No early return: every lane must reach the broadcasts.
    let task = (wid.x + wid.y * nwg.x) * 8u + li / 8u;
    let live = task < p.items;
    var r = select(0u, task, live);
    let cb = r % p.col_blocks;
    r = r / p.col_blocks;
    let chunk = r % p.chunks;
    let split = r / p.chunks;
    var col_ok: array<bool, CQ>;
    var tap: array<u32, CQ>;
    var g: array<u32, CQ>;
    var kh: array<u32, CQ>;
    var kw: array<u32, CQ>;
    for (var m = 0u; m < CQ; m++) {
        let q = (cb * 8u + lane) * CQ + m;
        col_ok[m] = live && q < p.taps * p.x_groups;
        let qq = select(0u, q, col_ok[m]);
        tap[m] = qq / p.x_groups;
        g[m] = qq - tap[m] * p.x_groups;
        kh[m] = tap[m] / p.k_w;
        kw[m] = tap[m] - kh[m] * p.k_w;
    }

    var acc: array<array<vec4<f32>, RO>, CQ>;
    for (var m = 0u; m < CQ; m++) {
        for (var o = 0u; o < RO; o++) { acc[m][o] = vec4<f32>(0.0); }
    }
    let first = split * p.rows_per_split;
    let last = min(first + p.rows_per_split, p.n * p.oh);
    for (var row = first; row < last; row++) {
        let img = row / p.oh;
        let oh = row - img * p.oh;
        var x_row: array<u32, CQ>;
        var row_ok: array<bool, CQ>;
        for (var m = 0u; m < CQ; m++) {
            let ih = i32(oh * p.s_h + kh[m]) - i32(p.pad_h);
            row_ok[m] = col_ok[m] && ih >= 0 && ih < i32(p.h);
            x_row[m] = (img * p.h + u32(select(0, ih, row_ok[m]))) * p.w;
        }
        let dy_row = row * p.ow * p.dy_groups;
        // This lane's dy vec4 of each pixel: group chunk * RO4 + lane, zero past the real ones
        // (so dy packed with ceil(Cout / 4) groups, as the other passes pack it, serves any RO).
        let gq = chunk * RO4 + min(lane, RO4 - 1u);
        let dy_ok = lane < RO4 && gq < p.dy_groups;
        for (var c = 0u; c < p.ow; c++) {
            var xv: array<vec4<f32>, CQ>;
            for (var m = 0u; m < CQ; m++) {
                let iw = i32(c * p.s_w + kw[m]) - i32(p.pad_w);
                let ok = row_ok[m] && iw >= 0 && iw < i32(p.w);
                let xa = (x_row[m] + select(0u, u32(iw), ok)) * p.x_groups + g[m];
                xv[m] = select(vec4<f32>(0.0), x[xa], ok);
            }
            let mine = select(vec4<f32>(0.0), dy[select(0u, dy_row + c * p.dy_groups + gq, dy_ok)], dy_ok);
            accumulate(&acc, mine, xv);
        }
    }
    let o_pad = p.chunks * RO;
    for (var m = 0u; m < CQ; m++) {
        if !col_ok[m] { break; }
        for (var o = 0u; o < RO; o++) {
            part[((split * p.taps + tap[m]) * o_pad + chunk * RO + o) * p.x_groups + g[m]] = acc[m][o];
        }
    }
}
