// Embedding lookup and its gradient; ids are U32, the table is [V, D].
// forward:  dst[n, d] = src[ids[n], d] (src = table, dst = out [N, D]); out-of-range ids give 0.
// backward: dst[v, d] = sum of src[n, d] over n with ids[n] == v, in index order (src = dout,
//   dst = dtable [V, D], overwritten). One invocation per table element, no atomics, so the
//   result is bit-identical run to run; out-of-range ids match no row and are skipped.

struct Params {
    n: u32,
    d: u32,
    v: u32,
    _pad0: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(256)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i >= p.n * p.d {
        return;
    }
    let row = i / p.d;
    let col = i - row * p.d;
    let id = ids[row];
    dst[i] = select(0.0, src[min(id, p.v - 1u) * p.d + col], id < p.v);
}

@compute @workgroup_size(256)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if i >= p.v * p.d {
        return;
    }
    let row = i / p.d;
    let col = i - row * p.d;
    var acc = 0.0;
    for (var n = 0u; n < p.n; n++) {
        if ids[n] == row {
            acc += src[n * p.d + col];
        }
    }
    dst[i] = acc;
}
