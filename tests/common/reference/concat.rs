//! f64 references of the concat kernels.

/// Output shape [N, sum C, max H, max W].
pub fn output_shape(shapes: &[[usize; 4]]) -> [usize; 4] {
    [
        shapes[0][0],
        shapes.iter().map(|s| s[1]).sum(),
        shapes.iter().map(|s| s[2]).max().unwrap(),
        shapes.iter().map(|s| s[3]).max().unwrap(),
    ]
}

/// Each input zero-padded, centred (offsets floored), to the largest H and W, then
/// concatenated along channels.
pub fn concat_padded(inputs: &[Vec<f64>], shapes: &[[usize; 4]]) -> Vec<f64> {
    let [n, ct, hm, wm] = output_shape(shapes);
    let mut y = vec![0.0; n * ct * hm * wm];
    let mut c0 = 0;
    for (x, &[_, c, h, w]) in inputs.iter().zip(shapes) {
        let (dh, dw) = ((hm - h) / 2, (wm - w) / 2);
        for b in 0..n {
            for k in 0..c {
                for i in 0..h {
                    for j in 0..w {
                        y[((b * ct + c0 + k) * hm + i + dh) * wm + j + dw] =
                            x[((b * c + k) * h + i) * w + j];
                    }
                }
            }
        }
        c0 += c;
    }
    y
}

/// The slice of dy each input occupied.
pub fn concat_padded_backward(dy: &[f64], shapes: &[[usize; 4]]) -> Vec<Vec<f64>> {
    let [n, ct, hm, wm] = output_shape(shapes);
    let mut c0 = 0;
    let mut grads = Vec::new();
    for &[_, c, h, w] in shapes {
        let (dh, dw) = ((hm - h) / 2, (wm - w) / 2);
        let mut g = vec![0.0; n * c * h * w];
        for b in 0..n {
            for k in 0..c {
                for i in 0..h {
                    for j in 0..w {
                        g[((b * c + k) * h + i) * w + j] =
                            dy[((b * ct + c0 + k) * hm + i + dh) * wm + j + dw];
                    }
                }
            }
        }
        grads.push(g);
        c0 += c;
    }
    grads
}
