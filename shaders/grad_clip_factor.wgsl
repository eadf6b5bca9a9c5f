// Global-norm gradient clipping's factor from the per-tensor sums of squares: one invocation
// sums them in a fixed order (no atomics) and writes stats = [|g|, factor], factor =
// max_norm / |g| where |g| > max_norm, else exactly 1 (so an unclipped step keeps its bits).

struct Params {
    k: u32,
    max_norm: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(1)
fn clip_factor() {
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += partials[j];
    }
    let norm = sqrt(s);
    stats[0] = norm;
    stats[1] = select(1.0, p.max_norm / norm, norm > p.max_norm);
}
