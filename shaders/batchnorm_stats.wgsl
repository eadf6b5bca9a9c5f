// Batch-norm statistics, pass 1: per (channel, chunk) the element count, the mean and the sum of
// squared deviations (M2), of x - shift where shift is the channel's first element: the squares
// then do not cancel when |mean| >> std, and the small shifted mean keeps f32 bits the large
// mean would lose. Each invocation sums a strided slice; the invocations' summaries are merged
// with Chan's pairwise formula in a fixed order. partials = [C, nchunks, 3] (count,
// mean - shift, M2), then the C shifts (written by each channel's chunk 0).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Unit>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> part: array<vec3<f32>, TREE_WG>;
var<workgroup> part8: array<vec3<f32>, 8>;

// Chan's merge of two (count, mean, M2) summaries; an empty b leaves a unchanged.
fn merge(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
    if b.x == 0.0 {
        return a;
    }
    let n = a.x + b.x;
    let d = b.y - a.y;
    let wb = b.x / n;
    return vec3<f32>(n, a.y + d * wb, a.z + b.z + d * d * a.x * wb);
}

@compute @workgroup_size(64)
fn bn_stats_partial(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = wid.x + wid.y * nwg.x;
    if g >= p.c * p.nchunks {
        return;
    }
    let c = g / p.nchunks;
    let k = g - c * p.nchunks;
    let start = k * p.chunk;
    let end = min(start + p.chunk, p.m);
    let e0 = c * p.plane;
    let shift = element_of(x[e0 / WIDTH], e0);
    var s1 = Unit(0.0);
    var s2 = Unit(0.0);
    var n = 0.0;
    let slice = row_slice(start, end, lid);
    var at = cursor(slice.x);
    for (var j = slice.x; j < slice.y; j += ROW) {
        let sl = slot(c, at);
        let d = select(Unit(0.0), x[sl.unit] - shift, sl.mine);
        s1 += d;
        s2 += d * d;
        n += count(sl.mine);
        at = advance(at);
    }
    let inv = select(0.0, 1.0 / n, n > 0.0);
    let t1 = hsum(s1);
    part[lid] = vec3<f32>(n, t1 * inv, max(hsum(s2) - t1 * t1 * inv, 0.0));
    workgroupBarrier();
    if lid < 8u {
        var acc = part[lid];
        for (var q = 1u; q < 8u; q++) {
            acc = merge(acc, part[q * 8u + lid]);
        }
        part8[lid] = acc;
    }
    workgroupBarrier();
    if lid == 0u {
        var acc = part8[0];
        for (var q = 1u; q < 8u; q++) {
            acc = merge(acc, part8[q]);
        }
        partials[3u * g] = acc.x;
        partials[3u * g + 1u] = acc.y;
        partials[3u * g + 2u] = acc.z;
        if k == 0u {
            partials[shift_slot(c)] = shift;
        }
    }
}
