//! Every differentiable op of the tape, and composed graphs (conv -> batch norm -> relu -> pool ->
//! linear -> cross-entropy; concatenation with padding; a 2-layer LSTM unrolled over 3 steps),
//! against central finite differences of an f64 reference. See `common/gradcheck.rs` for the
//! check and its tolerances.

mod common;

use common::gradcheck::{Ids, Input, check};
use common::reference::{
    batchnorm, concat, conv2d, elementwise as ew, embedding, loss, lstm, matmul, pool, reduce,
    sample,
};
use common::*;
use nasgpu::autograd::{Graph, Value, ops};
use nasgpu::kernels::conv2d::Conv2dSpec;
use nasgpu::kernels::pool::{Pool2dSpec, PoolKind};

const EPS: f64 = 1e-5;

#[test]
fn matmul_all_transposes_bias_and_batch() {
    let gpu = gpu();
    for (ta, tb, bias, batch) in [
        (false, false, true, 1),
        (true, false, false, 1),
        (false, true, false, 1),
        (true, true, false, 1),
        (false, false, false, 2),
        (true, true, false, 3),
        (false, false, true, 2),
    ] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let p = matmul::Problem {
            batch,
            m: 3,
            n: 5,
            k: 4,
            trans_a: ta,
            trans_b: tb,
        };
        let batched = batch > 1;
        let mut inputs = vec![
            Input::random("a", &p.a_shape(batched), true, &mut r),
            Input::random("b", &p.b_shape(batched), true, &mut r),
        ];
        if bias {
            inputs.push(Input::random("bias", &[5], true, &mut r));
        }
        let case = format!("matmul ta={ta} tb={tb} bias={bias} batch={batch}");
        check(
            &case,
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                if bias {
                    assert!(!ta && !tb, "bias is tested with the linear layer's layout");
                    ops::linear(g, v[0], v[1], Some(v[2]))
                } else {
                    ops::matmul(g, v[0], v[1], ta, tb)
                }
            },
            &|d: &[Vec<f64>]| {
                matmul::matmul(&p, &d[0], &d[1], d.get(2).map(|b| b.as_slice()), None)
            },
        );
    }
}

#[test]
fn conv2d_strides_odd_sizes_and_non_square_filters() {
    let gpu = gpu();
    for (kh, kw, sh, sw, bias, cin, cout) in [
        (3, 3, 2, 2, true, 3, 4),
        (1, 7, 1, 1, false, 2, 3),
        (5, 3, 3, 1, true, 1, 2),
    ] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let c = conv2d::Conv {
            n: 2,
            cin,
            cout,
            h: 7,
            w: 6,
            kh,
            kw,
            sh,
            sw,
        };
        let spec = Conv2dSpec {
            kernel: [kh, kw],
            stride: [sh, sw],
        };
        let mut inputs = vec![
            Input::random("x", &[2, cin, 7, 6], true, &mut r),
            Input::random("w", &[cout, cin, kh, kw], true, &mut r),
        ];
        if bias {
            inputs.push(Input::random("b", &[cout], true, &mut r));
        }
        check(
            &format!("conv2d {kh}x{kw} s{sh}x{sw} bias={bias}"),
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                ops::conv2d(g, v[0], v[1], v.get(2).copied(), spec)
            },
            &|d: &[Vec<f64>]| c.forward(&d[0], &d[1], d.get(2).map(|b| b.as_slice())),
        );
    }
}

