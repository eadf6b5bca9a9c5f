//! f64 references of the weighted-sum kernels: y = sum_j c[pos_j] * x_j with c = softmax(alpha),
//! a mask, or ones; the gradients to the operands and to alpha.

/// softmax(alpha), with the maximum subtracted.
pub fn softmax(alpha: &[f64]) -> Vec<f64> {
    let m = alpha.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = alpha.iter().map(|a| (a - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// y = sum_j coef[pos_j] * xs[j].
pub fn weighted_sum(coef: &[f64], pos: &[usize], xs: &[Vec<f64>], len: usize) -> Vec<f64> {
    let mut y = vec![0.0; len];
    for (j, x) in xs.iter().enumerate() {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi += coef[pos[j]] * xi;
        }
    }
    y
}

/// dL/dalpha for y = sum_j softmax(alpha)[pos_j] * xs[j] and upstream dy:
/// g_t = sum(dy * x_t) (0 without an operand), dalpha_i = w_i (g_i - sum_t w_t g_t).
pub fn alpha_grad(alpha: &[f64], pos: &[usize], xs: &[Vec<f64>], dy: &[f64]) -> Vec<f64> {
    let w = softmax(alpha);
    let mut g = vec![0.0; alpha.len()];
    for (j, x) in xs.iter().enumerate() {
        g[pos[j]] = x.iter().zip(dy).map(|(a, b)| a * b).sum();
    }
    let wg: f64 = w.iter().zip(&g).map(|(a, b)| a * b).sum();
    (0..alpha.len()).map(|i| w[i] * (g[i] - wg)).collect()
}

/// Per-coefficient sums of |dy * x_t| (0 without an operand): the scale of g's rounding.
pub fn abs_dots(k: usize, pos: &[usize], xs: &[Vec<f64>], dy: &[f64]) -> Vec<f64> {
    let mut s = vec![0.0; k];
    for (j, x) in xs.iter().enumerate() {
        s[pos[j]] = x.iter().zip(dy).map(|(a, b)| (a * b).abs()).sum();
    }
    s
}
