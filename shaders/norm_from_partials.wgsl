// What a global norm decides, from per-tensor sums of squares (`darts_sum_squares`): one
// invocation sums them in a fixed order (no atomics), then
//   hvp_scale:   DARTS's finite-difference Hessian-vector product step, stats = [|v|,
//                eps = r / |v|, 1 / (2 eps)]; |v| = 0 gives eps = 0 and 1 / (2 eps) = 0 (no
//                perturbation, no implicit term);
//   clip_factor: global-norm gradient clipping, stats = [|g|, factor], factor = bound / |g|
//                where |g| > bound, else exactly 1 (so an unclipped step keeps its bits).

struct Params {
    k: u32,
    // DARTS's r, or the clipping bound.
    value: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

fn norm() -> f32 {
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += partials[j];
    }
    return sqrt(s);
}

@compute @workgroup_size(1)
fn hvp_scale() {
    let n = norm();
    let eps = select(0.0, p.value / n, n > 0.0);
    stats[0] = n;
    stats[1] = eps;
    stats[2] = select(0.0, 0.5 / eps, eps > 0.0);
}

@compute @workgroup_size(1)
fn clip_factor() {
    let n = norm();
    stats[0] = n;
    stats[1] = select(1.0, p.value / n, n > p.value);
}
