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
var<workgroup> partial8: array<f32, 8>;

// One workgroup per plane: strided per-invocation sums (adjacent invocations read adjacent
// elements), then 8 invocations sum 8 each and one sums those 8, a fixed order, so the mean is
// bit-identical across runs. (Two barriers: on CPU Vulkan each barrier is a pass over the group.)
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
    if lid < 8u {
        var s = 0.0;
        for (var k = 0u; k < 8u; k++) {
            s += partial[k * 8u + lid];
        }
        partial8[lid] = s;
    }
    workgroupBarrier();
    if lid == 0u {
        var s = 0.0;
        for (var k = 0u; k < 8u; k++) {
            s += partial8[k];
        }
        dst[plane] = s / f32(p.hw);
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
