// out[i] = value for every element (zeroing gradients, poisoning outputs in tests). Units, runs
// and the template slot UNIT as in elementwise.wgsl.

alias Unit = {{UNIT}};

struct Params {
    // Units (elements / width).
    n: u32,
    value: f32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;
const ROW: u32 = 8u;
const PER: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<Unit>;

@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let first = (i / ROW) * (ROW * PER) + i % ROW;
    let end = min(first + ROW * PER, p.n);
    for (var t = first; t < end; t += ROW) {
        out[t] = Unit(p.value);
    }
}
