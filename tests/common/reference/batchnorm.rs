//! f64 references of the batch-norm kernels. x is [N, C, HW] (HW = 1 for [N, C] inputs).

/// Index of element (b, c, s).
fn at(c_count: usize, hw: usize, b: usize, c: usize, s: usize) -> usize {
    (b * c_count + c) * hw + s
}

/// Per-channel batch mean and biased variance (two passes, f64).
pub fn stats(x: &[f64], n: usize, c: usize, hw: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (n * hw) as f64;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        for b in 0..n {
            for s in 0..hw {
                mean[ch] += x[at(c, hw, b, ch, s)];
            }
        }
        mean[ch] /= m;
        for b in 0..n {
            for s in 0..hw {
                var[ch] += (x[at(c, hw, b, ch, s)] - mean[ch]).powi(2);
            }
        }
        var[ch] /= m;
    }
    (mean, var)
}

/// y = gamma * (x - mean) / sqrt(var + eps) + beta with per-channel mean and var.
#[allow(clippy::too_many_arguments)]
pub fn normalize(
    x: &[f64],
    c: usize,
    hw: usize,
    mean: &[f64],
    var: &[f64],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / hw) % c;
            gamma[ch] * (v - mean[ch]) / (var[ch] + eps).sqrt() + beta[ch]
        })
        .collect()
}

/// Training-mode forward with batch statistics.
pub fn train_forward(
    x: &[f64],
    n: usize,
    c: usize,
    hw: usize,
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Vec<f64> {
    let (mean, var) = stats(x, n, c, hw);
    normalize(x, c, hw, &mean, &var, gamma, beta, eps)
}

/// Analytic gradients of the training forward: (dx, dgamma, dbeta).
pub fn backward(
    dy: &[f64],
    x: &[f64],
    n: usize,
    c: usize,
    hw: usize,
    gamma: &[f64],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mean, var) = stats(x, n, c, hw);
    let m = (n * hw) as f64;
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let mut dgamma = vec![0.0; c];
    let mut dbeta = vec![0.0; c];
    for (i, (&g, &v)) in dy.iter().zip(x).enumerate() {
        let ch = (i / hw) % c;
        dbeta[ch] += g;
        dgamma[ch] += g * (v - mean[ch]) * invstd[ch];
    }
    let dx = dy
        .iter()
        .zip(x)
        .enumerate()
        .map(|(i, (&g, &v))| {
            let ch = (i / hw) % c;
            let xhat = (v - mean[ch]) * invstd[ch];
            gamma[ch] * invstd[ch] * (g - dbeta[ch] / m - xhat * dgamma[ch] / m)
        })
        .collect();
    (dx, dgamma, dbeta)
}
