//! Benchmark cases of the grouped conv kernels at NAS sizes (batch 64, 16-64 channels, 32x32 and
//! 16x16 maps): the depthwise convs of DARTS/ENAS sep_conv 3x3/5x5 and dil_conv 3x3/5x5 (also
//! a 7x7 and a stride-2 one), a dense dilated conv, and the shifted 1x1 stride-2 conv of the
//! factorized reduction, each pass separately. Depthwise convs do few FLOPs per byte: the table
//! shows both GFLOPS and GB/s.

use std::sync::Arc;

use crate::bench::BenchCase;
use crate::device::Gpu;
use crate::kernels::KernelError;
use crate::kernels::conv2d_grouped::{
    GroupedConvSpec, grouped_conv2d_backward_data, grouped_conv2d_backward_weights,
    grouped_conv2d_flops, grouped_conv2d_forward,
};
use crate::tensor::Tensor;

/// A benchmarked layer: batch, channels in and out, square side, and the spec.
struct Layer {
    n: usize,
    cin: usize,
    cout: usize,
    hw: usize,
    spec: GroupedConvSpec,
}

fn depthwise(n: usize, c: usize, hw: usize, k: usize, s: usize, d: usize) -> Layer {
    Layer {
        n,
        cin: c,
        cout: c,
        hw,
        spec: GroupedConvSpec::depthwise(c, [k, k], [s, s], [d, d]),
    }
}

fn layers() -> Vec<Layer> {
    vec![
        depthwise(64, 32, 32, 3, 1, 1),
        depthwise(64, 64, 16, 3, 1, 1),
        depthwise(64, 32, 32, 5, 1, 1),
        depthwise(64, 16, 32, 7, 1, 1),
        depthwise(64, 32, 32, 3, 1, 2),
        depthwise(64, 64, 16, 5, 1, 2),
        depthwise(64, 32, 32, 3, 2, 1),
        Layer {
            n: 64,
            cin: 32,
            cout: 32,
            hw: 32,
            spec: GroupedConvSpec::dilated([3, 3], [1, 1], [2, 2]),
        },
        Layer {
            n: 64,
            cin: 32,
            cout: 16,
            hw: 32,
            spec: GroupedConvSpec {
                kernel: [1, 1],
                stride: [2, 2],
                dilation: [1, 1],
                groups: 1,
                shift: [1, 1],
            },
        },
    ]
}

/// The grouped conv cases of the `nasgpu bench` table.
pub fn cases(gpu: &Arc<Gpu>) -> Result<Vec<BenchCase>, KernelError> {
    let mut out = Vec::new();
    for l in layers() {
        let spec = l.spec;
        let [oh, ow] = spec.output_hw([l.hw; 2]);
        let x_shape = [l.n, l.cin, l.hw, l.hw];
        let y_shape = [l.n, l.cout, oh, ow];
        let w_shape = spec.weight_shape(l.cin, l.cout);
        let x = Tensor::full(gpu, &x_shape, 0.5)?;
        let w = Tensor::full(gpu, &w_shape, 0.25)?;
        let b = Tensor::full(gpu, &[l.cout], 0.125)?;
        let y = Tensor::zeros(gpu, &y_shape)?;
        let dy = Tensor::full(gpu, &y_shape, -0.5)?;
        let dx = Tensor::zeros(gpu, &x_shape)?;
        let dw = Tensor::zeros(gpu, &w_shape)?;
        let kind = if spec.groups == l.cin && spec.groups > 1 {
            "depthwise"
        } else {
            "dense"
        };
        let label = format!(
            "{kind} n{} c{}->{} {}x{} k{}x{} s{} d{}{}",
            l.n,
            l.cin,
            l.cout,
            l.hw,
            l.hw,
            spec.kernel[0],
            spec.kernel[1],
            spec.stride[0],
            spec.dilation[0],
            if spec.shift[0] > 0 { " shift1" } else { "" }
        );
        let flops = grouped_conv2d_flops(l.n, l.cin, l.cout, [l.hw; 2], &spec);
        let f32s = |ts: &[&Tensor]| ts.iter().map(|t| t.bytes() as f64).sum::<f64>();
        out.push(BenchCase {
            kernel: "conv2d_grouped_forward".into(),
            shape: label.clone(),
            flops,
            bytes: f32s(&[&x, &w, &b, &y]),
            launches: grouped_conv2d_forward(gpu, &x, &w, Some(&b), &y, spec)?,
            keep: vec![x.clone(), w.clone(), b, y],
        });
        out.push(BenchCase {
            kernel: "conv2d_grouped_backward_data".into(),
            shape: label.clone(),
            flops,
            bytes: f32s(&[&dy, &w, &dx]),
            launches: grouped_conv2d_backward_data(gpu, &dy, &w, &dx, spec)?,
            keep: vec![dy.clone(), w, dx],
        });
        out.push(BenchCase {
            kernel: "conv2d_grouped_backward_weights".into(),
            shape: label,
            flops,
            bytes: f32s(&[&dy, &x, &dw]),
            launches: grouped_conv2d_backward_weights(gpu, &dy, &x, &dw, spec)?,
            keep: vec![dy, x, dw],
        });
    }
    Ok(out)
}
