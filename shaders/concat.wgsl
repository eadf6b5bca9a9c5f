// Padded channel concatenation (NAS-RL skip connections). One dispatch per input i of shape
// [n, ci, hi, wi]: it owns output channels c_off .. c_off + ci of y [n, c_total, hmax, wmax],
// where the input sits at row off_h, column off_w and everything around it is zero.

struct Params {
    n: u32,
    ci: u32,
    hi: u32,
    wi: u32,
    c_total: u32,
    hmax: u32,
    wmax: u32,
    c_off: u32,
    off_h: u32,
    off_w: u32,
    total: u32,
    _pad: u32,
    // f32 reciprocals of wmax, hmax, wi, hi, ci for `udiv` (udiv.wgsl).
    rwmax: f32,
    rhmax: f32,
    rwi: f32,
    rhi: f32,
    rci: f32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// src = input i, dst = y. One invocation per element of the input's output channels, padding
// included, so y needs no separate zeroing.
@compute @workgroup_size(256)
fn concat_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t >= p.total {
        return;
    }
    let r = udiv(t, p.wmax, p.rwmax);
    let w = t - r * p.wmax;
    let nc = udiv(r, p.hmax, p.rhmax);
    let h = r - nc * p.hmax;
    let b = udiv(nc, p.ci, p.rci);
    let c = nc - b * p.ci;
    // Unsigned wrap-around makes positions left of / above the input fail the bound test too.
    let i = h - p.off_h;
    let j = w - p.off_w;
    var v = 0.0;
    if i < p.hi && j < p.wi {
        v = src[((b * p.ci + c) * p.hi + i) * p.wi + j];
    }
    dst[((b * p.c_total + p.c_off + c) * p.hmax + h) * p.wmax + w] = v;
}

// src = dy, dst = gradient of input i: the slice of dy the input occupied, padding dropped.
@compute @workgroup_size(256)
fn concat_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t >= p.total {
        return;
    }
    let r = udiv(t, p.wi, p.rwi);
    let j = t - r * p.wi;
    let nc = udiv(r, p.hi, p.rhi);
    let i = r - nc * p.hi;
    let b = udiv(nc, p.ci, p.rci);
    let c = nc - b * p.ci;
    dst[t] = src[((b * p.c_total + p.c_off + c) * p.hmax + i + p.off_h) * p.wmax + j + p.off_w];
}
