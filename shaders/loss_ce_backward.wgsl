// Softmax cross-entropy backward: dlogits[n,k] = dlosses[n] * (probs[n,k] - [k == label[n]]).
// One invocation per element. Ignored rows (label IGNORE) get 0; other out-of-range labels NaN.

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

const IGNORE: u32 = 0xffffffffu;
const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> dlosses: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(256)
fn ce_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if i >= p.n * p.k {
        return;
    }
    let row = i / p.k;
    let col = i - row * p.k;
    let label = labels[row];
    if label == IGNORE {
        dlogits[i] = 0.0;
    } else if label >= p.k {
        dlogits[i] = bitcast<f32>(0x7fc00000u);
    } else {
        dlogits[i] = dlosses[row] * (probs[i] - select(0.0, 1.0, col == label));
    }
}