#[test]
fn batch_norm_training_mode() {
    let gpu = gpu();
    for shape in [vec![3, 4, 3, 2], vec![5, 3]] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let (n, c) = (shape[0], shape[1]);
        let hw: usize = shape[2..].iter().product();
        let inputs = vec![
            Input::random("x", &shape, true, &mut r),
            Input::random("gamma", &[c], true, &mut r),
            Input::random("beta", &[c], true, &mut r),
        ];
        let running = ops::RunningStats {
            mean: nasgpu::tensor::Tensor::zeros(&gpu, &[c]).unwrap(),
            var: nasgpu::tensor::Tensor::full(&gpu, &[c], 1.0).unwrap(),
        };
        let spec = nasgpu::kernels::batchnorm::BatchNormSpec {
            eps: EPS as f32,
            momentum: 0.1,
        };
        check(
            &format!("batch norm {shape:?}"),
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                ops::batch_norm_train(g, v[0], v[1], v[2], &running, spec)
            },
            &|d: &[Vec<f64>]| batchnorm::train_forward(&d[0], n, c, hw, &d[1], &d[2], EPS),
        );
    }
}

#[test]
fn pooling_max_avg_and_global() {
    let gpu = gpu();
    let shape = [2usize, 3, 7, 5];
    for (max, k, s, same) in [
        (true, 3, 2, true),
        (false, 2, 2, false),
        (true, 2, 3, false),
        (false, 3, 1, true),
    ] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let inputs = vec![Input::random("x", &shape, true, &mut r)];
        let spec = Pool2dSpec {
            kind: if max { PoolKind::Max } else { PoolKind::Avg },
            kernel: [k, k],
            stride: [s, s],
            same_padding: same,
        };
        let reference = pool::Pool {
            max,
            kernel: [k, k],
            stride: [s, s],
            same,
        };
        check(
            &format!("pool max={max} {k}x{k} s{s} same={same}"),
            seed,
            &gpu,
            &inputs,
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| ops::pool2d(g, v[0], spec),
            &|d: &[Vec<f64>]| reference.forward(&d[0], shape).0,
        );
    }
    let seed = fresh_seed();
    let mut r = rng(seed);
    check(
        "global average pool",
        seed,
        &gpu,
        &[Input::random("x", &shape, true, &mut r)],
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| ops::global_avg_pool(g, v[0]),
        &|d: &[Vec<f64>]| pool::global_avg_pool(&d[0], 35),
    );
}

#[test]
fn concatenation_with_zero_padding() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let shapes = [[2usize, 2, 5, 5], [2, 3, 3, 3], [2, 1, 4, 2]];
    let inputs: Vec<Input> = ["a", "b", "c"]
        .iter()
        .zip(&shapes)
        .map(|(n, s)| Input::random(n, s, true, &mut r))
        .collect();
    check(
        "concat_padded 5x5 + 3x3 + 4x2",
        seed,
        &gpu,
        &inputs,
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| ops::concat_padded(g, v),
        &|d: &[Vec<f64>]| concat::concat_padded(d, &shapes),
    );
}

#[test]
fn reductions_over_an_axis() {
    let gpu = gpu();
    for (axis, mean) in [(0usize, false), (1, true), (2, false)] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let shape = [3usize, 4, 5];
        check(
            &format!("reduce axis {axis} mean={mean}"),
            seed,
            &gpu,
            &[Input::random("x", &shape, true, &mut r)],
            &[],
            &|g: &mut Graph, v: &[Value], _: &[Value]| {
                if mean {
                    ops::mean_axis(g, v[0], axis)
                } else {
                    ops::sum_axis(g, v[0], axis)
                }
            },
            &|d: &[Vec<f64>]| reduce::reduce_axis(&d[0], &shape, axis, mean),
        );
    }
}

#[test]
fn cross_entropy_with_an_ignored_label() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let labels = vec![2u32, 0, u32::MAX, 4, 4];
    let as_options: Vec<Option<usize>> = labels
        .iter()
        .map(|&l| (l != u32::MAX).then_some(l as usize))
        .collect();
    check(
        "mean softmax cross-entropy",
        seed,
        &gpu,
        &[Input::random("logits", &[5, 6], true, &mut r)],
        &[Ids {
            shape: vec![5],
            data: labels,
        }],
        &|g: &mut Graph, v: &[Value], ids: &[Value]| Ok(ops::cross_entropy_mean(g, v[0], ids[0])?.0),
        &|d: &[Vec<f64>]| {
            vec![
                loss::cross_entropy(&d[0], 6, &as_options)
                    .iter()
                    .sum::<f64>()
                    / 5.0,
            ]
        },
    );
}

