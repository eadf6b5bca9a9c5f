// Axis reductions. x is viewed as [outer, len, inner] (len = the reduced axis); one pass reduces
// each chunk of `chunk` consecutive axis positions to one partial, so
// out = [outer, nchunks, inner], each partial divided by `divisor` (1 for a plain sum).
// Every sum runs in a fixed order, so reruns give identical bits.

struct Params {
    outer: u32,
    len: u32,
    inner: u32,
    chunk: u32,
    nchunks: u32,
    divisor: f32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;
// Workgroup size of reduce_rows: small workgroups run much faster on CPU Vulkan (lavapipe) and
// are plenty on GPUs, since each invocation sums 32 elements of a 2048-element chunk first.
const ROWS_WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, ROWS_WG>;
var<workgroup> partial8: array<f32, 8>;

// Contiguous axis (inner == 1): one workgroup per (row, chunk). Each invocation sums a strided
// slice (adjacent invocations read adjacent elements); then 8 invocations each sum 8 of those
// sums and one invocation sums the 8 results, in a fixed order. Two barriers rather than a
// 6-level tree: on CPU Vulkan every barrier is a full pass over the workgroup.
@compute @workgroup_size(64)
fn reduce_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = wid.x + wid.y * nwg.x;
    if g >= p.outer * p.nchunks {
        return;
    }
    let row = g / p.nchunks;
    let start = (g % p.nchunks) * p.chunk;
    let end = min(start + p.chunk, p.len);
    let base = row * p.len;
    var acc = 0.0;
    for (var i = start + lid; i < end; i += ROWS_WG) {
        acc += x[base + i];
    }
    partial[lid] = acc;
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
        out[g] = s / p.divisor;
    }
}

// Strided axis (inner > 1, or short rows): one invocation per (outer, chunk, inner) output,
// summing its chunk sequentially; adjacent invocations read adjacent `inner` positions.
@compute @workgroup_size(256)
fn reduce_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if t >= p.outer * p.nchunks * p.inner {
        return;
    }
    let i = t % p.inner;
    let oc = t / p.inner;
    let start = (oc % p.nchunks) * p.chunk;
    let end = min(start + p.chunk, p.len);
    let base = (oc / p.nchunks) * p.len * p.inner + i;
    var acc = 0.0;
    for (var l = start; l < end; l++) {
        acc += x[base + l * p.inner];
    }
    out[t] = acc / p.divisor;
}
