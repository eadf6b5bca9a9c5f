// Unit prelude (batch norm, global pooling): kernels built with it load one element at a time.
alias Unit = f32;
// Per-element flags of a unit.
alias Mask = bool;
// Elements per unit.
const WIDTH: u32 = 1u;

// Sum of a unit's elements.
fn hsum(v: f32) -> f32 {
    return v;
}

// Element j of a unit.
fn pick(v: f32, j: u32) -> f32 {
    return v;
}

// Which elements of a unit lie in [0, len), the unit's first element being at `offset`.
fn inside(offset: i32, len: u32) -> bool {
    return offset >= 0 && offset < i32(len);
}

// How many flags are set.
fn count(m: bool) -> f32 {
    return select(0.0, 1.0, m);
}

// Flags of the elements at or after index `split` of a unit.
fn from_element(split: u32) -> bool {
    return split == 0u;
}
