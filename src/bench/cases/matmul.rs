//! Benchmark cases of the matmul kernels: a square sgemm sweep, the other variants this device
//! runs for comparison, and the shapes a NAS run produces (linear layers forward and
//! backward, the controller's LSTM gates, a batched product).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::matmul::{
    MatmulAlgo, MatmulSpec, default_algo, matmul_flops, matmul_with_algo, supports,
};
use crate::tensor::Tensor;

/// One product to time.
struct Shape {
    label: &'static str,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    spec: MatmulSpec,
    bias: bool,
}

const NT: MatmulSpec = MatmulSpec {
    trans_a: false,
    trans_b: false,
    accumulate: false,
};
const TA: MatmulSpec = MatmulSpec {
    trans_a: true,
    ..NT
};
const TB: MatmulSpec = MatmulSpec {
    trans_b: true,
    ..NT
};

fn square(label: &'static str, s: usize) -> Shape {
    Shape {
        label,
        batch: 1,
        m: s,
        n: s,
        k: s,
        spec: NT,
        bias: false,
    }
}

fn nas_shapes() -> Vec<Shape> {
    let s = |label, batch, m, n, k, spec, bias| Shape {
        label,
        batch,
        m,
        n,
        k,
        spec,
        bias,
    };
    vec![
        s("linear fwd 128x784·784x10+b", 1, 128, 10, 784, NT, true),
        s("linear dX 128x10·(784x10)ᵀ", 1, 128, 784, 10, TB, false),
        s("linear dW (128x784)ᵀ·128x10", 1, 784, 10, 128, TA, false),
        s(
            "hidden fwd 128x3136·3136x128+b",
            1,
            128,
            128,
            3136,
            NT,
            true,
        ),
        s(
            "hidden dX 128x128·(3136x128)ᵀ",
            1,
            128,
            3136,
            128,
            TB,
            false,
        ),
        s(
            "hidden dW (128x3136)ᵀ·128x128",
            1,
            3136,
            128,
            128,
            TA,
            false,
        ),
        s("lstm gates 1x35·35x140+b", 1, 1, 140, 35, NT, true),
        s("lstm gates 8x35·35x140+b", 1, 8, 140, 35, NT, true),
        s("batched 8x(128x128·128x128)", 8, 128, 128, 128, NT, false),
        s("512 A·Bᵀ", 1, 512, 512, 512, TB, false),
        s("512 Aᵀ·B", 1, 512, 512, 512, TA, false),
    ]
}

/// The matmul cases of the `nasgpu bench` table: each row is named after the variant that ran.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let best = default_algo(gpu);
    let mut plan: Vec<(Shape, MatmulAlgo)> = Vec::new();
    for (label, s) in [("sgemm 256", 256), ("sgemm 512", 512), ("sgemm 1024", 1024)] {
        plan.push((square(label, s), best));
    }
    plan.push((square("sgemm 2048", 2048), best));
    // The other variants on the same shapes, for ratios measured in the same run (the tiled
    // kernel takes seconds at 1024 on llvmpipe, so it stops at 512).
    for other in [
        MatmulAlgo::SUBGROUP64,
        MatmulAlgo::SUBGROUP,
        MatmulAlgo::TILED,
    ] {
        if other == best || !supports(gpu, other) {
            continue;
        }
        let mut sizes = vec![("sgemm 256", 256), ("sgemm 512", 512)];
        if other != MatmulAlgo::TILED {
            sizes.push(("sgemm 1024", 1024));
        }
        for (label, s) in sizes {
            plan.push((square(label, s), other));
        }
    }
    plan.extend(nas_shapes().into_iter().map(|s| (s, best)));
    plan.into_iter()
        .map(|(shape, algo)| case(gpu, &shape, algo))
        .collect()
}

fn case(gpu: &Arc<Gpu>, s: &Shape, algo: MatmulAlgo) -> Result<BenchCase, KernelError> {
    let with_batch = |r: usize, c: usize| {
        if s.batch > 1 {
            vec![s.batch, r, c]
        } else {
            vec![r, c]
        }
    };
    let a_shape = if s.spec.trans_a {
        with_batch(s.k, s.m)
    } else {
        with_batch(s.m, s.k)
    };
    let b_shape = if s.spec.trans_b {
        with_batch(s.n, s.k)
    } else {
        with_batch(s.k, s.n)
    };
    let a = Tensor::full(gpu, &a_shape, 0.5)?;
    let b = Tensor::full(gpu, &b_shape, -0.25)?;
    let c = Tensor::zeros(gpu, &with_batch(s.m, s.n))?;
    let bias = if s.bias {
        Some(Tensor::full(gpu, &[s.n], 0.125)?)
    } else {
        None
    };
    let launch = matmul_with_algo(gpu, &a, &b, bias.as_ref(), &c, s.spec, algo)?;
    let elements = s.batch * (s.m * s.k + s.k * s.n + s.m * s.n) + if s.bias { s.n } else { 0 };
    let mut keep = vec![a, b, c];
    keep.extend(bias);
    Ok(BenchCase {
        kernel: launch.name().to_string(),
        shape: s.label.to_string(),
        flops: matmul_flops(s.batch, s.m, s.n, s.k),
        bytes: (4 * elements) as f64,
        launches: vec![launch],
        keep,
    })
}
