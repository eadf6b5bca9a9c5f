// Global average pooling: [planes, hw] -> [planes] and back.

struct Params {
    planes: u32,
    hw: u32,
    // 1 / hw for `udiv` (udiv.wgsl).
    rhw: f32,
    _pad0: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

var<workgroup> partial: array<f32, WG>;

// One workgroup per plane: strided per-invocation sums (adjacent invocations read adjacent
// elements), then a fixed tree, so the mean is bit-identical across runs.
@compute @workgroup_size(64)
fn global_avg_pool_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let plane = wid.x + wid.y * nwg.x;
    if plane >= p.planes {
        return;
    }
    let base = plane * p.hw;
    var acc = 0.0;
    for (var i = lid; i < p.hw; i += WG) {
        acc += src[base + i];
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        dst[plane] = partial[0] / f32(p.hw);
    }
}

// dx[plane, i] = dy[plane] / hw.
@compute @workgroup_size(64)
fn global_avg_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t < p.planes * p.hw {
        dst[t] = src[udiv(t, p.hw, p.rhw)] / f32(p.hw);
    }
}
