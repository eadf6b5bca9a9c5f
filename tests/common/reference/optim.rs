//! f64 references of the optimiser updates (PyTorch semantics), one step at a time, in place.

/// One SGD step: g = grad + wd*param; v = momentum*v + g (skipped when momentum is 0);
/// step = nesterov ? g + momentum*v : v; param -= lr*step.
pub fn sgd_step(
    param: &mut [f64],
    grad: &[f64],
    velocity: &mut [f64],
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
) {
    for i in 0..param.len() {
        let g = grad[i] + weight_decay * param[i];
        let step = if momentum == 0.0 {
            g
        } else {
            velocity[i] = momentum * velocity[i] + g;
            if nesterov {
                g + momentum * velocity[i]
            } else {
                velocity[i]
            }
        };
        param[i] -= lr * step;
    }
}

/// One Adam step at 1-based step `t` (torch.optim.Adam, weight decay added to the gradient).
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    param: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    lr: f64,
    t: u32,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
) {
    let (b1, b2) = betas;
    let bias1 = 1.0 - b1.powi(t as i32);
    let bias2 = 1.0 - b2.powi(t as i32);
    for i in 0..param.len() {
        let g = grad[i] + weight_decay * param[i];
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        let denom = v[i].sqrt() / bias2.sqrt() + eps;
        param[i] -= lr / bias1 * m[i] / denom;
    }
}
