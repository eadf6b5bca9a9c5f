// Fused LSTM cell backward, one invocation per (b, j). Given dh and the gradient dc flowing into
// c from later steps (absent when has_dc = 0; the launcher then binds dh in its place):
//   dc_total = dc + dh * o * (1 - tanh(c)^2)
//   dgates = [dc_total * g * i(1-i), dc_total * c_prev * f(1-f), dc_total * i * (1-g^2),
//             dh * tanh(c) * o(1-o)]  (w.r.t. the pre-activations), dc_prev = dc_total * f.

struct Params {
    b: u32,
    h: u32,
    has_dc: u32,
    _pad0: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read> c_prev: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read> dh: array<f32>;
@group(0) @binding(5) var<storage, read> dc: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgates: array<f32>;
@group(0) @binding(7) var<storage, read_write> dc_prev: array<f32>;

fn tanh_stable(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(64)
fn lstm_cell_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if idx >= p.b * p.h {
        return;
    }
    let row = idx / p.h;
    let j = idx - row * p.h;
    let base = row * 4u * p.h + j;
    let ig = act[base];
    let fg = act[base + p.h];
    let gg = act[base + 2u * p.h];
    let og = act[base + 3u * p.h];
    let tc = tanh_stable(c[idx]);
    let g_h = dh[idx];
    var g_c = g_h * og * (1.0 - tc * tc);
    if p.has_dc != 0u {
        g_c += dc[idx];
    }
    dgates[base] = g_c * gg * ig * (1.0 - ig);
    dgates[base + p.h] = g_c * c_prev[idx] * fg * (1.0 - fg);
    dgates[base + 2u * p.h] = g_c * ig * (1.0 - gg * gg);
    dgates[base + 3u * p.h] = g_h * tc * og * (1.0 - og);
    dc_prev[idx] = g_c * fg;
}
