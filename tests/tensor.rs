//! Device tensors: uploads and downloads round-trip exactly, including empty tensors.

mod common;

use common::gpu;
use nasgpu::tensor::Tensor;

#[test]
fn uploads_round_trip_exactly() {
    let gpu = gpu();
    let data: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) * 0.37).collect();
    assert_eq!(
        Tensor::from_f32(&gpu, &[7, 11, 13], &data)
            .unwrap()
            .to_f32()
            .unwrap(),
        data
    );
    let ids: Vec<u32> = (0..37).map(|i| i * 7919).collect();
    assert_eq!(
        Tensor::from_u32(&gpu, &[37], &ids)
            .unwrap()
            .to_u32()
            .unwrap(),
        ids
    );
}

#[test]
fn empty_tensors_download_as_empty() {
    let gpu = gpu();
    let t = Tensor::from_f32(&gpu, &[0, 3], &[]).unwrap();
    assert!(t.to_f32().unwrap().is_empty());
    let u = Tensor::from_u32(&gpu, &[0], &[]).unwrap();
    assert!(u.to_u32().unwrap().is_empty());
}

/// A launch keeps the tensors it binds: dropping them and allocating same-sized tensors (which
/// the pool would otherwise hand the same buffers to) does not change what the launch reads.
#[test]
fn launches_keep_their_tensors_alive() {
    use nasgpu::kernels::elementwise::{self, Binary};
    let gpu = gpu();
    let n = 1000;
    let a = Tensor::full(&gpu, &[n], 1.5).unwrap();
    let b = Tensor::full(&gpu, &[n], 2.0).unwrap();
    let out = Tensor::full(&gpu, &[n], f32::NAN).unwrap();
    let launch = elementwise::binary(&gpu, Binary::Add, &a, &b, &out).unwrap();
    drop((a, b));
    let decoys: Vec<Tensor> = (0..4)
        .map(|_| Tensor::full(&gpu, &[n], -7.0).unwrap())
        .collect();
    gpu.run(&[&launch]).unwrap();
    assert!(
        out.to_f32().unwrap().iter().all(|&v| v == 3.5),
        "the launch read a recycled buffer"
    );
    drop(decoys);
}

/// A lost device (here destroyed on purpose) is reported as such by the next sync, not as a
/// generic backend error or a hang.
#[test]
fn a_lost_device_is_reported_as_lost() {
    let gpu = nasgpu::device::Gpu::open(&Default::default()).expect("an adapter");
    let t = Tensor::from_f32(&gpu, &[4], &[1.0; 4]).unwrap();
    gpu.device.destroy();
    let err = gpu.sync().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("device lost"), "{err:?}");
    drop(t);
}
