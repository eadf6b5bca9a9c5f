//! f64 references of the pool kernels, written as direct loops over windows (scatter form for
//! the backward, unlike the gather-form kernels).

/// A 2-D pooling configuration, mirroring `Pool2dSpec`.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    pub max: bool,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub same: bool,
}

impl Pool {
    /// Output size and padding before, per axis, for an input of `in_hw`.
    pub fn geometry(&self, in_hw: [usize; 2]) -> ([usize; 2], [usize; 2]) {
        let mut out = [0; 2];
        let mut pad = [0; 2];
        for d in 0..2 {
            let (i, k, s) = (in_hw[d], self.kernel[d], self.stride[d]);
            if self.same {
                out[d] = i.div_ceil(s);
                let total = ((out[d] - 1) * s + k).saturating_sub(i);
                pad[d] = total / 2;
            } else {
                out[d] = (i - k) / s + 1;
            }
        }
        (out, pad)
    }

    /// In-bounds input cells of window (oy, ox), row-major.
    fn cells(&self, in_hw: [usize; 2], oy: usize, ox: usize) -> Vec<(usize, usize)> {
        let (_, pad) = self.geometry(in_hw);
        let mut cells = Vec::new();
        for a in 0..self.kernel[0] {
            for b in 0..self.kernel[1] {
                let i = (oy * self.stride[0] + a) as isize - pad[0] as isize;
                let j = (ox * self.stride[1] + b) as isize - pad[1] as isize;
                if i >= 0 && j >= 0 && (i as usize) < in_hw[0] && (j as usize) < in_hw[1] {
                    cells.push((i as usize, j as usize));
                }
            }
        }
        cells
    }

    /// y and (for max) the argmax flat index into the input plane, first maximum on ties.
    pub fn forward(&self, x: &[f64], shape: [usize; 4]) -> (Vec<f64>, Vec<u32>) {
        let [n, c, h, w] = shape;
        let ([oh, ow], _) = self.geometry([h, w]);
        let mut y = Vec::with_capacity(n * c * oh * ow);
        let mut arg = Vec::with_capacity(n * c * oh * ow);
        for plane in 0..n * c {
            let xp = &x[plane * h * w..(plane + 1) * h * w];
            for oy in 0..oh {
                for ox in 0..ow {
                    let cells = self.cells([h, w], oy, ox);
                    if self.max {
                        let mut best = cells[0];
                        for &(i, j) in &cells {
                            if xp[i * w + j] > xp[best.0 * w + best.1] {
                                best = (i, j);
                            }
                        }
                        y.push(xp[best.0 * w + best.1]);
                        arg.push((best.0 * w + best.1) as u32);
                    } else {
                        let sum: f64 = cells.iter().map(|&(i, j)| xp[i * w + j]).sum();
                        y.push(sum / cells.len() as f64);
                    }
                }
            }
        }
        (y, arg)
    }

    /// dx for upstream dy: each window scatters its gradient to the cell it picked (max) or
    /// evenly to its in-bounds cells (avg).
    pub fn backward(&self, x: &[f64], shape: [usize; 4], dy: &[f64]) -> Vec<f64> {
        let [n, c, h, w] = shape;
        let ([oh, ow], _) = self.geometry([h, w]);
        let (_, arg) = self.forward(x, shape);
        let mut dx = vec![0.0; x.len()];
        for plane in 0..n * c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let o = (plane * oh + oy) * ow + ox;
                    if self.max {
                        dx[plane * h * w + arg[o] as usize] += dy[o];
                    } else {
                        let cells = self.cells([h, w], oy, ox);
                        for &(i, j) in &cells {
                            dx[plane * h * w + i * w + j] += dy[o] / cells.len() as f64;
                        }
                    }
                }
            }
        }
        dx
    }
}

/// Mean of each [h*w] plane of x [planes, hw].
pub fn global_avg_pool(x: &[f64], hw: usize) -> Vec<f64> {
    x.chunks(hw)
        .map(|p| p.iter().sum::<f64>() / hw as f64)
        .collect()
}