#[test]
fn embedding_with_repeated_ids() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let ids = vec![3u32, 0, 3, 5, 1, 3];
    let ids_ref = ids.clone();
    check(
        "embedding",
        seed,
        &gpu,
        &[Input::random("table", &[6, 4], true, &mut r)],
        &[Ids {
            shape: vec![6],
            data: ids,
        }],
        &|g: &mut Graph, v: &[Value], i: &[Value]| ops::embedding(g, v[0], i[0]),
        &|d: &[Vec<f64>]| embedding::forward(&d[0], 4, &ids_ref),
    );
}

#[test]
fn lstm_cell_hidden_and_cell_outputs() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (b, h) = (2usize, 3usize);
    let inputs = vec![
        Input::random("gates", &[b, 4 * h], true, &mut r),
        Input::random("c_prev", &[b, h], true, &mut r),
    ];
    // Both outputs feed the loss: y = h * 1.5 + c (through separate ops, so both gradients flow).
    check(
        "lstm cell",
        seed,
        &gpu,
        &inputs,
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| {
            let (hh, cc) = ops::lstm_cell(g, v[0], v[1])?;
            let hh = ops::scale(g, hh, 1.5);
            ops::add(g, hh, cc)
        },
        &|d: &[Vec<f64>]| {
            let (_, c, hs) = lstm::cell(&d[0], &d[1], h);
            ew::add(&ew::scale(&hs, 1.5), &c)
        },
    );
}

#[test]
fn controller_log_probabilities_and_entropies() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let actions = vec![1u32, 0, 0, 1, 1];
    let a_ref = actions.clone();
    check(
        "bernoulli log-prob",
        seed,
        &gpu,
        &[Input::random("z", &[5], true, &mut r)],
        &[Ids {
            shape: vec![5],
            data: actions,
        }],
        &|g: &mut Graph, v: &[Value], i: &[Value]| ops::bernoulli_log_prob(g, v[0], i[0]),
        &|d: &[Vec<f64>]| sample::bernoulli_log_prob(&d[0], &a_ref),
    );
    check(
        "categorical entropy",
        seed,
        &gpu,
        &[Input::random("logits", &[3, 4], true, &mut r)],
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| ops::categorical_entropy(g, v[0]),
        &|d: &[Vec<f64>]| sample::categorical_entropy(&d[0], 4),
    );
    check(
        "bernoulli entropy",
        seed,
        &gpu,
        &[Input::random("z", &[6], true, &mut r)],
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| ops::bernoulli_entropy(g, v[0]),
        &|d: &[Vec<f64>]| sample::bernoulli_entropy(&d[0]),
    );
}

