// Global average pooling forward: [planes, hw] -> [planes]. Built with a unit prelude
// (unit_f32.wgsl, or unit_vec4.wgsl when the plane size is a multiple of 4); `hw` counts units.

struct Params {
    planes: u32,
    // Units per plane.
    hw: u32,
    // Elements per plane (the divisor of the mean).
    elements: u32,
    // 1 / hw (used by the backward).
    rhw: f32,
}

const WG: u32 = 64u;
// Lanes per row of the plane-per-workgroup kernel.
const ROW: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<Unit>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial8: array<f32, 8>;

// Small planes: one invocation sums one plane in order, no barriers (a 64-wide workgroup per
// plane of a few dozen values spends its time in the combine, not the loads).
@compute @workgroup_size(64)
fn global_avg_pool_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let plane = gid.x + gid.y * nwg.x * WG;
    if plane >= p.planes {
        return;
    }
    let base = plane * p.hw;
    var acc = Unit(0.0);
    for (var i = 0u; i < p.hw; i++) {
        acc += src[base + i];
    }
    dst[plane] = hsum(acc) / f32(p.elements);
}

// Large planes: one workgroup per plane, 8 rows of ROW lanes; row r sums the r-th eighth of the
// plane with its lanes on adjacent units (CPU Vulkan runs one row at a time up to the barrier,
// so each row reads one sequential stream), then 8 invocations sum 8 each and one sums those
// 8, a fixed order, so the mean is bit-identical across runs.
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
    let len = (p.hw + ROW - 1u) / ROW;
    let row_start = plane * p.hw + (lid / ROW) * len;
    let row_end = min(row_start + len, (plane + 1u) * p.hw);
    var acc = Unit(0.0);
    for (var i = row_start + lid % ROW; i < row_end; i += ROW) {
        acc += src[i];
    }
    partial[lid] = hsum(acc);
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
        dst[plane] = s / f32(p.elements);
    }
}
