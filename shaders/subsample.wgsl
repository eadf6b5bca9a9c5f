// Strided subsampling of NCHW planes on a shifted grid, and its adjoint:
//   forward:  y[q, i, j] = x[q, off_h + i * s_h, off_w + j * s_w]  (0 past the image)
//   backward: dx[q, h, w] = dy[q, (h - off_h) / s_h, (w - off_w) / s_w] where h, w lie on the
//             grid and inside y, else 0
// (q = image * channels + channel). Every output is one load or none: each x position is read
// by at most one y position, so the backward pass is a gather too (no atomics).


struct Params {
    planes: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    off_h: u32,
    off_w: u32,
    s_h: u32,
    s_w: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// One invocation per row (of y forward, of dx backward), walking its columns with counters:
// lavapipe divides per lane, so the one division is per row, not per element. Large tensors
// spread over y (grid_1d): row y of the grid starts after nwg.x * 64 rows.
fn row_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn subsample_forward(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = row_of(gid, nwg);
    if row >= p.planes * p.oh { return; }
    let q = row / p.oh;
    let h = p.off_h + (row - q * p.oh) * p.s_h;
    let out = row * p.ow;
    if h >= p.h {
        for (var j = 0u; j < p.ow; j++) { dst[out + j] = 0.0; }
        return;
    }
    let src_row = (q * p.h + h) * p.w;
    var w = p.off_w;
    for (var j = 0u; j < p.ow; j++) {
        var v = 0.0;
        if w < p.w { v = src[src_row + w]; }
        dst[out + j] = v;
        w += p.s_w;
    }
}

@compute @workgroup_size(64)
fn subsample_backward(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = row_of(gid, nwg);
    if row >= p.planes * p.h { return; }
    let q = row / p.h;
    let h = row - q * p.h;
    let out = row * p.w;
    var r = 0u;
    var on_row = h >= p.off_h;
    if on_row {
        r = (h - p.off_h) / p.s_h;
        on_row = r * p.s_h == h - p.off_h && r < p.oh;
    }
    if !on_row {
        for (var w = 0u; w < p.w; w++) { dst[out + w] = 0.0; }
        return;
    }
    let src_row = (q * p.oh + r) * p.ow;
    // The next grid column and its index in the dy row.
    var next = p.off_w;
    var c = 0u;
    for (var w = 0u; w < p.w; w++) {
        var v = 0.0;
        if w == next && c < p.ow {
            v = src[src_row + c];
            c += 1u;
            next += p.s_w;
        }
        dst[out + w] = v;
    }
}
