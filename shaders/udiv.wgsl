// Integer division without the integer divide instruction. lavapipe turns a vector u32 divide by
// a non-constant into one scalar divide per lane (several times the cost of the memory access
// in index arithmetic); GPUs expand it into a similar float sequence anyway.

// floor(a / b) for 0 <= a < 2^31 and 1 <= b < 2^30 (every index of a bindable buffer), given
// rb = 1/b rounded to f32. Conversions go through i32, which CPUs convert natively. The f32
// estimate is within a/b * 2^-22 + 1 of the quotient; one refinement on the remainder
// (|r| <= a * 2^-22 + b) brings it within one, and a last step makes it exact.
fn udiv(a: u32, b: u32, rb: f32) -> u32 {
    let ai = i32(a);
    let bi = i32(b);
    var q = i32(f32(ai) * rb);
    q += i32(floor(f32(ai - q * bi) * rb));
    let r = ai - q * bi;
    q = select(q, q - 1, r < 0);
    q = select(q, q + 1, r >= bi);
    return u32(q);
}
