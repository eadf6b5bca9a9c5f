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
    let w = t % p.wmax;
    let r = t / p.wmax;
    let h = r % p.hmax;
    let nc = r / p.hmax;
    let c = nc % p.ci;
    let b = nc / p.ci;
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
    let j = t % p.wi;
    let r = t / p.wi;
    let i = r % p.hi;
    let nc = r / p.hi;
    let c = nc % p.ci;
    let b = nc / p.ci;
    dst[t] = src[((b * p.c_total + p.c_off + c) * p.hmax + i + p.off_h) * p.wmax + j + p.off_w];
}
