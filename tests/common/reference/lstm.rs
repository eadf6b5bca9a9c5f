//! f64 reference of the fused LSTM cell (gate order i, f, g, o) and of a chain of cells.

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// One step: (activated gates [B, 4H], c [B, H], h [B, H]).
pub fn cell(gates: &[f64], c_prev: &[f64], h: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let b = c_prev.len() / h;
    let mut act = vec![0.0; gates.len()];
    let (mut c, mut hs) = (vec![0.0; b * h], vec![0.0; b * h]);
    for r in 0..b {
        for j in 0..h {
            let base = r * 4 * h + j;
            let i = sigmoid(gates[base]);
            let f = sigmoid(gates[base + h]);
            let g = gates[base + 2 * h].tanh();
            let o = sigmoid(gates[base + 3 * h]);
            act[base..]
                .iter_mut()
                .step_by(h)
                .zip([i, f, g, o])
                .for_each(|(a, v)| *a = v);
            let idx = r * h + j;
            c[idx] = f * c_prev[idx] + i * g;
            hs[idx] = o * c[idx].tanh();
        }
    }
    (act, c, hs)
}

/// Analytic gradients of one step: (dgates [B, 4H], dc_prev [B, H]).
pub fn cell_backward(
    gates: &[f64],
    c_prev: &[f64],
    h: usize,
    dh: &[f64],
    dc: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (act, c, _) = cell(gates, c_prev, h);
    let b = c_prev.len() / h;
    let mut dgates = vec![0.0; gates.len()];
    let mut dc_prev = vec![0.0; b * h];
    for r in 0..b {
        for j in 0..h {
            let (base, idx) = (r * 4 * h + j, r * h + j);
            let (i, f, g, o) = (
                act[base],
                act[base + h],
                act[base + 2 * h],
                act[base + 3 * h],
            );
            let tc = c[idx].tanh();
            let gc = dc[idx] + dh[idx] * o * (1.0 - tc * tc);
            dgates[base] = gc * g * i * (1.0 - i);
            dgates[base + h] = gc * c_prev[idx] * f * (1.0 - f);
            dgates[base + 2 * h] = gc * i * (1.0 - g * g);
            dgates[base + 3 * h] = dh[idx] * tc * o * (1.0 - o);
            dc_prev[idx] = gc * f;
        }
    }
    (dgates, dc_prev)
}

/// Runs cells over steps (each with its own gates), returning every step's (c, h).
pub fn chain(gates: &[Vec<f64>], c0: &[f64], h: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut c = c0.to_vec();
    let mut out = Vec::new();
    for g in gates {
        let (_, cn, hn) = cell(g, &c, h);
        c = cn.clone();
        out.push((cn, hn));
    }
    out
}
