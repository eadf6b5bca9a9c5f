// Batch-norm statistics, pass 2: one invocation per channel merges its chunk partials in order
// (Chan's formula), adds back the shift (the channel's first element, see pass 1), saves mean
// and invstd = 1/sqrt(biased var + eps), updates the running statistics in place (running_var
// takes the unbiased variance, as PyTorch does), and writes the normalisation coefficients
// coef = [C, 4]: (mean, gamma * invstd, beta, unused), so pass 3 loads one vec4 per channel.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> saved_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> saved_invstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(8) var<storage, read_write> coef: array<vec4<f32>>;

@compute @workgroup_size(256)
fn bn_stats_finalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = gid.x + gid.y * nwg.x * WG;
    if c >= p.c {
        return;
    }
    let base = 3u * c * p.nchunks;
    var n = partials[base];
    var mean = partials[base + 1u];
    var m2 = partials[base + 2u];
    for (var k = 1u; k < p.nchunks; k++) {
        // A chunk of masked slots only (nb = 0) leaves the summary unchanged; chunk 0 is never
        // empty, so nab > 0.
        let nb = partials[base + 3u * k];
        let nab = n + nb;
        let d = partials[base + 3u * k + 1u] - mean;
        let wb = nb / nab;
        mean += d * wb;
        m2 += partials[base + 3u * k + 2u] + d * d * n * wb;
        n = nab;
    }
    mean += partials[shift_slot(c)];
    let m = f32(p.n * p.plane);
    let invstd = 1.0 / sqrt(m2 / m + p.eps);
    saved_mean[c] = mean;
    saved_invstd[c] = invstd;
    running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mean;
    running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * (m2 / (m - 1.0));
    coef[c] = vec4<f32>(mean, gamma[c] * invstd, beta[c], 0.0);
}
