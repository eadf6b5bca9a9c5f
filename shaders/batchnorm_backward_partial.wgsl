// Batch-norm backward, pass 1: per (channel, chunk) the sums of dy and of dy * (x - mean),
// strided per invocation, then combined in a fixed order. partials = [C, nchunks, 2].

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<Unit>;
@group(0) @binding(2) var<storage, read> x: array<Unit>;
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
    let start = (g - c * p.nchunks) * p.chunk;
    let end = min(start + p.chunk, p.m);
    var s1 = Unit(0.0);
    var s2 = Unit(0.0);
    let slice = row_slice(start, end, lid);
    var at = cursor(slice.x);
    for (var j = slice.x; j < slice.y; j += ROW) {
        let sl = slot(c, at);
        let d = dy[sl.unit];
        s1 += select(Unit(0.0), d, sl.mine);
        s2 += select(Unit(0.0), d * (x[sl.unit] - mu), sl.mine);
        at = advance(at);
    }
    part[lid] = vec2<f32>(hsum(s1), hsum(s2));
    workgroupBarrier();
    if lid < 8u {
        var s = part[lid];
        for (var q = 1u; q < 8u; q++) {
            s += part[q * 8u + lid];
        }
        part8[lid] = s;
    }
    workgroupBarrier();
    if lid == 0u {
        var s = part8[0];
        for (var q = 1u; q < 8u; q++) {
            s += part8[q];
        }
        partials[2u * g] = s.x;
        partials[2u * g + 1u] = s.y;
    }
}
