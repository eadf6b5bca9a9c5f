//! The WGSL `udiv` helper (shaders/udiv.wgsl) against Rust's u32 division: random dividends over
//! its whole range [0, 2^31), divisors from 1 to 2^30 - 1 (log-uniform), and dividends at and next to
//! multiples of the divisor, where a one-off error would show. Exact equality is required.

mod common;

use common::*;
use nasgpu::device::{Access, KernelDef, Launch, grid_1d};
use nasgpu::tensor::Tensor;
use rand::RngExt;

static UDIV_TEST: KernelDef = KernelDef {
    name: "udiv_test",
    source: concat!(
        include_str!("../shaders/udiv.wgsl"),
        r#"
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read_write> q: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i < arrayLength(&q) {
        q[i] = udiv(a[i], b[i], 1.0 / f32(b[i]));
    }
}
"#
    ),
    entry: "main",
    bindings: &[Access::Read, Access::Read, Access::ReadWrite],
};

#[test]
fn udiv_is_exact() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..200_000 {
        let d = (2f64.powf(r.random_range(0.0..30.0)) as u32).clamp(1, (1 << 30) - 1);
        let small = r.random_range(1..=64u32);
        for div in [d, small] {
            let x: u32 = r.random_range(0..1u32 << 31);
            let k = x / div;
            for v in [
                x,
                k * div,
                (k * div).saturating_sub(1),
                (k * div + (div - 1)).min(i32::MAX as u32),
            ] {
                a.push(v);
                b.push(div);
            }
        }
    }
    for v in [
        0,
        1,
        i32::MAX as u32,
        i32::MAX as u32 - 1,
        1 << 24,
        (1 << 24) + 1,
        1 << 30,
    ] {
        for div in [1u32, 2, 3, 7, 1000, (1 << 30) - 1] {
            a.push(v);
            b.push(div);
        }
    }
    let n = a.len();
    let at = Tensor::from_u32(&gpu, &[n], &a).unwrap();
    let bt = Tensor::from_u32(&gpu, &[n], &b).unwrap();
    let qt = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
    let launch = Launch::new(
        &gpu,
        &UDIV_TEST,
        &vec![],
        &[],
        &[at.binding(), bt.binding(), qt.binding()],
        grid_1d(&gpu, n, 256),
    );
    run(&gpu, &[&launch]);
    let q = qt.to_u32().unwrap();
    let bad: Vec<String> = (0..n)
        .filter(|&i| q[i] != a[i] / b[i])
        .take(8)
        .map(|i| format!("{} / {} = {}, gpu {}", a[i], b[i], a[i] / b[i], q[i]))
        .collect();
    assert!(
        bad.is_empty(),
        "udiv wrong (seed {seed}):\n{}",
        bad.join("\n")
    );
}
