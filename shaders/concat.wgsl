// Padded channel concatenation (NAS-RL skip connections). One dispatch per input i of shape
// [n, ci, hi, wi]: it owns output channels c_off .. c_off + ci of y [n, c_total, hmax, wmax],
// where the input sits at row off_h, column off_w and everything around it is zero.
// Grid: x = positions within a plane (64 per workgroup), y = channel of the input, z = sample,
// so only the in-plane position needs dividing.

struct Params {
    ci: u32,
    hi: u32,
    wi: u32,
    c_total: u32,
    hmax: u32,
    wmax: u32,
    c_off: u32,
    off_h: u32,
    off_w: u32,
    // f32 reciprocals of wmax and wi for `udiv` (udiv.wgsl).
    rwmax: f32,
    rwi: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// src = input i, dst = y. One invocation per element of the input's output channels, padding
// included, so y needs no separate zeroing.
@compute @workgroup_size(64)
fn concat_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let plane = p.hmax * p.wmax;
    let q = gid.x;
    if q >= plane {
        return;
    }
    let c = gid.y;
    let b = gid.z;
    let h = udiv(q, p.wmax, p.rwmax);
    // Unsigned wrap-around makes positions left of / above the input fail the bound test too.
    let i = h - p.off_h;
    let j = q - h * p.wmax - p.off_w;
    var v = 0.0;
    if i < p.hi && j < p.wi {
        v = src[((b * p.ci + c) * p.hi + i) * p.wi + j];
    }
    dst[(b * p.c_total + p.c_off + c) * plane + q] = v;
}

// src = dy, dst = gradient of input i: the slice of dy the input occupied, padding dropped.
@compute @workgroup_size(64)
fn concat_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let plane = p.hi * p.wi;
    let q = gid.x;
    if q >= plane {
        return;
    }
    let c = gid.y;
    let b = gid.z;
    let i = udiv(q, p.wi, p.rwi);
    let j = q - i * p.wi;
    let at = ((b * p.c_total + p.c_off + c) * p.hmax + i + p.off_h) * p.wmax + j + p.off_w;
    dst[(b * p.ci + c) * plane + q] = src[at];
}
