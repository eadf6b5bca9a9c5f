//! f64 references of the elementwise kernels.

pub fn relu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.max(0.0)).collect()
}
pub fn sigmoid(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect()
}
pub fn tanh(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.tanh()).collect()
}
pub fn scale(x: &[f64], alpha: f64) -> Vec<f64> {
    x.iter().map(|&v| alpha * v).collect()
}
pub fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}
pub fn mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}
