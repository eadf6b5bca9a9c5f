// Batch-norm unit prelude: one element per load (H*W not a multiple of 4).
alias Unit = f32;

// Sum of a unit's elements.
fn hsum(v: f32) -> f32 {
    return v;
}

// A unit's first element.
fn first(v: f32) -> f32 {
    return v;
}
