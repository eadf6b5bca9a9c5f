// Max pooling backward, gather form: each input element sums dy over the windows (in row-major
// window order) whose recorded argmax is this element. No atomics; overlapping windows are fine.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t >= p.total {
        return;
    }
    let r = udiv(t, p.w, p.rw);
    let j = t - r * p.w;
    let plane = udiv(r, p.h, p.rh);
    let i = r - plane * p.h;
    let base = plane * p.oh * p.ow;
    let here = i * p.w + j;
    let rows = covering(i, p.sh, p.rsh, p.ph, p.kh, p.oh);
    let cols = covering(j, p.sw, p.rsw, p.pw, p.kw, p.ow);
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            let o = base + oy * p.ow + ox;
            if argmax[o] == here {
                acc += dy[o];
            }
        }
    }
    dx[t] = acc;
}
