// Grouped 2-D convolution with dilation, NCHW, weights [Cout, Cin / groups, KH, KW]: depthwise
// (groups = channels) and dense dilated convs (groups = 1) of the one-shot search spaces.
// Source position of dst (oh, ow) and tap (kh, kw): (oh * s + kh * d - pad, ow * s + kw * d - pad)
// with pad signed (TF "same" for the effective filter (k - 1) * d + 1, minus an optional shift),
// zeros outside the image.
//
// Entry points (all bind: uniform, a, b, c, out):
// - the forward pass, and the backward-to-input pass at stride 1: conv2d_grouped_window.wgsl.
// - the backward-to-input pass at strides above 1: conv2d_grouped_backward_data.wgsl.
// - the weight-gradient partials [split][Cout][Cin/g][KH][KW]: conv2d_grouped_window.wgsl.
// - grouped_wgrad_reduce: a = partials, out = dw: the splits summed in order (no atomics).
// Storage loads on lavapipe are a loop over the 8 lanes whatever the address: the PX outputs of
// an invocation share each weight load, and the split keeps enough invocations in flight.

// Parameters and bindings: conv2d_grouped_common.wgsl.

@compute @workgroup_size(64)
fn grouped_wgrad_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lane_of(gid, nwg);
    if i >= p.weights { return; }
    var sum = 0.0;
    for (var s = 0u; s < p.splits; s++) { sum += a[s * p.weights + i]; }
    out[i] = sum;
}
