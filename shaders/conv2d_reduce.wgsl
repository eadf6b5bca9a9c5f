// Fixed-order reductions of the conv2d backward passes (deterministic: no atomics).
// reduce_splits: out[co][ci][tap] = sum over s in order of part[s][tap][co][ci] (padded rows);
//   serves the weight gradient and, with one tap and one input channel, the bias gradient.
//   Invocations run in partial order (ci fastest), so the lanes of a load read adjacent
//   partials; in output order they read addresses a whole partial slice apart (10x slower on
//   lavapipe, every lane a cache miss).
// bias_partials: part[s][co] = sum of dy[n][co][..] over the images n of split s.

struct Params {
    total: u32,      // invocations
    splits: u32,
    taps: u32,       // reduce_splits
    cin: u32,        // reduce_splits: real input channels
    part_o: u32,     // reduce_splits: padded output channels of a partial slice
    part_i: u32,     // reduce_splits: padded input channels of a partial slice
    channels: u32,   // bias_partials: channels of dy
    plane: u32,      // bias_partials: OH * OW
    n: u32,          // bias_partials: batch
    per_split: u32,  // bias_partials: images per split
    cout: u32,       // reduce_splits: real output channels
    _pad1: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn reduce_splits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.total { return; }
    let ci = i % p.cin;
    let rest = i / p.cin;
    let co = rest % p.cout;
    let tap = rest / p.cout;
    let slice = p.taps * p.part_o * p.part_i;
    var at = (tap * p.part_o + co) * p.part_i + ci;
    var sum = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        sum += src[at];
        at += slice;
    }
    dst[(co * p.cin + ci) * p.taps + tap] = sum;
}

@compute @workgroup_size(64)
fn bias_partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.total { return; }
    let co = i % p.channels;
    let split = i / p.channels;
    let first = split * p.per_split;
    let last = min(first + p.per_split, p.n);
    var sum = 0.0;
    for (var img = first; img < last; img++) {
        let base = (img * p.channels + co) * p.plane;
        for (var k = 0u; k < p.plane; k++) { sum += src[base + k]; }
    }
    dst[i] = sum;
}
