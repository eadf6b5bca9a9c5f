// Global average pooling backward: dx[plane, i] = dy[plane] / hw. Built with a unit prelude
// (dx in vec4 units when the plane size is a multiple of 4); `hw` counts units. Each invocation
// writes PER units ROW apart, so ROW adjacent invocations cover a contiguous run, and loads dy
// once per plane it meets.

struct Params {
    planes: u32,
    // Units per plane.
    hw: u32,
    elements: u32,
    // 1 / hw for `udiv` (udiv.wgsl).
    rhw: f32,
}

const WG: u32 = 64u;
const ROW: u32 = 8u;
const PER: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<Unit>;

@compute @workgroup_size(64)
fn global_avg_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let first = (i / ROW) * (ROW * PER) + i % ROW;
    let end = min(first + ROW * PER, p.planes * p.hw);
    var plane = p.planes;
    var v = 0.0;
    for (var t = first; t < end; t += ROW) {
        let pt = udiv(t, p.hw, p.rhw);
        if pt != plane {
            plane = pt;
            v = dy[plane] / f32(p.elements);
        }
        dx[t] = Unit(v);
    }
}
