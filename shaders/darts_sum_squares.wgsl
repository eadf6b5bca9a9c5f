// Sum of squares of one tensor into slot `slot` of a partials vector: one workgroup, each
// invocation sums a strided slice, then 8 invocations sum 8 of those each and one sums the 8,
// in a fixed order (reruns give identical bits; no atomics).

struct Params {
    n: u32,
    slot: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> part: array<f32, WG>;
var<workgroup> part8: array<f32, 8>;

@compute @workgroup_size(64)
fn sum_squares(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < p.n; i += WG) {
        let v = x[i];
        acc += v * v;
    }
    part[lid] = acc;
    workgroupBarrier();
    if lid < 8u {
        var s = 0.0;
        for (var k = 0u; k < 8u; k++) {
            s += part[k * 8u + lid];
        }
        part8[lid] = s;
    }
    workgroupBarrier();
    if lid == 0u {
        var s = 0.0;
        for (var k = 0u; k < 8u; k++) {
            s += part8[k];
        }
        partials[p.slot] = s;
    }
}
