// Average pooling, forward and backward (gather form). With "same" padding a window divides by
// its count of non-padding elements (TensorFlow's rule), in both directions.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn count(oy: u32, ox: u32) -> f32 {
    let rows = window(oy, p.sh, p.ph, p.kh, p.h);
    let cols = window(ox, p.sw, p.pw, p.kw, p.w);
    return f32((rows.y - rows.x) * (cols.y - cols.x));
}

// src = x [planes, h, w], dst = y [planes, oh, ow].
@compute @workgroup_size(256)
fn avg_pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t >= p.total {
        return;
    }
    let r = udiv(t, p.ow, p.row);
    let ox = t - r * p.ow;
    let plane = udiv(r, p.oh, p.roh);
    let oy = r - plane * p.oh;
    let base = plane * p.h * p.w;
    let rows = window(oy, p.sh, p.ph, p.kh, p.h);
    let cols = window(ox, p.sw, p.pw, p.kw, p.w);
    var acc = 0.0;
    for (var i = rows.x; i < rows.y; i++) {
        for (var j = cols.x; j < cols.y; j++) {
            acc += src[base + i * p.w + j];
        }
    }
    dst[t] = acc / count(oy, ox);
}

// src = dy [planes, oh, ow], dst = dx [planes, h, w]: each input element sums dy / count over
// the windows covering it, in row-major window order.
@compute @workgroup_size(256)
fn avg_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t >= p.total {
        return;
    }
    let r = udiv(t, p.w, p.rw);
    let j = t - r * p.w;
    let plane = udiv(r, p.h, p.rh);
    let i = r - plane * p.h;
    let base = plane * p.oh * p.ow;
    let rows = covering(i, p.sh, p.rsh, p.ph, p.kh, p.oh);
    let cols = covering(j, p.sw, p.rsw, p.pw, p.kw, p.ow);
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            acc += src[base + oy * p.ow + ox] / count(oy, ox);
        }
    }
    dst[t] = acc;
}
