// Unit prelude (batch norm, global pooling): kernels built with it load one element at a time.
alias Unit = f32;

// Sum of a unit's elements.
fn hsum(v: f32) -> f32 {
    return v;
}

// A unit's first element.
fn first(v: f32) -> f32 {
    return v;
}
