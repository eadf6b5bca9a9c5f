// Batch-norm statistics, pass 1: per (channel, chunk) the mean and the sum of squared deviations
// (M2), both of x - shift where shift is the channel's first element: the squares then do not
// cancel when |mean| >> std, and the small shifted mean keeps f32 bits the large mean would lose.
// Each invocation sums a strided slice; a fixed tree merges the invocations with Chan's pairwise
// formula. partials = [C, nchunks, 2] (mean - shift, M2).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> wn: array<f32, WG>;
var<workgroup> wmean: array<f32, WG>;
var<workgroup> wm2: array<f32, WG>;

@compute @workgroup_size(256)
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
    let start = (g % p.nchunks) * p.chunk;
    let end = min(start + p.chunk, p.m);
    let shift = x[c * p.hw];
    var n = 0.0;
    var s1 = 0.0;
    var s2 = 0.0;
    var at = cursor(start + lid);
    for (var j = start + lid; j < end; j += WG) {
        let d = x[element(c, at)] - shift;
        s1 += d;
        s2 += d * d;
        n += 1.0;
        at = advance(at);
    }
    let inv = select(0.0, 1.0 / n, n > 0.0);
    wn[lid] = n;
    wmean[lid] = s1 * inv;
    wm2[lid] = max(s2 - s1 * s1 * inv, 0.0);
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            let na = wn[lid];
            let nb = wn[lid + s];
            let nab = na + nb;
            if nb > 0.0 {
                let d = wmean[lid + s] - wmean[lid];
                let wb = nb / nab;
                wmean[lid] += d * wb;
                wm2[lid] += wm2[lid + s] + d * d * na * wb;
                wn[lid] = nab;
            }
        }
        workgroupBarrier();
    }
    if lid == 0u {
        partials[2u * g] = wmean[0];
        partials[2u * g + 1u] = wm2[0];
    }
}
