//! f64 references of the conv2d kernels: "same" padding (TF rule), NCHW, weights
//! [Cout, Cin, KH, KW]. The backward passes are written as the scatter of the forward sum, so
//! each is visibly the derivative of `forward`.

/// Sizes of one conv2d call.
#[derive(Debug, Clone, Copy)]
pub struct Conv {
    pub n: usize,
    pub cin: usize,
    pub cout: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
}

impl Conv {
    pub fn out_hw(&self) -> (usize, usize) {
        (self.h.div_ceil(self.sh), self.w.div_ceil(self.sw))
    }

    /// TF "same": pad_total = max((out - 1) * s + k - in, 0), pad_before = pad_total / 2.
    pub fn pad(&self) -> (usize, usize) {
        let (oh, ow) = self.out_hw();
        let ph = ((oh - 1) * self.sh + self.kh).saturating_sub(self.h) / 2;
        let pw = ((ow - 1) * self.sw + self.kw).saturating_sub(self.w) / 2;
        (ph, pw)
    }

    pub fn x_len(&self) -> usize {
        self.n * self.cin * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.cout * self.cin * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        let (oh, ow) = self.out_hw();
        self.n * self.cout * oh * ow
    }

    /// Calls `f(x index, w index, y index)` for every multiply-add of the forward conv.
    fn for_each_mac(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (oh, ow) = self.out_hw();
        let (ph, pw) = self.pad();
        for n in 0..self.n {
            for co in 0..self.cout {
                for y in 0..oh {
                    for x in 0..ow {
                        let yi = ((n * self.cout + co) * oh + y) * ow + x;
                        for ci in 0..self.cin {
                            for a in 0..self.kh {
                                let ih = (y * self.sh + a) as isize - ph as isize;
                                if ih < 0 || ih >= self.h as isize {
                                    continue;
                                }
                                for b in 0..self.kw {
                                    let iw = (x * self.sw + b) as isize - pw as isize;
                                    if iw < 0 || iw >= self.w as isize {
                                        continue;
                                    }
                                    let xi = ((n * self.cin + ci) * self.h + ih as usize) * self.w
                                        + iw as usize;
                                    let wi = ((co * self.cin + ci) * self.kh + a) * self.kw + b;
                                    f(xi, wi, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// y = conv(x, w) + bias.
    pub fn forward(&self, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
        let (oh, ow) = self.out_hw();
        let mut y = vec![0.0; self.y_len()];
        self.for_each_mac(|xi, wi, yi| y[yi] += x[xi] * w[wi]);
        if let Some(b) = bias {
            for (i, v) in y.iter_mut().enumerate() {
                *v += b[(i / (oh * ow)) % self.cout];
            }
        }
        y
    }

    /// dL/dx for upstream gradient dy.
    pub fn backward_data(&self, dy: &[f64], w: &[f64]) -> Vec<f64> {
        let mut dx = vec![0.0; self.x_len()];
        self.for_each_mac(|xi, wi, yi| dx[xi] += dy[yi] * w[wi]);
        dx
    }

    /// dL/dw for upstream gradient dy.
    pub fn backward_weights(&self, dy: &[f64], x: &[f64]) -> Vec<f64> {
        let mut dw = vec![0.0; self.w_len()];
        self.for_each_mac(|xi, wi, yi| dw[wi] += dy[yi] * x[xi]);
        dw
    }

    /// dL/dbias for upstream gradient dy.
    pub fn backward_bias(&self, dy: &[f64]) -> Vec<f64> {
        let (oh, ow) = self.out_hw();
        let mut db = vec![0.0; self.cout];
        for (i, v) in dy.iter().enumerate() {
            db[(i / (oh * ow)) % self.cout] += v;
        }
        db
    }

    /// Terms per output of each pass: forward, backward-data, backward-weights.
    pub fn terms(&self) -> (usize, usize, usize) {
        let (oh, ow) = self.out_hw();
        let data = self.cout * self.kh.div_ceil(self.sh) * self.kw.div_ceil(self.sw);
        (self.cin * self.kh * self.kw, data, self.n * oh * ow)
    }
}
