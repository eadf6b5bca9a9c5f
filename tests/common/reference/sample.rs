//! f64 references of the controller kernels, and the exact f32 replay of the categorical rule.

use super::loss::softmax;

/// Row-wise softmax of logits / temperature.
pub fn softmax_with_temperature(z: &[f64], k: usize, temperature: f64) -> Vec<f64> {
    let scaled: Vec<f64> = z.iter().map(|v| v / temperature).collect();
    softmax(&scaled, k)
}

/// The categorical rule as the kernel runs it (f32 sums in index order), so results must match
/// bit for bit: smallest k with cumsum > u, else the last category with non-zero probability.
pub fn categorical_rule(probs: &[f32], k: usize, uniforms: &[f32]) -> Vec<u32> {
    probs
        .chunks(k)
        .zip(uniforms)
        .map(|(row, &u)| {
            let mut cum = 0.0f32;
            let mut last_nonzero = 0;
            for (j, &q) in row.iter().enumerate() {
                cum += q;
                if q > 0.0 {
                    last_nonzero = j as u32;
                }
                if cum > u {
                    return j as u32;
                }
            }
            last_nonzero
        })
        .collect()
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// log(1 + exp(z)) without overflow.
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// log P(a) under Bernoulli(sigmoid(z)).
pub fn bernoulli_log_prob(z: &[f64], a: &[u32]) -> Vec<f64> {
    z.iter()
        .zip(a)
        .map(|(&z, &a)| if a != 0 { -softplus(-z) } else { -softplus(z) })
        .collect()
}

/// -sum p log p of softmax rows (0 log 0 = 0).
pub fn categorical_entropy(z: &[f64], k: usize) -> Vec<f64> {
    softmax(z, k)
        .chunks(k)
        .map(|row| {
            -row.iter()
                .map(|&p| if p > 0.0 { p * p.ln() } else { 0.0 })
                .sum::<f64>()
        })
        .collect()
}

/// Entropy of Bernoulli(sigmoid(z)), in the stable softplus form.
pub fn bernoulli_entropy(z: &[f64]) -> Vec<f64> {
    z.iter()
        .map(|&z| sigmoid(z) * softplus(-z) + sigmoid(-z) * softplus(z))
        .collect()
}
