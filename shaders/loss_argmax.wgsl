// Row argmax: out[n] = index of the first maximum of row n. NaN never wins; an all-NaN row gives 0.
// `argmax_rows`: one invocation per row; `argmax_wide`: one workgroup per row, tree merge that
// keeps the larger value and, on equal values, the smaller index (so the first maximum wins).
// The running best starts as "none" (index NONE) rather than -inf: ordered comparisons then make
// any non-NaN value claim it, and NaN (every comparison false) never does.

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

@compute @workgroup_size(64)
fn argmax_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.x + gid.y * nwg.x * WG;
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    var bv = 0.0;
    var bi = NONE;
    for (var k = 0u; k < p.k; k++) {
        let v = logits[base + k];
        if v > bv || (bi == NONE && v == v) {
            bv = v;
            bi = k;
        }
    }
    out[row] = select(bi, 0u, bi == NONE);
}

@compute @workgroup_size(64)
fn argmax_wide(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = wid.x + wid.y * nwg.x;
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    var bv = 0.0;
    var bi = NONE;
    for (var k = lid; k < p.k; k += WG) {
        let v = logits[base + k];
        if v > bv || (bi == NONE && v == v) {
            bv = v;
            bi = k;
        }
    }
    best_v[lid] = bv;
    best_i[lid] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            let ov = best_v[lid + s];
            let oi = best_i[lid + s];
            let mv = best_v[lid];
            let mi = best_i[lid];
            if oi != NONE && (mi == NONE || ov > mv || (ov == mv && oi < mi)) {
                best_v[lid] = ov;
                best_i[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if lid == 0u {
        out[row] = select(best_i[0], 0u, best_i[0] == NONE);
    }
}
