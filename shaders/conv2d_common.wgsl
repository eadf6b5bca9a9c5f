// Shared by the spatial conv kernels (conv2d_direct, conv2d_subgroup, conv2d_tiled,
// conv2d_subgroup64), prepended to each: the parameters, the bias and dst bindings and the
// forward/transposed phase mapping of one axis. The src and weight bindings come from
// conv2d_vec4.wgsl (vec4<f32> elements) or the kernel itself.
// Data layouts: src NHWC4-packed (four channels per vec4), weights [kh][kw][red4][dst_cp] vec4.

struct Params {
    n: u32,
    src_h: u32,
    src_w: u32,
    red4: u32,       // vec4 groups of reduction channels (per src pixel, per weight tap)
    dst_h: u32,
    dst_w: u32,
    dst_c: u32,
    dst_cp: u32,     // padded dst channels: row length of the packed weights
    k_h: u32,
    k_w: u32,
    s_h: u32,
    s_w: u32,
    pad_h: u32,
    pad_w: u32,
    transposed: u32,
    has_bias: u32,
    rows: u32,       // dst rows per phase (the largest phase)
    cols: u32,       // dst columns per phase (the largest phase)
    blocks_c: u32,   // channel blocks (per variant: RC, 8 * RC or BN channels)
    items: u32,      // work items per phase (per variant: invocations, subgroup tasks, tiles)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

// How one spatial axis maps dst positions and taps to src positions in a phase.
struct Axis {
    k0: u32,         // first tap
    k_step: u32,     // tap stride
    taps: u32,       // taps in this phase
    a_mul: u32,      // src position = a * a_mul + base + dir * t
    base: i32,
    dir: i32,
    dst_off: u32,    // dst position = dst_off + a * dst_step
    dst_step: u32,
}

fn axis(q: u32, k: u32, s: u32, pad: u32, transposed: bool) -> Axis {
    if !transposed {
        return Axis(0u, 1u, k, s, -i32(pad), 1, 0u, 1u);
    }
    let k0 = (q + pad) % s;
    let taps = select(0u, (k - k0 + s - 1u) / s, k0 < k);
    let base = (i32(q + pad) - i32(k0)) / i32(s);
    return Axis(k0, s, taps, 1u, base, -1, q, s);
}
