//! `copy_u32_into` (the controller's id gather): exact copies at an offset, the sentinel-filled rest
//! of the destination untouched, a copy large enough that `grid_1d` spreads it over y, and the
//! shape errors.

mod common;

use common::*;
use nasgpu::kernels::copy::copy_u32_into;
use nasgpu::tensor::Tensor;
use rand::RngExt;

const SENTINEL: u32 = 0xDEAD_BEEF;

fn check_copy(n: usize, offset: usize, extra: usize) {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let src: Vec<u32> = (0..n).map(|_| r.random_range(0..SENTINEL)).collect();
    let total = offset + n + extra;
    let src_t = Tensor::from_u32(&gpu, &[n], &src).unwrap();
    let dst_t = Tensor::from_u32(&gpu, &[total], &vec![SENTINEL; total]).unwrap();
    let launch = copy_u32_into(&gpu, &src_t, &dst_t, offset).unwrap();
    run(&gpu, &[&launch]);
    let got = dst_t.to_u32().unwrap();
    let mut want = vec![SENTINEL; total];
    want[offset..offset + n].copy_from_slice(&src);
    let first_bad = (0..total).find(|&i| got[i] != want[i]);
    assert!(
        first_bad.is_none(),
        "copy n={n} offset={offset} (seed {seed}): element {:?} is {:#x}, want {:#x}",
        first_bad,
        got[first_bad.unwrap()],
        want[first_bad.unwrap()]
    );
}

#[test]
fn copies_exactly_at_an_offset() {
    for (n, offset, extra) in [
        (1, 0, 0),
        (1, 5, 3),
        (63, 1, 1),
        (65, 64, 7),
        (1000, 333, 0),
    ] {
        check_copy(n, offset, extra);
    }
}

/// More than 65,535 workgroups of 64: the grid's y rows must continue where x stops.
#[test]
fn a_copy_spread_over_the_y_grid_copies_everything() {
    let gpu = gpu();
    let per_row = gpu.limits.max_compute_workgroups_per_dimension as usize * 64;
    check_copy(per_row + 4097, 3, 2);
}

#[test]
fn a_copy_that_does_not_fit_names_both_shapes() {
    let gpu = gpu();
    let src = Tensor::from_u32(&gpu, &[10], &[0; 10]).unwrap();
    let dst = Tensor::from_u32(&gpu, &[12], &[0; 12]).unwrap();
    let err = copy_u32_into(&gpu, &src, &dst, 3)
        .expect_err("an error")
        .to_string();
    assert!(
        err.contains("[10]") && err.contains("[12]") && err.contains("offset 3"),
        "{err}"
    );
}
