//! Benchmark cases of the conv2d kernels: NAS-sized layers (batch 64/128, 28x28/32x32, 24-64
//! channels, filters 1 to 7, a 1x7 and a stride-2 layer) for each pass at the algorithm chosen
//! by shape, and `conv2d_fwd_bwd` rows (all three passes; FLOPs counted as 3 forward passes).

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::conv2d::{
    Conv2dShape, Conv2dSpec, conv2d_backward_data, conv2d_backward_weights, conv2d_forward,
};
use crate::tensor::Tensor;

/// A benchmarked layer: batch, channels in and out, square input side, filter, stride, and
/// whether it also gets a forward+backward row.
struct Layer {
    n: usize,
    cin: usize,
    cout: usize,
    hw: usize,
    kernel: [usize; 2],
    stride: usize,
    fwd_bwd: bool,
}

const fn layer(
    n: usize,
    (cin, cout): (usize, usize),
    hw: usize,
    kernel: [usize; 2],
    stride: usize,
    fwd_bwd: bool,
) -> Layer {
    Layer {
        n,
        cin,
        cout,
        hw,
        kernel,
        stride,
        fwd_bwd,
    }
}

const LAYERS: [Layer; 7] = [
    layer(64, (48, 48), 32, [3, 3], 1, true),
    layer(128, (24, 24), 28, [3, 3], 1, true),
    layer(64, (36, 36), 32, [5, 5], 1, false),
    layer(64, (64, 64), 32, [1, 1], 1, true),
    layer(64, (48, 48), 32, [1, 7], 1, false),
    layer(64, (24, 24), 32, [7, 7], 1, false),
    layer(128, (48, 64), 28, [3, 3], 2, false),
];

/// The conv2d cases of the `nasgpu bench` table.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let mut out = Vec::new();
    for l in &LAYERS {
        let spec = Conv2dSpec {
            kernel: l.kernel,
            stride: [l.stride; 2],
        };
        let shape = Conv2dShape {
            n: l.n,
            cin: l.cin,
            cout: l.cout,
            in_hw: [l.hw; 2],
            spec,
        };
        let [oh, ow] = shape.out_hw();
        let x_shape = [l.n, l.cin, l.hw, l.hw];
        let y_shape = [l.n, l.cout, oh, ow];
        let w_shape = [l.cout, l.cin, l.kernel[0], l.kernel[1]];
        let x = Tensor::full(gpu, &x_shape, 0.5)?;
        let w = Tensor::full(gpu, &w_shape, 0.25)?;
        let b = Tensor::full(gpu, &[l.cout], 0.125)?;
        let y = Tensor::zeros(gpu, &y_shape)?;
        let dy = Tensor::full(gpu, &y_shape, -0.5)?;
        let dx = Tensor::zeros(gpu, &x_shape)?;
        let dw = Tensor::zeros(gpu, &w_shape)?;
        let label = format!(
            "n{} c{}->{} {}x{} k{}x{} s{}",
            l.n, l.cin, l.cout, l.hw, l.hw, l.kernel[0], l.kernel[1], l.stride
        );
        let flops = shape.flops();
        let f32s = |ts: &[&Tensor]| ts.iter().map(|t| t.bytes() as f64).sum::<f64>();
        let forward = conv2d_forward(gpu, &x, &w, Some(&b), &y, spec)?;
        let data = conv2d_backward_data(gpu, &dy, &w, &dx, spec)?;
        let weights = conv2d_backward_weights(gpu, &dy, &x, &dw, spec)?;
        if l.fwd_bwd {
            let mut all = conv2d_forward(gpu, &x, &w, Some(&b), &y, spec)?;
            all.extend(conv2d_backward_data(gpu, &dy, &w, &dx, spec)?);
            all.extend(conv2d_backward_weights(gpu, &dy, &x, &dw, spec)?);
            out.push(BenchCase {
                kernel: "conv2d_fwd_bwd".into(),
                shape: label.clone(),
                flops: 3.0 * flops,
                bytes: f32s(&[&x, &w, &b, &y]) + f32s(&[&dy, &w, &dx]) + f32s(&[&dy, &x, &dw]),
                launches: all,
                keep: vec![
                    x.clone(),
                    w.clone(),
                    b.clone(),
                    y.clone(),
                    dy.clone(),
                    dx.clone(),
                    dw.clone(),
                ],
            });
        }
        out.push(BenchCase {
            kernel: "conv2d_forward".into(),
            shape: label.clone(),
            flops,
            bytes: f32s(&[&x, &w, &b, &y]),
            launches: forward,
            keep: vec![x.clone(), w.clone(), b, y],
        });
        out.push(BenchCase {
            kernel: "conv2d_backward_data".into(),
            shape: label.clone(),
            flops,
            bytes: f32s(&[&dy, &w, &dx]),
            launches: data,
            keep: vec![dy.clone(), w, dx],
        });
        out.push(BenchCase {
            kernel: "conv2d_backward_weights".into(),
            shape: label,
            flops,
            bytes: f32s(&[&dy, &x, &dw]),
            launches: weights,
            keep: vec![dy, x, dw],
        });
    }
    Ok(out)
}
