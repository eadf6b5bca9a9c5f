// Average pooling, windowed (pool_window_common.wgsl), forward and backward: the same sums in
// the same order as pool_avg.wgsl, so the same bits. A window divides by its count of
// non-padding elements (TensorFlow's rule), in both directions.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn window_count(oy: u32, ox: u32) -> f32 {
    let rows = window(oy, p.sh, p.ph, p.kh, p.h);
    let cols = window(ox, p.sw, p.pw, p.kw, p.w);
    return f32((rows.y - rows.x) * (cols.y - cols.x));
}

// src = x [planes, h, w], dst = y [planes, oh, ow].
@compute @workgroup_size(256)
fn avg_pool_window_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_index(gid, nwg);
    if lane >= p.total { return; }
    let at = forward_lane(lane);
    let base = at.plane * p.h * p.w;
    let rows = window(at.oy, p.sh, p.ph, p.kh, p.h);
    let col0 = i32(at.c0 * SW) - i32(p.pw);
    let span = (PX - 1u) * SW + p.kw;
    var acc: array<f32, PX>;
    for (var i = 0u; i < PX; i++) { acc[i] = 0.0; }
    for (var y = rows.x; y < rows.y; y++) {
        let row = base + y * p.w;
        var win: array<f32, WIN_F>;
        for (var j = 0u; j < WIN_F; j++) {
            win[j] = 0.0;
            if j < span {
                let x = col0 + i32(j);
                let ok = x >= 0 && x < i32(p.w);
                win[j] = select(0.0, src[row + u32(select(0, x, ok))], ok);
            }
        }
        // Columns outside the image add 0.0, which leaves every sum as it was.
        for (var k = 0u; k < MAX_PK; k++) {
            if k >= p.kw { break; }
            for (var i = 0u; i < PX; i++) { acc[i] += win[i * SW + k]; }
        }
    }
    let out = (at.plane * p.oh + at.oy) * p.ow;
    for (var i = 0u; i < PX; i++) {
        let ox = at.c0 + i;
        if ox < p.ow { dst[out + ox] = acc[i] / window_count(at.oy, ox); }
    }
}

// src = dy [planes, oh, ow], dst = dx [planes, h, w]: each input element sums dy / count over
// the windows covering it, rows then columns in ascending order.
@compute @workgroup_size(256)
fn avg_pool_window_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_index(gid, nwg);
    if lane >= p.total { return; }
    let at = backward_lane(lane);
    let base = at.plane * p.oh * p.ow;
    let rows = covering(at.iy, p.sh, p.rsh, p.ph, p.kh, p.oh);
    let taps = covering_taps(at.q);
    // Output column of window element u: c0 + first + u.
    let col0 = i32(at.c0) + taps.x;
    let span = PX - 1u + u32(taps.y);
    var acc: array<f32, PX>;
    for (var i = 0u; i < PX; i++) { acc[i] = 0.0; }
    for (var oy = rows.x; oy < rows.y; oy++) {
        let row = base + oy * p.ow;
        var win: array<f32, WIN_B>;
        for (var u = 0u; u < WIN_B; u++) {
            win[u] = 0.0;
            if u < span {
                let ox = col0 + i32(u);
                let ok = ox >= 0 && ox < i32(p.ow);
                let v = src[row + u32(select(0, ox, ok))] / window_count(oy, u32(select(0, ox, ok)));
                win[u] = select(0.0, v, ok);
            }
        }
        for (var t = 0u; t < MAX_PK; t++) {
            if i32(t) >= taps.y { break; }
            for (var i = 0u; i < PX; i++) { acc[i] += win[i + t]; }
        }
    }
    let out = (at.plane * p.h + at.iy) * p.w;
    for (var i = 0u; i < PX; i++) {
        let x = at.q + SW * (at.c0 + i);
        if x < p.w { dst[out + x] = acc[i]; }
    }
}