/// conv 3x3 s1 -> batch norm -> relu -> max pool 2x2 s2 -> flatten -> linear -> mean CE.
#[test]
fn composed_cnn_classifier() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (n, cin, cout, hw, classes) = (3usize, 2usize, 3usize, 6usize, 4usize);
    let inputs = vec![
        Input::random("x", &[n, cin, hw, hw], true, &mut r),
        Input::random("w", &[cout, cin, 3, 3], true, &mut r),
        Input::random("gamma", &[cout], true, &mut r),
        Input::random("beta", &[cout], true, &mut r),
        Input::random("fc_w", &[cout * 9, classes], true, &mut r),
        Input::random("fc_b", &[classes], true, &mut r),
    ];
    let labels = vec![1u32, 3, 0];
    let label_opts: Vec<Option<usize>> = labels.iter().map(|&l| Some(l as usize)).collect();
    let running = ops::RunningStats {
        mean: nasgpu::tensor::Tensor::zeros(&gpu, &[cout]).unwrap(),
        var: nasgpu::tensor::Tensor::full(&gpu, &[cout], 1.0).unwrap(),
    };
    let bn = nasgpu::kernels::batchnorm::BatchNormSpec {
        eps: EPS as f32,
        momentum: 0.1,
    };
    let conv = conv2d::Conv {
        n,
        cin,
        cout,
        h: hw,
        w: hw,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
    };
    let mp = pool::Pool {
        max: true,
        kernel: [2, 2],
        stride: [2, 2],
        same: false,
    };
    check(
        "conv -> bn -> relu -> maxpool -> linear -> cross-entropy",
        seed,
        &gpu,
        &inputs,
        &[Ids {
            shape: vec![n],
            data: labels,
        }],
        &|g: &mut Graph, v: &[Value], ids: &[Value]| {
            let y = ops::conv2d(
                g,
                v[0],
                v[1],
                None,
                Conv2dSpec {
                    kernel: [3, 3],
                    stride: [1, 1],
                },
            )?;
            let y = ops::batch_norm_train(g, y, v[2], v[3], &running, bn)?;
            let y = ops::relu(g, y);
            let y = ops::pool2d(
                g,
                y,
                Pool2dSpec {
                    kind: PoolKind::Max,
                    kernel: [2, 2],
                    stride: [2, 2],
                    same_padding: false,
                },
            )?;
            let y = g.reshape(y, &[n, cout * 9])?;
            let logits = ops::linear(g, y, v[4], Some(v[5]))?;
            Ok(ops::cross_entropy_mean(g, logits, ids[0])?.0)
        },
        &|d: &[Vec<f64>]| {
            let y = conv.forward(&d[0], &d[1], None);
            let y = batchnorm::train_forward(&y, n, cout, hw * hw, &d[2], &d[3], EPS);
            let y = ew::relu(&y);
            let (y, _) = mp.forward(&y, [n, cout, hw, hw]);
            let p = matmul::Problem {
                batch: 1,
                m: n,
                n: classes,
                k: cout * 9,
                trans_a: false,
                trans_b: false,
            };
            let logits = matmul::matmul(&p, &y, &d[4], Some(&d[5]), None);
            vec![
                loss::cross_entropy(&logits, classes, &label_opts)
                    .iter()
                    .sum::<f64>()
                    / n as f64,
            ]
        },
    );
}

/// Two branches at different resolutions joined by padded concatenation, as skip connections are.
#[test]
fn composed_skip_connection_graph() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (n, c, hw) = (2usize, 2usize, 5usize);
    let inputs = vec![
        Input::random("x", &[n, c, hw, hw], true, &mut r),
        Input::random("w_full", &[3, c, 3, 3], true, &mut r),
        Input::random("w_half", &[2, c, 1, 3], true, &mut r),
    ];
    let full = conv2d::Conv {
        n,
        cin: c,
        cout: 3,
        h: hw,
        w: hw,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
    };
    let half = conv2d::Conv {
        n,
        cin: c,
        cout: 2,
        h: hw,
        w: hw,
        kh: 1,
        kw: 3,
        sh: 2,
        sw: 2,
    };
    check(
        "two resolutions -> concat_padded -> tanh -> global pool",
        seed,
        &gpu,
        &inputs,
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| {
            let a = ops::conv2d(
                g,
                v[0],
                v[1],
                None,
                Conv2dSpec {
                    kernel: [3, 3],
                    stride: [1, 1],
                },
            )?;
            let b = ops::conv2d(
                g,
                v[0],
                v[2],
                None,
                Conv2dSpec {
                    kernel: [1, 3],
                    stride: [2, 2],
                },
            )?;
            let y = ops::concat_padded(g, &[a, b])?;
            let y = ops::tanh(g, y);
            ops::global_avg_pool(g, y)
        },
        &|d: &[Vec<f64>]| {
            let a = full.forward(&d[0], &d[1], None);
            let b = half.forward(&d[0], &d[2], None);
            let y = concat::concat_padded(&[a, b], &[[n, 3, hw, hw], [n, 2, 3, 3]]);
            pool::global_avg_pool(&ew::tanh(&y), hw * hw)
        },
    );
}

