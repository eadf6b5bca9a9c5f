//! Parameter initialisers, drawn on the host from a seeded generator and uploaded once.

use std::sync::Arc;

use rand::RngExt;

use crate::device::{DeviceError, Gpu};
use crate::tensor::Tensor;
use crate::util::SeededRng;

/// How to fill a new parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// He/Kaiming normal for layers followed by relu: N(0, 2 / fan_in).
    HeNormal {
        fan_in: usize,
    },
    /// He/Kaiming uniform: U(-b, b) with b = sqrt(6 / fan_in).
    HeUniform {
        fan_in: usize,
    },
    /// U(-a, a) (the controller uses a = 0.08).
    Uniform(f32),
    Constant(f32),
}

/// Draws values for `n` elements.
pub fn values(init: Init, n: usize, rng: &mut SeededRng) -> Vec<f32> {
    match init {
        Init::HeNormal { fan_in } => {
            let std = (2.0 / fan_in.max(1) as f64).sqrt();
            (0..n).map(|_| (normal(rng) * std) as f32).collect()
        }
        Init::HeUniform { fan_in } => {
            let b = (6.0 / fan_in.max(1) as f64).sqrt() as f32;
            (0..n).map(|_| rng.random_range(-b..b)).collect()
        }
        Init::Uniform(a) => (0..n).map(|_| rng.random_range(-a..a)).collect(),
        Init::Constant(c) => vec![c; n],
    }
}

/// A standard normal draw (Box-Muller; one of the pair is enough here).
pub fn normal(rng: &mut SeededRng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A device tensor of `shape` filled by `init`.
pub fn tensor(
    gpu: &Arc<Gpu>,
    shape: &[usize],
    init: Init,
    rng: &mut SeededRng,
) -> Result<Tensor, DeviceError> {
    Tensor::from_f32(gpu, shape, &values(init, shape.iter().product(), rng))
}
