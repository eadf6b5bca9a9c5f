//! Padded concatenation against an f64 reference with 1, 2, 5 and 12 inputs of mixed and of
//! identical sizes; the backward also against finite differences. The kernels only copy (or
//! write zeros), so results must match exactly: atol 0, rtol 0 (finite differences of this
//! linear map: atol 1e-8 for f64 rounding over h).

mod common;

use common::reference::concat as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::concat::{concat_output_shape, concat_padded_backward, concat_padded_forward};

/// What `check` ran: the seed, the inputs, dy and the GPU's input gradients.
struct Checked {
    seed: u64,
    xs: Vec<Vec<f64>>,
    dy: Vec<f64>,
    grads: Vec<Vec<f32>>,
}

/// Runs forward and backward on the GPU and checks both against the reference.
fn check(shapes: &[[usize; 4]]) -> Checked {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let xs: Vec<Vec<f64>> = shapes
        .iter()
        .map(|s| to_f64(&to_f32(&uniform(&mut r, s.iter().product()))))
        .collect();
    let out = cpu::output_shape(shapes);
    let dy = to_f64(&to_f32(&uniform(&mut r, out.iter().product())));
    let slices: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
    assert_eq!(concat_output_shape(&slices).unwrap(), out.to_vec());

    let xt: Vec<_> = xs
        .iter()
        .zip(shapes)
        .map(|(x, s)| upload(&gpu, s, x))
        .collect();
    let y = poisoned(&gpu, &out);
    let dyt = upload(&gpu, &out, &dy);
    let grads: Vec<_> = shapes.iter().map(|s| poisoned(&gpu, s)).collect();
    let fwd = concat_padded_forward(&gpu, &xt.iter().collect::<Vec<_>>(), &y).unwrap();
    let bwd = concat_padded_backward(&gpu, &dyt, &grads.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(fwd.len(), shapes.len());
    run(&gpu, &fwd.iter().chain(&bwd).collect::<Vec<_>>());

    let case = format!("{shapes:?}");
    assert_close(
        &case,
        seed,
        &download(&y),
        &cpu::concat_padded(&xs, shapes),
        0.0,
        0.0,
    );
    let want = cpu::concat_padded_backward(&dy, shapes);
    let got: Vec<Vec<f32>> = grads.iter().map(download).collect();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close(&format!("{case} backward input {i}"), seed, g, w, 0.0, 0.0);
    }
    Checked {
        seed,
        xs,
        dy,
        grads: got,
    }
}

#[test]
fn one_input_is_a_copy() {
    check(&[[2, 3, 5, 5]]);
    check(&[[1, 1, 1, 1]]);
}

#[test]
fn two_inputs_of_mixed_sizes() {
    // Odd size differences: the centring offset is floored.
    check(&[[2, 3, 7, 7], [2, 1, 4, 6]]);
    check(&[[2, 1, 4, 6], [2, 3, 7, 7]]);
}

#[test]
fn five_inputs_mixed_and_identical() {
    check(&[
        [1, 2, 8, 8],
        [1, 1, 3, 3],
        [1, 3, 8, 5],
        [1, 1, 1, 1],
        [1, 2, 6, 8],
    ]);
    check(&[[2, 4, 6, 6]; 5]);
}

/// A NAS child may concatenate ten or more layers: one launch per input, no binding limit.
#[test]
fn twelve_inputs() {
    let shapes: Vec<[usize; 4]> = (0..12)
        .map(|i| [3, 1 + i % 4, 5 + (i * 7) % 9, 4 + (i * 5) % 11])
        .collect();
    check(&shapes);
}

#[test]
fn backward_matches_finite_differences() {
    let shapes = [[1, 2, 5, 4], [1, 1, 2, 3], [1, 1, 4, 1]];
    let Checked {
        seed,
        xs,
        dy,
        grads: got,
    } = check(&shapes);
    for i in 0..shapes.len() {
        let fd = finite_difference(
            |xi| {
                let mut all = xs.clone();
                all[i] = xi.to_vec();
                dot(&dy, &cpu::concat_padded(&all, &shapes))
            },
            &xs[i],
            1e-6,
        );
        assert_close(
            &format!("{shapes:?} input {i} vs finite differences"),
            seed,
            &got[i],
            &fd,
            1e-8,
            0.0,
        );
    }
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let gpu = gpu();
    let a = poisoned(&gpu, &[2, 3, 4, 4]);
    let b = poisoned(&gpu, &[3, 1, 4, 4]);
    let y = poisoned(&gpu, &[2, 4, 4, 4]);
    let shape_message = |r: Result<Vec<nasgpu::device::Launch>, KernelError>| match r {
        Err(KernelError::Shape { message, .. }) => message,
        other => panic!("expected a shape error, got {other:?}"),
    };
    let m = shape_message(concat_padded_forward(&gpu, &[&a, &b], &y));
    assert!(
        m.contains("[2, 3, 4, 4]") && m.contains("[3, 1, 4, 4]"),
        "{m}"
    );
    let c = poisoned(&gpu, &[2, 1, 5, 3]);
    let m = shape_message(concat_padded_forward(&gpu, &[&a, &c], &y));
    assert!(
        m.contains("[2, 4, 5, 4]") && m.contains("[2, 4, 4, 4]"),
        "{m}"
    );
    shape_message(concat_padded_forward(&gpu, &[], &y));
    let flat = poisoned(&gpu, &[2, 3]);
    shape_message(concat_padded_backward(&gpu, &y, &[&flat]));
    assert!(concat_output_shape(&[&[2, 3, 4, 4], &[2, 1, 4]]).is_err());
    assert!(matches!(
        concat_padded_forward(&gpu, &[&a], &a),
        Err(KernelError::Argument { .. })
    ));
}
