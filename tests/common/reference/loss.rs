//! f64 references of the loss kernels. `None` labels are padding samples (IGNORE_LABEL).

/// Row-wise softmax of an `[n, k]` matrix (max subtracted).
pub fn softmax(z: &[f64], k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(z.len());
    for row in z.chunks(k) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        out.extend(row.iter().map(|v| (v - m).exp() / s));
    }
    out
}

/// Log-sum-exp of one row.
pub fn logsumexp(row: &[f64]) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Per-sample cross-entropy: lse(row) - z[label]; 0 for padding samples.
pub fn cross_entropy(z: &[f64], k: usize, labels: &[Option<usize>]) -> Vec<f64> {
    z.chunks(k)
        .zip(labels)
        .map(|(row, l)| l.map_or(0.0, |l| logsumexp(row) - row[l]))
        .collect()
}

/// dlogits = dloss * (softmax - onehot); 0 rows for padding samples.
pub fn cross_entropy_backward(
    z: &[f64],
    k: usize,
    labels: &[Option<usize>],
    dloss: &[f64],
) -> Vec<f64> {
    let p = softmax(z, k);
    let mut out = vec![0.0; z.len()];
    for (n, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            for j in 0..k {
                let onehot = if j == *l { 1.0 } else { 0.0 };
                out[n * k + j] = dloss[n] * (p[n * k + j] - onehot);
            }
        }
    }
    out
}

/// Index of the first maximum of each row (NaN never wins; an all-NaN row gives 0).
pub fn argmax(z: &[f64], k: usize) -> Vec<u32> {
    z.chunks(k)
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if !v.is_nan() && (row[best].is_nan() || v > row[best]) {
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

/// (sum of losses over valid samples, correct argmax predictions, valid samples).
pub fn metrics(losses: &[f64], z: &[f64], k: usize, labels: &[Option<usize>]) -> [f64; 3] {
    let pred = argmax(z, k);
    let mut m = [0.0; 3];
    for (n, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            m[0] += losses[n];
            m[1] += (pred[n] as usize == *l) as u8 as f64;
            m[2] += 1.0;
        }
    }
    m
}
