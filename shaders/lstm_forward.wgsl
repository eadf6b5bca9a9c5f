// Fused LSTM cell forward, one invocation per (b, j) of [B, H]. Gate order along 4H: i, f, g, o;
// i, f, o sigmoid, g tanh. c = f * c_prev + i * g; h = o * tanh(c). The activated gates are
// saved in `act` ([B, 4H], same layout as `gates`) for the backward.

struct Params {
    b: u32,
    h: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> c_prev: array<f32>;
@group(0) @binding(3) var<storage, read_write> act: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read_write> h: array<f32>;

// exp of non-positive numbers only, so +-80 saturate instead of overflowing.
fn sigmoid(v: f32) -> f32 {
    let e = exp(-abs(v));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

fn tanh_stable(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(64)
fn lstm_cell_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if idx >= p.b * p.h {
        return;
    }
    let row = idx / p.h;
    let j = idx - row * p.h;
    let base = row * 4u * p.h + j;
    let ig = sigmoid(gates[base]);
    let fg = sigmoid(gates[base + p.h]);
    let gg = tanh_stable(gates[base + 2u * p.h]);
    let og = sigmoid(gates[base + 3u * p.h]);
    act[base] = ig;
    act[base + p.h] = fg;
    act[base + 2u * p.h] = gg;
    act[base + 3u * p.h] = og;
    let cn = fg * c_prev[idx] + ig * gg;
    c[idx] = cn;
    h[idx] = og * tanh_stable(cn);
}
