// Weighted sums of same-shaped tensors, y = sum_j c[pos_j] * x_j: the DARTS mixed operation
// (c = softmax(alpha)), the ENAS node (c = a 0/1 mask of the chosen inputs, read on the device so
// one plan serves every sampled architecture) and plain sums (c = 1).
//
// Up to four operands per launch; their bindings are generated into DECLS and the per-unit
// statements into BODY (and TAIL) template slots of each entry's file, so each arity binds exactly what
// it uses. This prelude holds the parameters, the coefficient binding and the helpers. `Unit` is vec4<f32> when
// the element count is a multiple of 4, else f32 (template slots UNIT, DOT). Runs of ROW * PER units as
// in elementwise.wgsl.
//
// Entry points, one file each (weighted_sum_<name>.wgsl):
// - wsum_forward: y (= y if accumulate) + sum_j c_j * x_j
// - wsum_scatter: dx_j = c_j * dy (gradient to each operand)
// - wsum_dots: part[pos_j][chunk] = sum over the chunk's units of dot(dy, x_j), the first pass of
//   dL/dc_j = sum(dy * x_j) (fixed chunks, no atomics)
// - wsum_softmax_backward: g_t = sum of part[t][..] in order (0 for absent operands), then
//   dalpha_i = w_i * (g_i - sum_t w_t g_t), w = softmax(alpha)

alias Unit = {{UNIT}};

struct Params {
    n: u32,          // units (elements / width)
    k: u32,          // coefficients
    mode: u32,       // 0: softmax(alpha), 1: mask (u32), 2: ones
    accumulate: u32, // wsum_forward: add onto y
    pos: vec4<u32>,  // coefficient index of each operand of this launch
    chunk: u32,      // wsum_dots: units per chunk
    chunks: u32,
    present: u32,    // wsum_softmax_backward: bit t set when coefficient t has an operand
    _pad: u32,
}

const WG: u32 = 64u;
const ROW: u32 = 8u;
const PER: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> coef: array<u32>;

fn udot(a: Unit, b: Unit) -> f32 {
    return {{DOT}};
}

fn lane_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

fn run_of(lane: u32) -> vec2<u32> {
    let first = (lane / ROW) * (ROW * PER) + lane % ROW;
    return vec2<u32>(first, min(first + ROW * PER, p.n));
}

// softmax(alpha) over all k coefficients, at index t.
fn softmax_at(t: u32) -> f32 {
    var mx = bitcast<f32>(coef[0]);
    for (var j = 1u; j < p.k; j++) { mx = max(mx, bitcast<f32>(coef[j])); }
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) { s += exp(bitcast<f32>(coef[j]) - mx); }
    return exp(bitcast<f32>(coef[t]) - mx) / s;
}

// The coefficients of this launch's four operand slots.
fn coefs() -> vec4<f32> {
    if p.mode == 0u {
        var mx = bitcast<f32>(coef[0]);
        for (var j = 1u; j < p.k; j++) { mx = max(mx, bitcast<f32>(coef[j])); }
        var s = 0.0;
        for (var j = 0u; j < p.k; j++) { s += exp(bitcast<f32>(coef[j]) - mx); }
        var out: vec4<f32>;
        for (var j = 0u; j < 4u; j++) { out[j] = exp(bitcast<f32>(coef[p.pos[j]]) - mx) / s; }
        return out;
    }
    if p.mode == 1u {
        return vec4<f32>(f32(coef[p.pos.x]), f32(coef[p.pos.y]), f32(coef[p.pos.z]), f32(coef[p.pos.w]));
    }
    return vec4<f32>(1.0);
}
