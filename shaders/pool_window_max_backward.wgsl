// Max pooling backward, windowed (pool_window_common.wgsl), gather form: each input element
// sums dy over the windows (rows then columns in ascending order) whose recorded argmax is this
// element, as pool_max_backward.wgsl does. No atomics.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// No input position: the argmax of a window element outside the output.
const NOWHERE: u32 = 0xffffffffu;

@compute @workgroup_size(256)
fn max_pool_window_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lane_index(gid, nwg);
    if lane >= p.total { return; }
    let at = backward_lane(lane);
    let base = at.plane * p.oh * p.ow;
    let rows = covering(at.iy, p.sh, p.rsh, p.ph, p.kh, p.oh);
    let taps = covering_taps(at.q);
    let col0 = i32(at.c0) + taps.x;
    let span = PX - 1u + u32(taps.y);
    let here0 = at.iy * p.w + at.q;
    var acc: array<f32, PX>;
    for (var i = 0u; i < PX; i++) { acc[i] = 0.0; }
    for (var oy = rows.x; oy < rows.y; oy++) {
        let row = base + oy * p.ow;
        var win: array<f32, WIN_B>;
        var picked: array<u32, WIN_B>;
        for (var u = 0u; u < WIN_B; u++) {
            win[u] = 0.0;
            picked[u] = NOWHERE;
            if u < span {
                let ox = col0 + i32(u);
                let ok = ox >= 0 && ox < i32(p.ow);
                let o = row + u32(select(0, ox, ok));
                win[u] = dy[o];
                picked[u] = select(NOWHERE, argmax[o], ok);
            }
        }
        for (var t = 0u; t < MAX_PK; t++) {
            if i32(t) >= taps.y { break; }
            for (var i = 0u; i < PX; i++) {
                if picked[i + t] == here0 + SW * (at.c0 + i) { acc[i] += win[i + t]; }
            }
        }
    }
    let out = (at.plane * p.h + at.iy) * p.w;
    for (var i = 0u; i < PX; i++) {
        let c = at.q + SW * (at.c0 + i);
        if c < p.w { dx[out + c] = acc[i]; }
    }
}
