// Unit prelude (batch norm, global pooling): kernels built with it load four consecutive
// elements at a time (one load instruction instead of four; see batchnorm_common.wgsl).
alias Unit = vec4<f32>;
// Per-element flags of a unit.
alias Mask = vec4<bool>;
// Elements per unit.
const WIDTH: u32 = 4u;

// Sum of a unit's elements.
fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// Element j of a unit.
fn pick(v: vec4<f32>, j: u32) -> f32 {
    return v[j];
}

// Which elements of a unit lie in [0, len), the unit's first element being at `offset`.
fn inside(offset: i32, len: u32) -> vec4<bool> {
    let o = vec4<i32>(offset) + vec4<i32>(0, 1, 2, 3);
    return (o >= vec4<i32>(0)) & (o < vec4<i32>(i32(len)));
}

// How many flags are set.
fn count(m: vec4<bool>) -> f32 {
    return dot(select(vec4<f32>(0.0), vec4<f32>(1.0), m), vec4<f32>(1.0));
}

// Flags of the elements at or after index `split` of a unit.
fn from_element(split: u32) -> vec4<bool> {
    return vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(split);
}
