// Grouped conv, windowed: the forward pass at any stride, and the backward-to-input pass at
// stride 1 as a forward conv of dy with the taps reversed (flip) and padding
// (k - 1) * d - pad. An invocation computes PX consecutive columns of one destination row of
// RC channels; per filter row it loads the source window those columns touch once,
// (PX - 1) * SW + (KW - 1) * DW + 1 values, instead of PX per tap (lavapipe pays a per-lane
// loop for every storage load), and shares it among RC destination channels of one group (RC = 1
// for depthwise convs, 4 or 8 for dense ones), whose weights are RC loads per tap. The column
// stride SW, dilation DW and RC are template constants so that every window index is a
// constant after unrolling and the window stays in registers.
//
// Roles (bindings as conv2d_grouped_common.wgsl): a = source [N, c_in, h, w], b = weights,
// c = bias (has_bias), out = destination [N, c_out, oh, ow]; weight of destination channel o
// (group g, index dl in it) and source channel g * cpg_in + sl at tap t:
// b[(g * cpg_out * cpg_in + dl * w_a + sl * w_b) * KH * KW + t].

const SW: u32 = {{SW}}u;
const DW: u32 = {{DW}}u;
const RC: u32 = {{RC}}u;
const WIN: u32 = (PX - 1u) * SW + (MAX_K - 1u) * DW + 1u;

@compute @workgroup_size(64)
fn grouped_window(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_of(gid, nwg);
    if lane >= p.items { return; }
    let bw = lane % p.blocks_w;
    var r = lane / p.blocks_w;
    let orow = r % p.oh;
    r = r / p.oh;
    let ob = r % p.blocks_o;
    let n = r / p.blocks_o;
    let g = ob / p.bpg;
    let dl0 = (ob - g * p.bpg) * RC;
    let ow0 = bw * PX;
    let taps = p.k_h * p.k_w;
    let span = (PX - 1u) * SW + (p.k_w - 1u) * DW + 1u;
    let col0 = i32(ow0 * SW) - p.pad_w;
    let flip = p.flip != 0u;

    var acc: array<array<f32, PX>, RC>;
    for (var j = 0u; j < RC; j++) {
        for (var i = 0u; i < PX; i++) { acc[j][i] = 0.0; }
    }
    for (var sl = 0u; sl < p.cpg_in; sl++) {
        let plane = (n * p.c_in + g * p.cpg_in + sl) * p.h;
        // Channels past the group's end reuse its first filter (their sums are not written).
        var wbase: array<u32, RC>;
        for (var j = 0u; j < RC; j++) {
            let dl = select(dl0, dl0 + j, dl0 + j < p.cpg_out);
            wbase[j] = (g * p.cpg_out * p.cpg_in + dl * p.w_a + sl * p.w_b) * taps;
        }
        for (var kh = 0u; kh < p.k_h; kh++) {
            let ih = i32(orow * p.s_h + kh * p.d_h) - p.pad_h;
            if ih < 0 || ih >= i32(p.h) { continue; }
            let row = (plane + u32(ih)) * p.w;
            var win: array<f32, WIN>;
            for (var j = 0u; j < WIN; j++) {
                win[j] = 0.0;
                if j < span {
                    let iw = col0 + i32(j);
                    let ok = iw >= 0 && iw < i32(p.w);
                    win[j] = select(0.0, a[row + u32(select(0, iw, ok))], ok);
                }
            }
            let th = select(kh, p.k_h - 1u - kh, flip);
            for (var kw = 0u; kw < MAX_K; kw++) {
                if kw >= p.k_w { break; }
                let tw = select(kw, p.k_w - 1u - kw, flip);
                for (var j = 0u; j < RC; j++) {
                    let wv = b[wbase[j] + th * p.k_w + tw];
                    for (var i = 0u; i < PX; i++) {
                        acc[j][i] = fma(win[i * SW + kw * DW], wv, acc[j][i]);
                    }
                }
            }
        }
    }
    for (var j = 0u; j < RC; j++) {
        let dl = dl0 + j;
        if dl >= p.cpg_out { break; }
        let o = g * p.cpg_out + dl;
        var bias = 0.0;
        if p.has_bias != 0u { bias = c[o]; }
        let dst = ((n * p.c_out + o) * p.oh + orow) * p.ow;
        for (var i = 0u; i < PX; i++) {
            let col = ow0 + i;
            if col < p.ow { out[dst + col] = acc[j][i] + bias; }
        }
    }
}

// Weight-gradient partials, windowed: a = dy, b = x, out = partials [split][Cout][Cin/g][KH][KW].
// An invocation owns one filter row (KW taps) of one (co, ci) pair over its split's rows of
// N * OH, taking each row PX columns at a time: PX dy values and the x window they touch, so
// PX + (PX - 1) * SW + (KW - 1) * DW + 1 loads feed PX * KW FMAs.
@compute @workgroup_size(64)
fn grouped_wgrad_window(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_of(gid, nwg);
    if lane >= p.items { return; }
    let kh = lane % p.k_h;
    var r = lane / p.k_h;
    let cg = r % p.cpg_in;
    r = r / p.cpg_in;
    let co = r % p.c_out;
    let split = r / p.c_out;
    let ci = (co / p.cpg_out) * p.cpg_in + cg;
    let span = (PX - 1u) * SW + (p.k_w - 1u) * DW + 1u;

    var acc: array<f32, MAX_K>;
    for (var k = 0u; k < MAX_K; k++) { acc[k] = 0.0; }
    let first = split * p.rows_per_split;
    let last = min(first + p.rows_per_split, p.n * p.oh);
    for (var row = first; row < last; row++) {
        let n = row / p.oh;
        let orow = row - n * p.oh;
        let ih = i32(orow * p.s_h + kh * p.d_h) - p.pad_h;
        if ih < 0 || ih >= i32(p.h) { continue; }
        let xrow = ((n * p.c_in + ci) * p.h + u32(ih)) * p.w;
        let dyrow = ((n * p.c_out + co) * p.oh + orow) * p.ow;
        for (var c0 = 0u; c0 < p.ow; c0 += PX) {
            var dv: array<f32, PX>;
            for (var i = 0u; i < PX; i++) {
                let ok = c0 + i < p.ow;
                dv[i] = select(0.0, a[dyrow + select(0u, c0 + i, ok)], ok);
            }
            let col0 = i32(c0 * SW) - p.pad_w;
            var win: array<f32, WIN>;
            for (var j = 0u; j < WIN; j++) {
                win[j] = 0.0;
                if j < span {
                    let iw = col0 + i32(j);
                    let ok = iw >= 0 && iw < i32(p.w);
                    win[j] = select(0.0, b[xrow + u32(select(0, iw, ok))], ok);
                }
            }
            for (var kw = 0u; kw < MAX_K; kw++) {
                if kw >= p.k_w { break; }
                var s = acc[kw];
                for (var i = 0u; i < PX; i++) { s = fma(dv[i], win[i * SW + kw * DW], s); }
                acc[kw] = s;
            }
        }
    }
    let dst = split * p.weights + ((co * p.cpg_in + cg) * p.k_h + kh) * p.k_w;
    for (var kw = 0u; kw < p.k_w; kw++) { out[dst + kw] = acc[kw]; }
}