/// nn::layers::Lstm (2 layers) unrolled over 3 steps; the loss reads every step's top output.
#[test]
fn composed_lstm_unrolled_over_three_steps() {
    use nasgpu::nn::Binder;
    use nasgpu::nn::init::Init;
    use nasgpu::nn::layers::Lstm;
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (b, input, hidden, steps) = (2usize, 3usize, 4usize, 3usize);
    let mut host_rng = nasgpu::util::seeded_rng(seed);
    let lstm = Lstm::new(
        &gpu,
        "lstm",
        input,
        hidden,
        2,
        Init::Uniform(0.5),
        &mut host_rng,
    )
    .unwrap();
    let weights: Vec<Vec<f64>> = lstm
        .parameters()
        .iter()
        .map(|p| to_f64(&download(&p.tensor)))
        .collect();
    let shapes: Vec<Vec<usize>> = lstm
        .parameters()
        .iter()
        .map(|p| p.tensor.shape().to_vec())
        .collect();
    let names = [
        "w_input0",
        "w_hidden0",
        "bias0",
        "w_input1",
        "w_hidden1",
        "bias1",
    ];
    let mut inputs: Vec<Input> = (0..steps)
        .map(|_| Input::random("x_t", &[b, input], true, &mut r))
        .collect();
    for ((name, shape), data) in names.iter().zip(&shapes).zip(&weights) {
        inputs.push(Input {
            name,
            shape: shape.clone(),
            data: data.clone(),
            grad: true,
        });
    }
    check(
        "2-layer LSTM unrolled over 3 steps",
        seed,
        &gpu,
        &inputs,
        &[],
        &|g: &mut Graph, v: &[Value], _: &[Value]| {
            // Bind the layer's parameters to this graph's checked inputs, then run the real layer.
            let mut binder = Binder::new();
            for (k, p) in lstm.parameters().into_iter().enumerate() {
                binder.bind_to(p, v[steps + k]);
            }
            let mut state = lstm.zero_state(g, b)?;
            let mut outs = Vec::new();
            for &x in &v[..steps] {
                let (h, next) = lstm.step(g, &mut binder, x, &state)?;
                state = next;
                outs.push(h);
            }
            let sum01 = ops::add(g, outs[0], outs[1])?;
            ops::add(g, sum01, outs[2])
        },
        &|d: &[Vec<f64>]| {
            let w = &d[steps..];
            let mut hs = vec![vec![0.0; b * hidden]; 2];
            let mut cs = vec![vec![0.0; b * hidden]; 2];
            let mut total = vec![0.0; b * hidden];
            for step_input in &d[..steps] {
                let mut x = step_input.clone();
                for l in 0..2 {
                    let fan_in = if l == 0 { input } else { hidden };
                    let p_in = matmul::Problem {
                        batch: 1,
                        m: b,
                        n: 4 * hidden,
                        k: fan_in,
                        trans_a: false,
                        trans_b: false,
                    };
                    let p_h = matmul::Problem {
                        batch: 1,
                        m: b,
                        n: 4 * hidden,
                        k: hidden,
                        trans_a: false,
                        trans_b: false,
                    };
                    let from_x = matmul::matmul(&p_in, &x, &w[3 * l], Some(&w[3 * l + 2]), None);
                    let gates = matmul::matmul(&p_h, &hs[l], &w[3 * l + 1], None, Some(&from_x));
                    let (_, c, h) = lstm::cell(&gates, &cs[l], hidden);
                    cs[l] = c;
                    hs[l] = h.clone();
                    x = h;
                }
                total = ew::add(&total, &x);
            }
            total
        },
    );
}
