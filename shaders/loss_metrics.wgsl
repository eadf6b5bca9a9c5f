// Adds one batch into the epoch metrics, in place: [0] += sum of losses over valid samples,
// [1] += correct argmax predictions, [2] += valid samples. A single workgroup: invocation t takes
// rows t, t + WG, ... in order, then a fixed tree sums the partials, so reruns are bit-identical.

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

const IGNORE: u32 = 0xffffffffu;
const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> losses: array<f32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<f32>;

var<workgroup> loss_part: array<f32, WG>;
var<workgroup> correct_part: array<u32, WG>;
var<workgroup> valid_part: array<u32, WG>;

// Same rule as loss_argmax.wgsl: first maximum, NaN never wins, an all-NaN row gives 0.
fn row_argmax(row: u32) -> u32 {
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
    return select(bi, 0u, bi == NONE);
}

@compute @workgroup_size(256)
fn accumulate_metrics(@builtin(local_invocation_index) lid: u32) {
    var loss = 0.0;
    var correct = 0u;
    var valid = 0u;
    for (var row = lid; row < p.n; row += WG) {
        let label = labels[row];
        if label != IGNORE {
            loss += losses[row];
            valid += 1u;
            correct += select(0u, 1u, row_argmax(row) == label);
        }
    }
    loss_part[lid] = loss;
    correct_part[lid] = correct;
    valid_part[lid] = valid;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            loss_part[lid] += loss_part[lid + s];
            correct_part[lid] += correct_part[lid + s];
            valid_part[lid] += valid_part[lid + s];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        metrics[0] = metrics[0] + loss_part[0];
        metrics[1] = metrics[1] + f32(correct_part[0]);
        metrics[2] = metrics[2] + f32(valid_part[0]);
    }
}
