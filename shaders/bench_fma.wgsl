// Peak-FMA kernel: the device's practical fp32 arithmetic ceiling. Each invocation keeps
// {{CHAINS}} independent vec4 FMA chains in registers ({{UNROLL}} steps per loop trip), so the FMA
// units never wait on a previous result, and touches memory once at the end.
// x <- x * m + c with m just below 1 converges to c / (1 - m): values stay normal, never overflow.

struct Params {
    iterations: u32,
    _pad0: u32,
    mul: f32,
    add: f32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(256)
fn peak_fma(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let m = vec4<f32>(p.mul);
    let c = vec4<f32>(p.add);
    let seed = vec4<f32>(f32(i & 255u) * 0.001) + vec4<f32>(0.0, 0.25, 0.5, 0.75);
{{DECLARE}}
    for (var k = 0u; k < p.iterations; k++) {
{{STEP}}
    }
    out[i] = {{SUM}};
}
