// Batch-norm backward, pass 1: per (channel, chunk) the sums of dy and of dy * (x - mean),
// strided per invocation, then a fixed tree. partials = [C, nchunks, 2].

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

var<workgroup> w1: array<f32, WG>;
var<workgroup> w2: array<f32, WG>;

@compute @workgroup_size(256)
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
    var s1 = 0.0;
    var s2 = 0.0;
    var at = cursor(start + lid);
    for (var j = start + lid; j < end; j += WG) {
        let i = element(c, at);
        let d = dy[i];
        s1 += d;
        s2 += d * (x[i] - mu);
        at = advance(at);
    }
    w1[lid] = s1;
    w2[lid] = s2;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            w1[lid] += w1[lid + s];
            w2[lid] += w2[lid + s];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        partials[2u * g] = w1[0];
        partials[2u * g + 1u] = w2[0];
    }
}
