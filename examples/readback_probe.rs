use std::time::Instant;
fn main() {
    let gpu = nasgpu::device::Gpu::open(&Default::default()).unwrap();
    let mut r = nasgpu::util::seeded_rng(1);
    use nasgpu::nn::supernet::Supernet;
    let s = nasgpu::nn::supernet::EnasSupernet::new(&gpu, 12, 16, [1, 28, 28], 10, &mut r).unwrap();
    let ps = s.shared_parameters();
    println!(
        "{} tensors, {} values",
        ps.len(),
        ps.iter().map(|p| p.tensor.numel()).sum::<usize>()
    );
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0;
        for p in &ps {
            n += p.tensor.to_f32().unwrap().len();
        }
        println!(
            "read {n} values one tensor at a time: {:.3} s",
            t.elapsed().as_secs_f64()
        );
    }
}
