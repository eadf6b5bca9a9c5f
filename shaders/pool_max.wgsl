// Max pooling forward: y = window maximum, argmax = its flat index h*w_in + w in the input plane
// (the first maximum in row-major order on ties). One invocation per output element.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

@compute @workgroup_size(256)
fn max_pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
    var best_at = rows.x * p.w + cols.x;
    var best = x[base + best_at];
    for (var i = rows.x; i < rows.y; i++) {
        for (var j = cols.x; j < cols.y; j++) {
            let v = x[base + i * p.w + j];
            if v > best {
                best = v;
                best_at = i * p.w + j;
            }
        }
    }
    y[t] = best;
    argmax[t] = best_at;
}
