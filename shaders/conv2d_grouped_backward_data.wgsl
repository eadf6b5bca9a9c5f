// Grouped conv, backward to the input at strides above 1 (bindings as
// conv2d_grouped_common.wgsl): a = dy [N, c_out, oh, ow], b = w, out = dx [N, c_in, h, w]
// (c unused). PX columns of one dx row: the gather form of the transposed conv, taps off the
// stride grid skipped. The strides SH, SW are template constants: every tap's grid test is a
// division by the stride, which lavapipe runs as one scalar divide per lane when the divisor
// is a runtime value, and as a multiply when it is a constant. With that and the lane order
// below, a depthwise 3x3 stride-2 pass takes half the time it did (`nasgpu bench`).

const SH: u32 = {{SH}}u;
const SW: u32 = {{SW}}u;

@compute @workgroup_size(64)
fn grouped_backward_data(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_of(gid, nwg);
    if lane >= p.items { return; }
    // Columns are split into s_w phases: this invocation owns dx columns q + s_w * (c0 + i).
    // For a phase, whether tap kw reaches the dy grid ((q + pad - kw * d) divisible by s_w) and
    // its dy column offset do not depend on i, so each valid tap reads PX consecutive dy values.
    // The phase and the row vary slowest: which taps reach the dy grid depends on them alone,
    // so neighbouring lanes (one SIMD row on lavapipe) take the same taps instead of every
    // lane running all of them under a mask.
    let bw = lane % p.blocks_w;
    var r = lane / p.blocks_w;
    let planes = p.n * p.c_in;
    let plane_index = r % planes;
    r = r / planes;
    let q = r % SW;
    let irow = r / SW;
    let ci = plane_index % p.c_in;
    let n = plane_index / p.c_in;
    let g = ci / p.cpg_in;
    let cg = ci - g * p.cpg_in;
    let c0 = bw * PX;
    let sw = i32(SW);

    var acc: array<f32, PX>;
    for (var i = 0u; i < PX; i++) { acc[i] = 0.0; }
    if p.cpg_out == 1u {
        // One source channel (depthwise): tap loops only. Measured 2-3x faster on lavapipe than
        // the channel-inner order below with a single channel.
        let co = g;
        let plane = (n * p.c_out + co) * p.oh;
        let wrow = (co * p.cpg_in + cg) * p.k_h;
        for (var kh = 0u; kh < p.k_h; kh++) {
            let t = i32(irow) + p.pad_h - i32(kh * p.d_h);
            if t < 0 || u32(t) % SH != 0u { continue; }
            let orow = u32(t) / SH;
            if orow >= p.oh { continue; }
            let row = (plane + orow) * p.ow;
            let wi = (wrow + kh) * p.k_w;
            for (var kw = 0u; kw < p.k_w; kw++) {
                let t2 = i32(q) + p.pad_w - i32(kw * p.d_w);
                let m = ((t2 % sw) + sw) % sw;
                if m != 0 { continue; }
                let base = (t2 - m) / sw + i32(c0);
                let wv = b[wi + kw];
                for (var i = 0u; i < PX; i++) {
                    let col = base + i32(i);
                    let ok = col >= 0 && col < i32(p.ow);
                    let dv = a[row + u32(select(0, col, ok))];
                    acc[i] = fma(select(0.0, dv, ok), wv, acc[i]);
                }
            }
        }
    } else {
        // Tap validity and offsets (integer divisions, scalarised on lavapipe) once per tap, the
        // channel loop inside.
        for (var kh = 0u; kh < p.k_h; kh++) {
            let t = i32(irow) + p.pad_h - i32(kh * p.d_h);
            if t < 0 || u32(t) % SH != 0u { continue; }
            let orow = u32(t) / SH;
            if orow >= p.oh { continue; }
            for (var kw = 0u; kw < p.k_w; kw++) {
                let t2 = i32(q) + p.pad_w - i32(kw * p.d_w);
                // Floor division and remainder of a possibly negative t2 by s_w.
                let m = ((t2 % sw) + sw) % sw;
                if m != 0 { continue; }
                let base = (t2 - m) / sw + i32(c0);
                for (var oc = 0u; oc < p.cpg_out; oc++) {
                    let co = g * p.cpg_out + oc;
                    let row = ((n * p.c_out + co) * p.oh + orow) * p.ow;
                    let wv = b[((co * p.cpg_in + cg) * p.k_h + kh) * p.k_w + kw];
                    for (var i = 0u; i < PX; i++) {
                        let col = base + i32(i);
                        let ok = col >= 0 && col < i32(p.ow);
                        let dv = a[row + u32(select(0, col, ok))];
                        acc[i] = fma(select(0.0, dv, ok), wv, acc[i]);
                    }
                }
            }
        }
    }
    let dst = ((n * p.c_in + ci) * p.h + irow) * p.w;
    for (var i = 0u; i < PX; i++) {
        let col = q + SW * (c0 + i);
        if col < p.w { out[dst + col] = acc[i]; }
    }
}
