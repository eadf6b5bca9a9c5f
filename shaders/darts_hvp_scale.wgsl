// The finite-difference Hessian-vector product's step from the per-tensor sums of squares of
// v = dL_val/dw': stats = [|v|, eps = r / |v|, 1 / (2 eps)], summed in a fixed order by one
// invocation. |v| = 0 gives eps = 0 and 1 / (2 eps) = 0 (no perturbation, no implicit term).

struct Params {
    k: u32,
    r: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(1)
fn hvp_scale() {
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += partials[j];
    }
    let norm = sqrt(s);
    let eps = select(0.0, p.r / norm, norm > 0.0);
    stats[0] = norm;
    stats[1] = eps;
    stats[2] = select(0.0, 0.5 / eps, eps > 0.0);
}
