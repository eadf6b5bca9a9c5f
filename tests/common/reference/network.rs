//! The layers the whole-network references (`nb201_net.rs`, `darts_net.rs`, `enas_net.rs`) are
//! built of, in f64 on named parameters, counting the multiply-adds of their convs and
//! classifier (the networks' `forward_flops` must equal them). Each test adds, in its own
//! `impl Reference<'_, ItsNetwork>`, the walk of its architecture, written from the published
//! description rather than from the code under test.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::super::assert_close;
use super::super::network_check::Act;
use super::{batchnorm, concat, conv2d, elementwise as ew, grouped_conv::GConv, pool};

/// Batch-norm epsilon of every network (PyTorch's default).
const EPS: f64 = 1e-5;

/// A network description `net` evaluated on the parameters and running statistics `p`.
pub struct Reference<'a, N> {
    pub net: &'a N,
    p: &'a HashMap<String, Vec<f64>>,
    /// Batch statistics (training) or running statistics (evaluation) in the batch norms.
    train: bool,
    pub macs: usize,
    /// Largest |bias| + Σ|feature · weight| over the logits: the size of the terms a logit
    /// sums, to which its f32 error is proportional (cancellation leaves small logits of
    /// large terms).
    logit_scale: f64,
    /// The names looked up, so a test can tell the network holds no tensor the reference
    /// ignores.
    pub read: RefCell<HashSet<String>>,
}

impl<'a, N> Reference<'a, N> {
    pub fn new(net: &'a N, p: &'a HashMap<String, Vec<f64>>, train: bool) -> Self {
        Reference {
            net,
            p,
            train,
            macs: 0,
            logit_scale: 0.0,
            read: RefCell::new(HashSet::new()),
        }
    }

    pub fn param(&self, name: &str) -> &[f64] {
        self.read.borrow_mut().insert(name.to_string());
        self.p
            .get(name)
            .unwrap_or_else(|| panic!("no tensor named {name}"))
    }

    /// Dense conv of the weight `name`, "same" padding, no bias.
    pub fn conv(&mut self, x: &Act, name: &str, cout: usize, k: usize, stride: usize) -> Act {
        let [n, cin, h, w] = x.shape;
        let c = conv2d::Conv {
            n,
            cin,
            cout,
            h,
            w,
            kh: k,
            kw: k,
            sh: stride,
            sw: stride,
        };
        let (oh, ow) = c.out_hw();
        self.macs += n * cout * oh * ow * cin * k * k;
        Act {
            shape: [n, cout, oh, ow],
            data: c.forward(&x.data, self.param(name), None),
        }
    }

    /// Depthwise (groups = channels) or, with groups 1, a dense conv on a grid shifted by
    /// `shift`; both dilated by `dilation`.
    #[allow(clippy::too_many_arguments)]
    pub fn gconv(
        &mut self,
        x: &Act,
        name: &str,
        cout: usize,
        groups: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        shift: usize,
    ) -> Act {
        let [n, cin, h, w] = x.shape;
        let c = GConv {
            n,
            cin,
            cout,
            groups,
            h,
            w,
            kh: k,
            kw: k,
            sh: stride,
            sw: stride,
            dh: dilation,
            dw: dilation,
            shift,
        };
        let (oh, ow) = c.out_hw();
        self.macs += n * cout * oh * ow * (cin / groups) * k * k;
        Act {
            shape: [n, cout, oh, ow],
            data: c.forward(&x.data, self.param(name), None),
        }
    }

    /// Batch norm `name` (its gamma, beta and, in evaluation, running statistics).
    pub fn bn(&self, x: &Act, name: &str) -> Act {
        let [n, c, h, w] = x.shape;
        let gamma = self.param(&format!("{name}.gamma"));
        let beta = self.param(&format!("{name}.beta"));
        let data = if self.train {
            batchnorm::train_forward(&x.data, n, c, h * w, gamma, beta, EPS)
        } else {
            let mean = self.param(&format!("{name}.running_mean"));
            let var = self.param(&format!("{name}.running_var"));
            batchnorm::normalize(&x.data, c, h * w, mean, var, gamma, beta, EPS)
        };
        Act {
            shape: x.shape,
            data,
        }
    }

