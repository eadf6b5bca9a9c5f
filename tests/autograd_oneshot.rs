//! The one-shot search ops through the autograd graph (planned forward and backward) against
//! central finite differences of an f64 reference: depthwise and dilated convs, the DARTS mixed
//! op with a `none` operand and a zero op, the ENAS masked node, the plain sum, the
//! ReLU-sepconv-BN units (sep_conv, dil_conv) and the factorized reduction. Tolerances of
//! `common/gradcheck.rs`.

mod common;

use common::gradcheck::{Ids, Input, check};
use common::reference::grouped_conv::GConv;
use common::reference::{batchnorm, elementwise as ew, weighted_sum as wsr};
use common::*;
use nasgpu::autograd::{Graph, Value, ops};
use nasgpu::kernels::batchnorm::BatchNormSpec;
use nasgpu::tensor::Tensor;

const EPS: f64 = 1e-5;

fn bn_spec() -> BatchNormSpec {
    BatchNormSpec {
        eps: EPS as f32,
        momentum: 0.1,
    }
}

fn running(c: usize) -> ops::RunningStats {
    let gpu = gpu();
    ops::RunningStats {
        mean: Tensor::zeros(&gpu, &[c]).unwrap(),
        var: Tensor::full(&gpu, &[c], 1.0).unwrap(),
    }
}

#[allow(clippy::too_many_arguments)]
fn gconv(
    n: usize,
    (cin, cout, groups): (usize, usize, usize),
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    s: usize,
    d: usize,
    shift: usize,
) -> GConv {
    GConv {
        n,
        cin,
        cout,
        groups,
        h,
        w,
        kh,
        kw,
        sh: s,
        sw: s,
        dh: d,
        dw: d,
        shift,
    }
}

#[test]
fn depthwise_and_dilated_convs_with_bias() {
    let gpu = gpu();
    for (c, depthwise) in [
        (gconv(2, (3, 3, 3), (6, 5), (3, 3), 2, 2, 0), true),
        (gconv(1, (2, 2, 2), (7, 7), (5, 5), 1, 2, 0), true),
        (gconv(2, (2, 3, 1), (6, 6), (3, 3), 1, 2, 0), false),
    ] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let inputs = vec![
            Input::random("x", &c.x_shape(), true, &mut r),
            Input::random("w", &c.w_shape(), true, &mut r),
            Input::random("b", &[c.cout], true, &mut r),
        ];
        check(
            &format!("grouped conv {c:?}"),
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                let (s, d) = ([c.sh, c.sw], [c.dh, c.dw]);
                if depthwise {
                    ops::depthwise_conv2d(g, v[0], v[1], Some(v[2]), s, d)
                } else {
                    ops::dilated_conv2d(g, v[0], v[1], Some(v[2]), s, d)
                }
            },
            &|d: &[Vec<f64>]| c.forward(&d[0], &d[1], Some(&d[2])),
        );
    }
}

#[test]
fn darts_mixed_op_with_none_and_zero_operands() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let shape = [2, 3, 4, 5];
    let inputs = vec![
        Input::random("alpha", &[5], true, &mut r),
        Input::random("x1", &shape, true, &mut r),
        Input::random("x2", &shape, true, &mut r),
        Input::random("x3", &shape, true, &mut r),
    ];
    // Coefficient 0 is `none` (absent), 1 a zero op on x1; x1 also feeds coefficient 2.
    check(
        "softmax weighted sum",
        seed,
        &gpu,
        &inputs,
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| {
            let z = ops::zero(g, v[1], [1, 1])?;
            let xs = [None, Some(z), Some(v[1]), Some(v[2]), Some(v[3])];
            ops::softmax_weighted_sum(g, &xs, v[0])
        },
        &|d: &[Vec<f64>]| {
            let w = wsr::softmax(&d[0]);
            wsr::weighted_sum(&w, &[2, 3, 4], &d[1..], d[1].len())
        },
    );
}

#[test]
fn enas_masked_node_and_plain_sum() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let shape = [2, 2, 3, 3];
    let inputs = vec![
        Input::random("x0", &shape, true, &mut r),
        Input::random("x1", &shape, true, &mut r),
        Input::random("x2", &shape, true, &mut r),
    ];
    let mask = vec![1u32, 0, 1];
    check(
        "masked sum",
        seed,
        &gpu,
        &inputs,
        &[Ids {
            shape: vec![3],
            data: mask,
        }],
        &|g: &mut Graph, v: &[Value], ids: &[Value]| {
            let y = ops::masked_sum(g, v, ids[0])?;
            // A plain sum on top, with x0 twice.
            let same = ops::identity(g, v[0]);
            ops::sum_n(g, &[y, v[0], same])
        },
        &|d: &[Vec<f64>]| {
            (0..d[0].len())
                .map(|i| d[0][i] + d[2][i] + 2.0 * d[0][i])
                .collect()
        },
    );
}

#[test]
fn zero_op_is_strided_zeros() {
    let gpu = gpu();
    let mut g = Graph::new(&gpu);
    let x = g.input(&Tensor::full(&gpu, &[2, 3, 7, 8], 1.0).unwrap(), "x");
    let z = ops::zero(&mut g, x, [2, 3]).unwrap();
    assert_eq!(g.shape(z), [2, 3, 4, 3]);
    let plan = nasgpu::autograd::Plan::compile(&g, &[z]).unwrap();
    plan.run_all().unwrap();
    assert_eq!(download(plan.tensor(z).unwrap()), vec![0.0; 2 * 3 * 12]);
}

