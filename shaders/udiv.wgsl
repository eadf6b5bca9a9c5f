// Integer division without the integer divide instruction. lavapipe turns a vector u32 divide by
// a non-constant into one scalar divide per lane (several times the cost of the memory access
// in index arithmetic); GPUs expand it into a similar float sequence anyway.

// floor(a / b) for any u32 a and 1 <= b < 2^30, given rb = 1/b rounded to f32. The f32 estimate
// is within a/b * 2^-22 + 1 of the quotient; one refinement on the remainder (|r| <= a * 2^-22 + b,
// exact in f32 for the first term) brings it within one, and a last step makes it exact.
fn udiv(a: u32, b: u32, rb: f32) -> u32 {
    var q = u32(f32(a) * rb);
    let r = bitcast<i32>(a - q * b);
    q = bitcast<u32>(bitcast<i32>(q) + i32(floor(f32(r) * rb)));
    let r2 = bitcast<i32>(a - q * b);
    q = select(q, q - 1u, r2 < 0);
    q = select(q, q + 1u, r2 >= i32(b));
    return q;
}