    pub fn relu(x: &Act) -> Act {
        Act {
            shape: x.shape,
            data: ew::relu(&x.data),
        }
    }

    pub fn add(a: &Act, b: &Act) -> Act {
        assert_eq!(a.shape, b.shape);
        Act {
            shape: a.shape,
            data: ew::add(&a.data, &b.data),
        }
    }

    /// k x k pooling, "same"; the average divides by the real pixels of each window
    /// (count_include_pad=False).
    pub fn pool(x: &Act, max: bool, k: usize, stride: usize) -> Act {
        let p = pool::Pool {
            max,
            kernel: [k, k],
            stride: [stride, stride],
            same: true,
        };
        let [n, c, h, w] = x.shape;
        let ([oh, ow], _) = p.geometry([h, w]);
        Act {
            shape: [n, c, oh, ow],
            data: p.forward(&x.data, x.shape).0,
        }
    }

    /// Channel concat, each input zero-padded to the largest height and width.
    pub fn concat(xs: &[Act]) -> Act {
        let shapes: Vec<[usize; 4]> = xs.iter().map(|a| a.shape).collect();
        let data: Vec<Vec<f64>> = xs.iter().map(|a| a.data.clone()).collect();
        Act {
            shape: concat::output_shape(&shapes),
            data: concat::concat_padded(&data, &shapes),
        }
    }

    /// ReLUConvBN: ReLU, the conv `{name}.conv`, the batch norm `{name}.bn`.
    pub fn relu_conv_bn(
        &mut self,
        x: &Act,
        name: &str,
        cout: usize,
        k: usize,
        stride: usize,
    ) -> Act {
        let y = self.conv(
            &Self::relu(x),
            &format!("{name}.conv.weight"),
            cout,
            k,
            stride,
        );
        self.bn(&y, &format!("{name}.bn"))
    }

    /// FactorizedReduce (DARTS' `operations.py`, ENAS' reductions): ReLU, stride-2 1x1 convs
    /// on the even grid and on the grid shifted by one pixel, concatenated (zero-padded to the
    /// larger), then BN.
    pub fn factorized_reduce(&mut self, x: &Act, name: &str, cout: usize) -> Act {
        let y = Self::relu(x);
        let a = self.conv(&y, &format!("{name}.conv_even.weight"), cout / 2, 1, 2);
        let b = self.gconv(
            &y,
            &format!("{name}.conv_shifted.weight"),
            cout - cout / 2,
            1,
            1,
            2,
            1,
            1,
        );
        self.bn(&Self::concat(&[a, b]), &format!("{name}.bn"))
    }

    /// The stem: a 3x3 conv to `cout` channels, then BN.
    pub fn stem(&mut self, image: &Act, cout: usize) -> Act {
        let y = self.conv(image, "stem.conv.weight", cout, 3, 1);
        self.bn(&y, "stem.bn")
    }

    /// Global average pooling, then the linear classifier; records the logits' term size.
    pub fn classifier(&mut self, x: &Act, classes: usize) -> Vec<f64> {
        let [n, ch, h, w] = x.shape;
        let pooled = pool::global_avg_pool(&x.data, h * w);
        self.macs += n * ch * classes;
        let wt = self.param("classifier.weight");
        let bias = self.param("classifier.bias");
        let mut logits = vec![0.0; n * classes];
        let mut scale: f64 = 0.0;
        for b in 0..n {
            for o in 0..classes {
                let terms = (0..ch).map(|i| pooled[b * ch + i] * wt[i * classes + o]);
                logits[b * classes + o] = bias[o] + terms.clone().sum::<f64>();
                scale = scale.max(bias[o].abs() + terms.map(f64::abs).sum::<f64>());
            }
        }
        self.logit_scale = scale;
        logits
    }

    /// The GPU's logits against these: atol 1e-5 scaled by the term size beyond 2 (a logit's
    /// f32 error grows with the terms it sums, a misrouted tensor is off by their size) +
    /// rtol 1e-4.
    pub fn assert_logits(&self, case: &str, seed: u64, got: &[f32], want: &[f64]) {
        let atol = 1e-5 * f64::max(1.0, self.logit_scale / 2.0);
        assert_close(
            &format!("{case} logits (term size {:.2})", self.logit_scale),
            seed,
            got,
            want,
            atol,
            1e-4,
        );
    }
}
