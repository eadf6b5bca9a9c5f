// Softmax cross-entropy forward: probs = softmax(logits) per row, losses[n] = lse(row) - z[label].
// Two entry points over the same bindings: `ce_forward_rows` (one invocation per row, for short
// rows) and `ce_forward_wide` (one workgroup per row, fixed-order tree reductions, for long rows).
// A label equal to IGNORE (u32::MAX) gives loss 0; any other label >= K gives NaN, so a bad label
// surfaces in the epoch metrics instead of reading out of bounds.

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

const IGNORE: u32 = 0xffffffffu;
const WG: u32 = 64u;
const NEG_MAX: f32 = -3.40282347e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;

var<workgroup> red: array<f32, WG>;

// loss from the row's max m and sum s = sum exp(z - m): log(s) - (z[label] - m).
fn row_loss(row: u32, m: f32, s: f32) -> f32 {
    let label = labels[row];
    if label == IGNORE {
        return 0.0;
    }
    if label >= p.k {
        return bitcast<f32>(0x7fc00000u);
    }
    return log(s) - (logits[row * p.k + label] - m);
}

@compute @workgroup_size(64)
fn ce_forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.x + gid.y * nwg.x * WG;
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    var m = NEG_MAX;
    for (var k = 0u; k < p.k; k++) {
        m = max(m, logits[base + k]);
    }
    var s = 0.0;
    for (var k = 0u; k < p.k; k++) {
        s += exp(logits[base + k] - m);
    }
    let inv = 1.0 / s;
    for (var k = 0u; k < p.k; k++) {
        probs[base + k] = exp(logits[base + k] - m) * inv;
    }
    losses[row] = row_loss(row, m, s);
}

fn reduce_max(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            red[lid] = red[lid] + red[lid + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn ce_forward_wide(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = wid.x + wid.y * nwg.x;
    if row >= p.n {
        return;
    }
    let base = row * p.k;
    var m = NEG_MAX;
    for (var k = lid; k < p.k; k += WG) {
        m = max(m, logits[base + k]);
    }
    m = reduce_max(m, lid);
    var s = 0.0;
    for (var k = lid; k < p.k; k += WG) {
        s += exp(logits[base + k] - m);
    }
    s = reduce_sum(s, lid);
    let inv = 1.0 / s;
    for (var k = lid; k < p.k; k += WG) {
        probs[base + k] = exp(logits[base + k] - m) * inv;
    }
    if lid == 0u {
        losses[row] = row_loss(row, m, s);
    }
}
