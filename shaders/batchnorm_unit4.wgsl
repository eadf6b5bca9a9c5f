// Batch-norm unit prelude: four consecutive elements of one plane per load (H*W % 4 == 0).
alias Unit = vec4<f32>;

// Sum of a unit's elements.
fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// A unit's first element.
fn first(v: vec4<f32>) -> f32 {
    return v.x;
}
