// Unit prelude (batch norm, global pooling): kernels built with it load four consecutive
// elements of one plane at a time (used when the plane size is a multiple of 4).
alias Unit = vec4<f32>;

// Sum of a unit's elements.
fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// A unit's first element.
fn first(v: vec4<f32>) -> f32 {
    return v.x;
}
