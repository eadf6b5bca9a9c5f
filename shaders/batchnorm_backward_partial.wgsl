// Batch-norm backward, pass 1: per (channel, chunk) the sums of dy and of dy * (x - mean),
// strided per invocation, then combined in a fixed order. partials = [C, nchunks, 2].

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

var<workgroup> part: array<vec2<f32>, TREE_WG>;
var<workgroup> part8: array<vec2<f32>, 8>;

@compute @workgroup_size(64)
fn bn_backward_partial(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = wid.x + wid.y * nwg.x;
    if g >= p.c * p.nchunks {
        return;
    }
    let c = g / p.nchunks;
    let mu = mean[c];
    let start = (g % p.nchunks) * p.chunk;
    let end = min(start + p.chunk, p.m);
    var acc = vec2<f32>(0.0, 0.0);
    var at = cursor(start + lid);
    for (var j = start + lid; j < end; j += TREE_WG) {
        let i = element(c, at);
        let d = dy[i];
        acc += vec2<f32>(d, d * (x[i] - mu));
        at = advance(at);
    }
    part[lid] = acc;
    workgroupBarrier();
    if lid < 8u {
        var s = part[lid];
        for (var k = 1u; k < 8u; k++) {
            s += part[k * 8u + lid];
        }
        part8[lid] = s;
    }
    workgroupBarrier();
    if lid == 0u {
        var s = part8[0];
        for (var k = 1u; k < 8u; k++) {
            s += part8[k];
        }
        partials[2u * g] = s.x;
        partials[2u * g + 1u] = s.y;
    }
}