/// f64 ReLU -> depthwise -> 1x1 -> batch norm.
fn unit_reference(
    x: &[f64],
    dw: &GConv,
    d: &[f64],
    p: &[f64],
    cout: usize,
    gamma: &[f64],
    beta: &[f64],
) -> Vec<f64> {
    let y = dw.forward(&ew::relu(x), d, None);
    let (oh, ow) = dw.out_hw();
    let pw = gconv(dw.n, (dw.cout, cout, 1), (oh, ow), (1, 1), 1, 1, 0);
    let y = pw.forward(&y, p, None);
    batchnorm::train_forward(&y, dw.n, cout, oh * ow, gamma, beta, EPS)
}

#[test]
fn sep_conv_two_units_and_dil_conv() {
    let gpu = gpu();
    let (n, c, hw) = (2, 3, 6);
    // sep_conv_3x3 stride 2, 3 -> 4 channels.
    {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let inputs = vec![
            Input::random("x", &[n, c, hw, hw], true, &mut r),
            Input::random("dw1", &[c, 1, 3, 3], true, &mut r),
            Input::random("pw1", &[c, c, 1, 1], true, &mut r),
            Input::random("g1", &[c], true, &mut r),
            Input::random("b1", &[c], true, &mut r),
            Input::random("dw2", &[c, 1, 3, 3], true, &mut r),
            Input::random("pw2", &[4, c, 1, 1], true, &mut r),
            Input::random("g2", &[4], true, &mut r),
            Input::random("b2", &[4], true, &mut r),
        ];
        let (r1, r2) = (running(c), running(4));
        check(
            "sep_conv 3x3 stride 2",
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                let unit = |i: usize, running: &ops::RunningStats| ops::SepConvUnit {
                    depthwise: v[i],
                    pointwise: v[i + 1],
                    gamma: v[i + 2],
                    beta: v[i + 3],
                    running: running.clone(),
                    bn: bn_spec(),
                };
                ops::sep_conv(g, v[0], &[unit(1, &r1), unit(5, &r2)], [2, 2])
            },
            &|d: &[Vec<f64>]| {
                let dw1 = gconv(n, (c, c, c), (hw, hw), (3, 3), 2, 1, 0);
                let y = unit_reference(&d[0], &dw1, &d[1], &d[2], c, &d[3], &d[4]);
                let dw2 = gconv(n, (c, c, c), (3, 3), (3, 3), 1, 1, 0);
                unit_reference(&y, &dw2, &d[5], &d[6], 4, &d[7], &d[8])
            },
        );
    }
    // dil_conv_5x5 stride 1 (dilation 2), 3 -> 2 channels.
    let seed = fresh_seed();
    let mut r = rng(seed);
    let inputs = vec![
        Input::random("x", &[n, c, 7, 7], true, &mut r),
        Input::random("dw", &[c, 1, 5, 5], true, &mut r),
        Input::random("pw", &[2, c, 1, 1], true, &mut r),
        Input::random("g", &[2], true, &mut r),
        Input::random("b", &[2], true, &mut r),
    ];
    let r1 = running(2);
    check(
        "dil_conv 5x5",
        seed,
        &gpu,
        &inputs,
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| {
            let unit = ops::SepConvUnit {
                depthwise: v[1],
                pointwise: v[2],
                gamma: v[3],
                beta: v[4],
                running: r1.clone(),
                bn: bn_spec(),
            };
            ops::dil_conv(g, v[0], &unit, [1, 1])
        },
        &|d: &[Vec<f64>]| {
            let dw = gconv(n, (c, c, c), (7, 7), (5, 5), 1, 2, 0);
            unit_reference(&d[0], &dw, &d[1], &d[2], 2, &d[3], &d[4])
        },
    );
}

#[test]
fn factorized_reduction_on_even_and_odd_sizes() {
    let gpu = gpu();
    for (h, w) in [(6, 6), (5, 7)] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let (n, c, c1, c2) = (2, 4, 3, 2);
        let inputs = vec![
            Input::random("x", &[n, c, h, w], true, &mut r),
            Input::random("w1", &[c1, c, 1, 1], true, &mut r),
            Input::random("w2", &[c2, c, 1, 1], true, &mut r),
            Input::random("gamma", &[c1 + c2], true, &mut r),
            Input::random("beta", &[c1 + c2], true, &mut r),
        ];
        let rs = running(c1 + c2);
        check(
            &format!("factorized reduce {h}x{w}"),
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                let p = ops::FactorizedReduce {
                    w1: v[1],
                    w2: v[2],
                    gamma: v[3],
                    beta: v[4],
                    running: rs.clone(),
                    bn: bn_spec(),
                };
                ops::factorized_reduce(g, v[0], &p)
            },
            &|d: &[Vec<f64>]| {
                let x = ew::relu(&d[0]);
                let a = gconv(n, (c, c1, 1), (h, w), (1, 1), 2, 1, 0).forward(&x, &d[1], None);
                let b = gconv(n, (c, c2, 1), (h, w), (1, 1), 2, 1, 1).forward(&x, &d[2], None);
                let (oh, ow) = (h.div_ceil(2), w.div_ceil(2));
                let plane = oh * ow;
                let mut y = Vec::new();
                for i in 0..n {
                    y.extend_from_slice(&a[i * c1 * plane..(i + 1) * c1 * plane]);
                    y.extend_from_slice(&b[i * c2 * plane..(i + 1) * c2 * plane]);
                }
                batchnorm::train_forward(&y, n, c1 + c2, plane, &d[3], &d[4], EPS)
            },
        );
    }
}
