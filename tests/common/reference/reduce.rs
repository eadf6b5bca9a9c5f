//! f64 references of the reduce kernels.

/// Sum (or mean) of `x` (row-major, `shape`) over `axis`; the result is row-major over the
/// remaining axes.
pub fn reduce_axis(x: &[f64], shape: &[usize], axis: usize, mean: bool) -> Vec<f64> {
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut y = vec![0.0; outer * inner];
    for o in 0..outer {
        for l in 0..len {
            for i in 0..inner {
                y[o * inner + i] += x[(o * len + l) * inner + i];
            }
        }
    }
    if mean {
        y.iter_mut().for_each(|v| *v /= len as f64);
    }
    y
}
