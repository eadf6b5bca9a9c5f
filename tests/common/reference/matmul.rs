//! f64 reference of the matmul kernels: C = op(A)·op(B) (+ bias) (+ C0), row-major, batched.

/// Problem size and transposes, as the kernel sees them.
#[derive(Debug, Clone, Copy)]
pub struct Problem {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
}

impl Problem {
    /// Stored shape of A: `[M, K]` or `[K, M]` when transposed (with the batch in front if > 1
    /// or `batched`).
    pub fn a_shape(&self, batched: bool) -> Vec<usize> {
        let s = if self.trans_a {
            [self.k, self.m]
        } else {
            [self.m, self.k]
        };
        self.with_batch(&s, batched)
    }
    pub fn b_shape(&self, batched: bool) -> Vec<usize> {
        let s = if self.trans_b {
            [self.n, self.k]
        } else {
            [self.k, self.n]
        };
        self.with_batch(&s, batched)
    }
    pub fn c_shape(&self, batched: bool) -> Vec<usize> {
        self.with_batch(&[self.m, self.n], batched)
    }
    fn with_batch(&self, s: &[usize; 2], batched: bool) -> Vec<usize> {
        if batched {
            vec![self.batch, s[0], s[1]]
        } else {
            s.to_vec()
        }
    }
    /// op(A)[i][k] of batch z.
    pub fn a_at(&self, a: &[f64], z: usize, i: usize, k: usize) -> f64 {
        let base = z * self.m * self.k;
        if self.trans_a {
            a[base + k * self.m + i]
        } else {
            a[base + i * self.k + k]
        }
    }
    /// op(B)[k][j] of batch z.
    pub fn b_at(&self, b: &[f64], z: usize, k: usize, j: usize) -> f64 {
        let base = z * self.k * self.n;
        if self.trans_b {
            b[base + j * self.k + k]
        } else {
            b[base + k * self.n + j]
        }
    }
}

/// C = op(A)·op(B) (+ bias) (+ c0), each sum over k in f64.
pub fn matmul(
    p: &Problem,
    a: &[f64],
    b: &[f64],
    bias: Option<&[f64]>,
    c0: Option<&[f64]>,
) -> Vec<f64> {
    let mut c = vec![0.0; p.batch * p.m * p.n];
    for z in 0..p.batch {
        for i in 0..p.m {
            for j in 0..p.n {
                let mut s: f64 = (0..p.k)
                    .map(|k| p.a_at(a, z, i, k) * p.b_at(b, z, k, j))
                    .sum();
                if let Some(bias) = bias {
                    s += bias[j];
                }
                let idx = (z * p.m + i) * p.n + j;
                if let Some(c0) = c0 {
                    s += c0[idx];
                }
                c[idx] = s;
            }
        }
    }
    c
}
