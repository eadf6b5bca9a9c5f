// Max pooling forward, windowed (pool_window_common.wgsl): y = window maximum, argmax = its
// flat index h*w_in + w in the input plane, the first maximum in row-major order on ties, as
// pool_max.wgsl computes it.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

@compute @workgroup_size(256)
fn max_pool_window_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_index(gid, nwg);
    if lane >= p.total { return; }
    let at = forward_lane(lane);
    let base = at.plane * p.h * p.w;
    let rows = window(at.oy, p.sh, p.ph, p.kh, p.h);
    let col0 = i32(at.c0 * SW) - i32(p.pw);
    let span = (PX - 1u) * SW + p.kw;
    var best: array<f32, PX>;
    var best_at: array<u32, PX>;
    // The first element inside the image is taken whatever its value (NaN included).
    var found: array<bool, PX>;
    for (var i = 0u; i < PX; i++) {
        best[i] = 0.0;
        best_at[i] = 0u;
        found[i] = false;
    }
    for (var r = rows.x; r < rows.y; r++) {
        let row = base + r * p.w;
        var win: array<f32, WIN_F>;
        var inside: array<bool, WIN_F>;
        for (var j = 0u; j < WIN_F; j++) {
            win[j] = 0.0;
            inside[j] = false;
            if j < span {
                let c = col0 + i32(j);
                let ok = c >= 0 && c < i32(p.w);
                win[j] = x[row + u32(select(0, c, ok))];
                inside[j] = ok;
            }
        }
        for (var k = 0u; k < MAX_PK; k++) {
            if k >= p.kw { break; }
            for (var i = 0u; i < PX; i++) {
                let v = win[i * SW + k];
                if inside[i * SW + k] && (!found[i] || v > best[i]) {
                    best[i] = v;
                    best_at[i] = r * p.w + u32(col0 + i32(i * SW + k));
                    found[i] = true;
                }
            }
        }
    }
    let out = (at.plane * p.oh + at.oy) * p.ow;
    for (var i = 0u; i < PX; i++) {
        let ox = at.c0 + i;
        if ox < p.ow {
            y[out + ox] = best[i];
            argmax[out + ox] = best_at[i];
        }
    }
}
