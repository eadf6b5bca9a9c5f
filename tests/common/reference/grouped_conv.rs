//! f64 reference of the grouped conv kernels (depthwise when groups = channels, dense dilated
//! convs when groups = 1): NCHW, weights [Cout, Cin / groups, KH, KW], dilation, TF "same"
//! padding of the effective filter (k - 1) * d + 1, minus a grid shift. The backward passes are
//! the scatter of the forward sum, so each is visibly its derivative.

/// Sizes of one grouped conv call.
#[derive(Debug, Clone, Copy)]
pub struct GConv {
    pub n: usize,
    pub cin: usize,
    pub cout: usize,
    pub groups: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub shift: usize,
}

impl GConv {
    pub fn out_hw(&self) -> (usize, usize) {
        (self.h.div_ceil(self.sh), self.w.div_ceil(self.sw))
    }

    /// Signed padding before: TF "same" of the effective filter, minus the shift.
    pub fn pad(&self) -> (isize, isize) {
        let (oh, ow) = self.out_hw();
        let eh = (self.kh - 1) * self.dh + 1;
        let ew = (self.kw - 1) * self.dw + 1;
        let ph = ((oh - 1) * self.sh + eh).saturating_sub(self.h) / 2;
        let pw = ((ow - 1) * self.sw + ew).saturating_sub(self.w) / 2;
        (
            ph as isize - self.shift as isize,
            pw as isize - self.shift as isize,
        )
    }

    pub fn cpg_in(&self) -> usize {
        self.cin / self.groups
    }
    pub fn x_len(&self) -> usize {
        self.n * self.cin * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.cout * self.cpg_in() * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        let (oh, ow) = self.out_hw();
        self.n * self.cout * oh * ow
    }
    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.cin, self.h, self.w]
    }
    pub fn w_shape(&self) -> [usize; 4] {
        [self.cout, self.cpg_in(), self.kh, self.kw]
    }
    pub fn y_shape(&self) -> [usize; 4] {
        let (oh, ow) = self.out_hw();
        [self.n, self.cout, oh, ow]
    }

    /// Calls `f(x index, w index, y index)` for every multiply-add of the forward conv.
    fn for_each_mac(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (oh, ow) = self.out_hw();
        let (ph, pw) = self.pad();
        let cpg_out = self.cout / self.groups;
        for n in 0..self.n {
            for co in 0..self.cout {
                let g = co / cpg_out;
                for y in 0..oh {
                    for x in 0..ow {
                        let yi = ((n * self.cout + co) * oh + y) * ow + x;
                        for cg in 0..self.cpg_in() {
                            let ci = g * self.cpg_in() + cg;
                            for a in 0..self.kh {
                                let ih = (y * self.sh + a * self.dh) as isize - ph;
                                if ih < 0 || ih >= self.h as isize {
                                    continue;
                                }
                                for b in 0..self.kw {
                                    let iw = (x * self.sw + b * self.dw) as isize - pw;
                                    if iw < 0 || iw >= self.w as isize {
                                        continue;
                                    }
                                    let xi = ((n * self.cin + ci) * self.h + ih as usize) * self.w
                                        + iw as usize;
                                    let wi =
                                        ((co * self.cpg_in() + cg) * self.kh + a) * self.kw + b;
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

    /// Upper bounds on the terms per output of each pass: forward, backward-data, weights.
    pub fn terms(&self) -> (usize, usize, usize) {
        let (oh, ow) = self.out_hw();
        let cpg_out = self.cout / self.groups;
        (
            self.cpg_in() * self.kh * self.kw,
            cpg_out * self.kh * self.kw,
            self.n * oh * ow,
        )
    }
}
