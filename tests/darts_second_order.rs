//! Second-order (unrolled) DARTS on the NAS-Bench-201 supernet: its kernels against f64
//! references; the architecture gradient against central finite differences of the unrolled
//! objective alpha -> L_val(w - xi (momentum v_buf + dL_train(w, alpha)/dw + wd w), alpha)
//! evaluated through the engine's own forward and backward; xi = 0 giving the first-order
//! gradient bit for bit; the shared weights untouched by the step; and reproducibility.

mod common;

use std::sync::Arc;

use common::*;
use nasgpu::autograd::ops::cross_entropy_mean;
use nasgpu::autograd::{Graph, Plan, Value};
use nasgpu::data::{self, DeviceDataset};
use nasgpu::device::Gpu;
use nasgpu::kernels::darts_unrolled as k;
use nasgpu::kernels::optim::{StepScalars, step_scalars_tensor, write_step_scalars};
use nasgpu::nn::supernet::{ALPHA_SHAPE, AlphaRow, ArchWeights, MixedSupernet, Nb201Supernet};
use nasgpu::nn::train::{
    ArchConfig, ArchOrder, DartsTrainer, HVP_RADIUS, Schedule, TrainConfig, gather,
};
use nasgpu::nn::{Binder, Nb201Network};
use nasgpu::tensor::Tensor;
use rand::RngExt;

fn shape(channels: usize) -> Nb201Network {
    Nb201Network {
        genotype: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
            .parse()
            .unwrap(),
        cells_per_stage: 1,
        channels,
    }
}

fn bundled(gpu: &Arc<Gpu>) -> (Arc<DeviceDataset>, [usize; 3], usize) {
    let tt = data::bundled().unwrap();
    let device =
        Arc::new(DeviceDataset::upload(gpu, &tt.train, &tt.train.channel_stats()).unwrap());
    (device, tt.train.image_shape, tt.train.classes as usize)
}

/// 128 random images of `image_shape` with random labels of 5 classes, on the device: few
/// pixels, so few ReLUs whose kinks the finite differences could cross.
fn tiny(
    gpu: &Arc<Gpu>,
    seed: u64,
    image_shape: [usize; 3],
) -> (Arc<DeviceDataset>, [usize; 3], usize) {
    let mut r = rng(seed ^ 0x7111);
    let n = 128;
    let pixels = (0..n * image_shape.iter().product::<usize>())
        .map(|_| r.random_range(0..=255u8))
        .collect();
    let labels = (0..n).map(|_| r.random_range(0..5u32)).collect();
    let set = data::Dataset::new("tiny", pixels, labels, image_shape, 5).unwrap();
    let device = Arc::new(DeviceDataset::upload(gpu, &set, &set.channel_stats()).unwrap());
    (device, image_shape, 5)
}

fn config(batch: usize, learning_rate: f32, schedule: Schedule, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 4,
        batch,
        learning_rate,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 5e-4,
        schedule,
        seed,
        augment: data::Augment::NONE,
        grad_clip: 0.0,
    }
}

/// A trainer of an N = 1 supernet of `channels` channels from `seed`, weight steps over images
/// 0..n_train and architecture steps over the next n_valid.
fn trainer(
    gpu: &Arc<Gpu>,
    data: &Arc<DeviceDataset>,
    (input, classes): ([usize; 3], usize),
    (channels, n_train, n_valid): (usize, u32, u32),
    cfg: TrainConfig,
    order: ArchOrder,
) -> DartsTrainer<Nb201Supernet> {
    let mut rng = nasgpu::util::seeded_rng(cfg.seed);
    let supernet = Nb201Supernet::new(gpu, &shape(channels), input, classes, &mut rng).unwrap();
    let alpha = ArchWeights::new(gpu, ALPHA_SHAPE, &mut rng).unwrap();
    let ids = (
        (0..n_train).collect(),
        (n_train..n_train + n_valid).collect(),
    );
    let arch = ArchConfig {
        order,
        ..ArchConfig::default()
    };
    DartsTrainer::new(gpu, supernet, alpha, data, ids, cfg, arch).unwrap()
}

fn poison(t: &Tensor) {
    t.write_f32(&vec![f32::NAN; t.numel()]);
}

fn f32_bits(t: &Tensor) -> Vec<u32> {
    download(t).iter().map(|v| v.to_bits()).collect()
}

fn weights_bits(t: &DartsTrainer<Nb201Supernet>) -> Vec<Vec<u32>> {
    t.supernet
        .parameters()
        .iter()
        .map(|p| f32_bits(&p.tensor))
        .collect()
}

fn alpha_rows(values: &[f64]) -> [AlphaRow; 6] {
    std::array::from_fn(|e| std::array::from_fn(|o| values[e * 5 + o] as f32))
}

/// Relative L2 distance of `got` from `want`.
fn relative_l2(got: &[f32], want: &[f64]) -> f64 {
    let diff: f64 = got
        .iter()
        .zip(want)
        .map(|(&g, w)| (g as f64 - w).powi(2))
        .sum();
    (diff / want.iter().map(|w| w * w).sum::<f64>()).sqrt()
}

/// Each kernel of the unrolled step against an f64 reference of its f32 inputs (uniform in
/// [-2, 2]; outputs poisoned), at sizes 1, 63, 257 and 5000 (one element, below and above the
/// 64-wide and 256-wide workgroups, many strided passes). The virtual step, the perturbation
/// and the combination are two or three f32 roundings of O(1) terms: atol 1e-6, rtol 1e-6. The
/// sum of squares (64 strided partial sums of up to 79 terms, then two fixed levels of 8) and
/// the norm and eps derived from it: rtol 2e-5 (bound ~(79 + 16) f32 roundings relative).
#[test]
fn unrolled_kernels_match_f64_references() {
    let gpu = gpu();
    let seed = fresh_seed();
    eprintln!("seed {seed}");
    let mut r = rng(seed);
    let scalars = step_scalars_tensor(&gpu).unwrap();
    let lr = 0.37f32;
    write_step_scalars(&scalars, StepScalars::new(lr, 3));
    let sizes = [1usize, 63, 257, 5000];
    let partials = poisoned(&gpu, &[sizes.len()]);
    let mut vs = Vec::new();
    for (slot, &n) in sizes.iter().enumerate() {
        let case = format!("n = {n}");
        let (w, g, vel) = (uniform(&mut r, n), uniform(&mut r, n), uniform(&mut r, n));
        let (wt, gt, vt) = (
            upload(&gpu, &[n], &w),
            upload(&gpu, &[n], &g),
            upload(&gpu, &[n], &vel),
        );
        let out = poisoned(&gpu, &[n]);
        let (momentum, wd) = (0.9f32, 5e-4f32);
        let step = k::unrolled_step(&gpu, (&wt, &gt, &vt), &scalars, (momentum, wd), &out).unwrap();
        run(&gpu, &[&step]);
        let want: Vec<f64> = (0..n)
            .map(|i| w[i] - lr as f64 * (momentum as f64 * vel[i] + g[i] + wd as f64 * w[i]))
            .collect();
        assert_close(
            &format!("unrolled step {case}"),
            seed,
            &download(&out),
            &want,
            1e-6,
            1e-6,
        );

        let sq = k::sum_squares(&gpu, &gt, &partials, slot).unwrap();
        run(&gpu, &[&sq]);
        let want: f64 = g.iter().map(|x| x * x).sum();
        let got = download(&partials)[slot];
        assert_close(
            &format!("sum of squares {case}"),
            seed,
            &[got],
            &[want],
            0.0,
            2e-5,
        );
        vs.push(g);
    }
    let stats = poisoned(&gpu, &[k::HVP_STATS]);
    let radius = 0.01f32;
    run(
        &gpu,
        &[&k::hvp_scale(&gpu, &partials, radius, &stats).unwrap()],
    );
    let norm = vs.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    let eps = radius as f64 / norm;
    let got = download(&stats);
    assert_close(
        "|v|, eps, 1/(2 eps)",
        seed,
        &got,
        &[norm, eps, 0.5 / eps],
        0.0,
        2e-5,
    );

    let eps32 = got[1] as f64;
    for &n in &sizes {
        let (w, v) = (uniform(&mut r, n), uniform(&mut r, n));
        let (plus, minus) = (poisoned(&gpu, &[n]), poisoned(&gpu, &[n]));
        let (wt, vt) = (upload(&gpu, &[n], &w), upload(&gpu, &[n], &v));
        run(
            &gpu,
            &[&k::perturb(&gpu, (&wt, &vt), &stats, (&plus, &minus)).unwrap()],
        );
        let want = |s: f64| -> Vec<f64> { (0..n).map(|i| w[i] + s * eps32 * v[i]).collect() };
        assert_close(
            &format!("w + eps v, n = {n}"),
            seed,
            &download(&plus),
            &want(1.0),
            1e-6,
            1e-6,
        );
        assert_close(
            &format!("w - eps v, n = {n}"),
            seed,
            &download(&minus),
            &want(-1.0),
            1e-6,
            1e-6,
        );

        let (ga, d) = (uniform(&mut r, n), uniform_in(&mut r, n, -2e-3, 2e-3));
        let out = poisoned(&gpu, &[n]);
        let (gat, dt) = (upload(&gpu, &[n], &ga), upload(&gpu, &[n], &d));
        run(
            &gpu,
            &[&k::combine(&gpu, (&gat, &dt), &stats, &scalars, &out).unwrap()],
        );
        let inv = got[2] as f64;
        let want: Vec<f64> = (0..n).map(|i| ga[i] - lr as f64 * d[i] * inv).collect();
        assert_close(
            &format!("combine, n = {n}"),
            seed,
            &download(&out),
            &want,
            1e-6,
            1e-6,
        );
    }

    // A zero vector: no perturbation and no implicit term, not a division by zero.
    let zeros = Tensor::zeros(&gpu, &[1]).unwrap();
    run(
        &gpu,
        &[&k::hvp_scale(&gpu, &zeros, radius, &stats).unwrap()],
    );
    assert_eq!(download(&stats), vec![0.0; 3]);
}

/// The engine's pieces of the unrolled objective at a fixed state: the training batch's
/// gradient to every weight (plan A), and the validation batch's per-sample losses at given
/// weights (plan B), both at an alpha the host writes.
struct Objective {
    alpha: Tensor,
    train: Plan,
    train_grads: Vec<Value>,
    valid: Plan,
    valid_losses: Value,
    unrolled: Vec<Tensor>,
    weights: Vec<Vec<f64>>,
    velocities: Vec<Vec<f64>>,
    decays: Vec<f64>,
    xi: f64,
    momentum: f64,
}

impl Objective {
    fn new(gpu: &Arc<Gpu>, t: &DartsTrainer<Nb201Supernet>, batch: usize) -> Objective {
        let params = t.supernet.parameters();
        let alpha = Tensor::zeros(gpu, &[6, 5]).unwrap();

        let mut g = Graph::new(gpu);
        let (images, labels) = gather(&mut g, &t.train_feed.source, batch);
        let a = g.input(&alpha, "alpha");
        let mut b = Binder::new();
        let ws: Vec<Value> = params.iter().map(|p| b.bind(&mut g, p)).collect();
        let logits = t
            .supernet
            .forward_mixed(&mut g, &mut b, images, a, true)
            .unwrap();
        let (loss, _) = cross_entropy_mean(&mut g, logits, labels).unwrap();
        g.backward(loss).unwrap();
        let train_grads: Vec<Value> = ws.iter().map(|&w| g.grad(w).unwrap()).collect();
        let train = Plan::compile(&g, &train_grads).unwrap();

        let unrolled: Vec<Tensor> = params
            .iter()
            .map(|p| Tensor::zeros(gpu, p.tensor.shape()).unwrap())
            .collect();
        let mut g = Graph::new(gpu);
        let (images, labels) = gather(&mut g, &t.valid_feed.source, batch);
        let a = g.input(&alpha, "alpha");
        let mut b = Binder::new();
        for (p, u) in params.iter().zip(&unrolled) {
            let v = g.input(u, &p.name);
            b.bind_to(p, v);
        }
        let logits = t
            .supernet
            .forward_mixed(&mut g, &mut b, images, a, true)
            .unwrap();
        let (_, valid_losses) = cross_entropy_mean(&mut g, logits, labels).unwrap();
        let valid = Plan::compile(&g, &[valid_losses]).unwrap();

        let by_name: std::collections::HashMap<&str, &Tensor> = t
            .momentum_buffers()
            .iter()
            .map(|(n, v)| (n.as_str(), v))
            .collect();
        let cfg = &t.train_feed.config;
        let lr_bits = t.train_feed.scalars.to_u32().unwrap()[0];
        Objective {
            alpha,
            train,
            train_grads,
            valid,
            valid_losses,
            unrolled,
            weights: params
                .iter()
                .map(|p| to_f64(&download(&p.tensor)))
                .collect(),
            velocities: params
                .iter()
                .map(|p| to_f64(&download(by_name[p.name.as_str()])))
                .collect(),
            decays: params
                .iter()
                .map(|p| {
                    if p.decay {
                        cfg.weight_decay as f64
                    } else {
                        0.0
                    }
                })
                .collect(),
            xi: f32::from_bits(lr_bits) as f64,
            momentum: cfg.momentum as f64,
        }
    }

    /// w' at `alpha` (in f64 from the engine's f32 training gradient), uploaded for plan B.
    fn unroll(&self, alpha: &[f64]) -> Vec<Vec<f64>> {
        self.alpha.write_f32(&to_f32(alpha));
        self.train.run_all().unwrap();
        let mut all = Vec::new();
        for (i, &gv) in self.train_grads.iter().enumerate() {
            let grad = to_f64(&download(self.train.tensor(gv).unwrap()));
            let w = &self.weights[i];
            let unrolled: Vec<f64> = (0..w.len())
                .map(|j| {
                    let step =
                        self.momentum * self.velocities[i][j] + grad[j] + self.decays[i] * w[j];
                    w[j] - self.xi * step
                })
                .collect();
            self.unrolled[i].write_f32(&to_f32(&unrolled));
            all.push(unrolled);
        }
        all
    }

    /// The unrolled objective L_val(w'(alpha), alpha), per-sample f32 losses summed in f64.
    fn eval(&self, alpha: &[f64]) -> f64 {
        self.unroll(alpha);
        self.valid.run_all().unwrap();
        let losses = download(self.valid.tensor(self.valid_losses).unwrap());
        losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len() as f64
    }
}

/// The second-order architecture gradient (N = 1, C = 4, batch 4 of random 3x5x5 images,
/// alpha uniform in [-1, 1], xi = 0.5 constant, momentum 0.9 after one weight step, wd 5e-4 on
/// conv weights) against central finite differences of the unrolled objective through the
/// engine's forward and backward (w' formed in f64 on the host from the engine's training
/// gradient), Richardson-extrapolated from h = 2e-3 and h/2. First the step's own w' must match
/// the host's (atol 1e-6, rtol 1e-5: f32 roundings of the same terms) and its validation loss
/// the objective's at alpha (1e-5 relative).
///
/// The tolerance is loose on purpose: for xi > 0 the objective is discontinuous in alpha, since
/// dL_train/dw holds relu'(z), which jumps where a pre-activation crosses zero (on bundled 28x28
/// images at xi = 0.5 the FD at h = 1e-3 .. 1.6e-2 scattered by +-0.2 around gradients of 0.1-0.5;
/// the FD Hessian-vector product of the algorithm crosses the same kinks at |eps v| = 0.01). So
/// the images are tiny and every batch norm's shift is +6, which keeps nearly every ReLU input
/// positive; the FD then agrees entry by entry on most seeds (relative L2 1.7e-2 .. 4e-2) and
/// within 0.3 on the worst seen (of 7) where a kink remains. Bound: relative L2 < 0.4. The
/// check can fail: without its implicit term (dL_val(w')/dalpha alone) the gradient was 0.55 ..
/// 1.06 off on every seed, and must be off by more than 0.5 and by twice the full gradient's
/// error. A draw that misses the bound (a kink within the FD's step) is redrawn, with the next
/// seed logged, up to `ATTEMPTS` times; the accepted draw must also pass the implicit-term check.
#[test]
fn the_unrolled_gradient_is_the_derivative_of_the_unrolled_objective() {
    let gpu = gpu();
    let first = fresh_seed();
    for attempt in 0..ATTEMPTS {
        let seed = first.wrapping_add(attempt);
        if unrolled_gradient_matches_where_smooth(&gpu, seed) {
            return;
        }
    }
    panic!(
        "the unrolled objective had a kink within the FD step at {ATTEMPTS} draws from seed {first}"
    );
}

/// Draws the check may take before one agrees.
const ATTEMPTS: u64 = 4;

/// The check of the test above for one draw; false when the gradient misses the FD by 0.4 or
/// more, which a kink within the FD's step does on some draws (seen once in CI: relative L2
/// 4.1, |fd| up to 30, where even the gradient without its implicit term missed by 0.98). A
/// wrong gradient misses on every draw, so the test still fails for it.
fn unrolled_gradient_matches_where_smooth(
    gpu: &std::sync::Arc<nasgpu::device::Gpu>,
    seed: u64,
) -> bool {
    eprintln!("seed {seed}");
    let (data, input, classes) = tiny(gpu, seed, [3, 5, 5]);
    let batch = 4;
    let xi = 0.5;
    let cfg = config(batch, xi, Schedule::Const, seed);
    let mut t = trainer(
        gpu,
        &data,
        (input, classes),
        (4, 64, 64),
        cfg,
        ArchOrder::Second,
    );
    // Every batch norm's shift at +6: nearly every ReLU input is positive, so few kinks.
    for p in t.supernet.parameters() {
        if p.name.ends_with(".beta") {
            p.tensor.write_f32(&vec![6.0; p.tensor.numel()]);
        }
    }
    let mut r = rng(seed ^ 0xA1FA);
    let start = uniform_in(&mut r, 30, -1.0, 1.0);
    t.alpha.write(&alpha_rows(&start));
    t.begin_epoch(0);
    // One weight step first: the weights leave their draw and the momentum buffers fill.
    t.weight_step(0).unwrap();
    poison(t.alpha_grad());
    t.arch_step(1).unwrap();
    // The step's batches (both cursors are still set) and rate, and the state it started from.
    let objective = Objective::new(gpu, &t, batch);
    let grad = download(t.alpha_grad());
    let u = t.unrolled().expect("second order");
    let without_implicit = download(u.valid_alpha_grad());
    let step_loss = download(t.arch_loss())[0] as f64;
    let stats = download(u.hvp_stats());
    eprintln!(
        "|v| {:e}, eps {:e}, xi {}",
        stats[0], stats[1], objective.xi
    );
    assert_eq!(
        objective.xi, xi as f64,
        "xi is the coming weight step's rate"
    );

    let host_unrolled = objective.unroll(&start);
    for (i, (device, host)) in u.unrolled_weights().iter().zip(&host_unrolled).enumerate() {
        assert_close(
            &format!("w' of tensor {i}"),
            seed,
            &download(device),
            host,
            1e-6,
            1e-5,
        );
    }
    let loss_at_start = objective.eval(&start);
    assert!(
        (loss_at_start - step_loss).abs() <= 1e-5 * step_loss.abs(),
        "the objective must see the step's batches: {loss_at_start} vs step {step_loss}"
    );

    let h = 2e-3;
    let coarse = finite_difference(|a| objective.eval(a), &start, h);
    let fine = finite_difference(|a| objective.eval(a), &start, h / 2.0);
    let fd: Vec<f64> = coarse
        .iter()
        .zip(&fine)
        .map(|(c, f)| (4.0 * f - c) / 3.0)
        .collect();
    let scale = fd.iter().map(|f| f.abs()).fold(0.0, f64::max);
    let within = |g: &[f32]| {
        g.iter()
            .zip(&fd)
            .filter(|&(&g, f)| (g as f64 - f).abs() <= 1.5e-2 * scale + 2e-2 * f.abs())
            .count()
    };
    eprintln!(
        "entries within tolerance: {} of 30 (without the implicit term {})",
        within(&grad),
        within(&without_implicit)
    );
    let relative = relative_l2(&grad, &fd);
    let relative_without = relative_l2(&without_implicit, &fd);
    eprintln!(
        "unrolled grad vs FD: relative L2 {relative:e} (without the implicit term \
         {relative_without:e}), largest |fd| {scale:e}"
    );
    if relative >= 0.4 {
        eprintln!("relative L2 {relative} >= 0.4: a kink within the FD step, redrawing");
        return false;
    }
    assert!(
        relative_without > 0.5 && relative < 0.5 * relative_without,
        "without its implicit term the gradient must miss the FD clearly (seed {seed}): \
         {relative_without} vs {relative} with it"
    );
    true
}

/// With the weight rate 0 (xi = 0), the second-order step computes the first-order gradient to
/// the bit: w' = w exactly, the implicit term is multiplied by 0, and Adam then moves alpha
/// and its moments alike. Two trainers from one seed, one of each order, after one weight step.
#[test]
fn xi_zero_gives_the_first_order_gradient_bit_for_bit() {
    let gpu = gpu();
    let seed = fresh_seed();
    eprintln!("seed {seed}");
    let (data, input, classes) = bundled(&gpu);
    let cfg = config(8, 0.0, Schedule::Cosine, seed);
    let sizes = (4, 64, 64);
    let mut first = trainer(
        &gpu,
        &data,
        (input, classes),
        sizes,
        cfg.clone(),
        ArchOrder::First,
    );
    let mut second = trainer(&gpu, &data, (input, classes), sizes, cfg, ArchOrder::Second);
    for t in [&mut first, &mut second] {
        t.begin_epoch(0);
        t.weight_step(0).unwrap();
        poison(t.alpha_grad());
        t.arch_step(1).unwrap();
    }
    let u = second.unrolled().unwrap();
    for (p, w) in second
        .supernet
        .parameters()
        .iter()
        .zip(u.unrolled_weights())
    {
        assert_eq!(
            f32_bits(w),
            f32_bits(&p.tensor),
            "w' = w at xi = 0: {}",
            p.name
        );
    }
    assert!(download(second.alpha_grad()).iter().all(|v| v.is_finite()));
    assert_eq!(
        f32_bits(second.alpha_grad()),
        f32_bits(first.alpha_grad()),
        "gradient"
    );
    assert_eq!(
        f32_bits(second.arch_loss()),
        f32_bits(first.arch_loss()),
        "loss"
    );
    assert_eq!(
        f32_bits(&second.alpha.tensor),
        f32_bits(&first.alpha.tensor),
        "alpha after Adam"
    );
    let (m1, v1) = first.adam_moments();
    let (m2, v2) = second.adam_moments();
    assert_eq!(f32_bits(m1), f32_bits(m2), "Adam m");
    assert_eq!(f32_bits(v1), f32_bits(v2), "Adam v");
}

/// Every buffer the second-order step writes (the gradient, dL_val(w')/dalpha, the norm
/// statistics, w', w+ and w-) is poisoned with NaN before the step; afterwards all are finite,
/// the shared weights keep their bits, eps |v| = r, and (w+ - w-) / 2 has norm r and
/// (w+ + w-) / 2 = w (both to f32 rounding of the sums: 1e-3 relative for the norm, 1e-6 +
/// 1e-6 |w| per element). Then two trainers from one seed, alternating second-order steps over
/// an epoch, end with bit-identical alpha, weights and momentum.
#[test]
fn second_order_steps_keep_the_weights_and_reproduce_from_a_seed() {
    let gpu = gpu();
    let seed = fresh_seed();
    eprintln!("seed {seed}");
    let (data, input, classes) = bundled(&gpu);
    let cfg = config(8, 0.05, Schedule::Cosine, seed);
    let sizes = (4, 32, 32);
    let mut t = trainer(
        &gpu,
        &data,
        (input, classes),
        sizes,
        cfg.clone(),
        ArchOrder::Second,
    );
    t.begin_epoch(0);
    t.weight_step(0).unwrap();
    let u = t.unrolled().unwrap();
    let (plus, minus) = u.perturbed_weights();
    let written = [u.grad(), u.valid_alpha_grad(), u.hvp_stats()];
    for x in written
        .into_iter()
        .chain(u.unrolled_weights())
        .chain(plus)
        .chain(minus)
    {
        poison(x);
    }
    let weights = weights_bits(&t);
    let alpha_before = f32_bits(&t.alpha.tensor);
    t.arch_step(1).unwrap();
    assert_eq!(
        weights_bits(&t),
        weights,
        "the architecture step kept every weight's bits"
    );
    assert_ne!(f32_bits(&t.alpha.tensor), alpha_before, "alpha moved");
    let u = t.unrolled().unwrap();
    let (plus, minus) = u.perturbed_weights();
    for x in [u.grad(), u.valid_alpha_grad(), u.hvp_stats()]
        .into_iter()
        .chain(u.unrolled_weights())
        .chain(plus)
        .chain(minus)
    {
        assert!(
            download(x).iter().all(|v| v.is_finite()),
            "a buffer stayed NaN"
        );
    }
    let stats = download(u.hvp_stats());
    assert!(stats[0] > 0.0);
    assert!(((stats[0] * stats[1]) as f64 - HVP_RADIUS as f64).abs() < 1e-6);
    let mut half_norm = 0.0f64;
    for ((p, pl), mi) in t.supernet.parameters().iter().zip(plus).zip(minus) {
        let (pl, mi) = (to_f64(&download(pl)), to_f64(&download(mi)));
        half_norm += pl
            .iter()
            .zip(&mi)
            .map(|(a, b)| ((a - b) / 2.0).powi(2))
            .sum::<f64>();
        let mid: Vec<f64> = pl.iter().zip(&mi).map(|(a, b)| (a + b) / 2.0).collect();
        let w = download(&p.tensor);
        assert_close(
            &format!("(w+ + w-)/2 = w: {}", p.name),
            seed,
            &w,
            &mid,
            1e-6,
            1e-6,
        );
    }
    let half_norm = half_norm.sqrt();
    assert!(
        (half_norm / HVP_RADIUS as f64 - 1.0).abs() < 1e-3,
        "|eps v| = {half_norm}, want {HVP_RADIUS}"
    );

    let run = || {
        let mut t = trainer(
            &gpu,
            &data,
            (input, classes),
            sizes,
            cfg.clone(),
            ArchOrder::Second,
        );
        t.begin_epoch(0);
        for s in 0..t.steps_per_epoch() {
            t.step(s).unwrap();
        }
        let velocities: Vec<Vec<u32>> = t
            .momentum_buffers()
            .iter()
            .map(|(_, v)| f32_bits(v))
            .collect();
        (f32_bits(&t.alpha.tensor), weights_bits(&t), velocities)
    };
    let (alpha, weights, velocities) = run();
    assert!(alpha.iter().all(|&b| f32::from_bits(b).is_finite()));
    let again = run();
    assert_eq!(again.0, alpha, "same seed, other alpha bits");
    assert!(again.1 == weights, "same seed, other weight bits");
    assert!(again.2 == velocities, "same seed, other momentum bits");
}

/// First- against second-order architecture step at N = 1, C = 8, batch 32 on bundled images,
/// in one run (wall clock around a device sync, 2 warm-up and 11 timed steps each; lavapipe
/// times are ratios, not GPU speed). Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn time_first_and_second_order_arch_steps_n1_c8_b32() {
    let gpu = gpu();
    let (data, input, classes) = bundled(&gpu);
    let cfg = config(32, 0.05, Schedule::Cosine, 1);
    let sizes = (8, 512, 512);
    let mut first = trainer(
        &gpu,
        &data,
        (input, classes),
        sizes,
        cfg.clone(),
        ArchOrder::First,
    );
    let mut second = trainer(&gpu, &data, (input, classes), sizes, cfg, ArchOrder::Second);
    eprintln!(
        "second-order step: {} dispatches",
        second.unrolled().unwrap().dispatches()
    );
    let time = |t: &mut DartsTrainer<Nb201Supernet>, weight: bool, s: usize| {
        let start = std::time::Instant::now();
        if weight {
            t.weight_step(s).unwrap();
        } else {
            t.arch_step(s).unwrap();
        }
        gpu.sync().unwrap();
        start.elapsed().as_secs_f64()
    };
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for t in [&mut first, &mut second] {
        t.begin_epoch(0);
    }
    for s in 0..13 {
        // Interleaved, so background load falls on both alike.
        let w = time(&mut first, true, s);
        let a1 = time(&mut first, false, s);
        let a2 = time(&mut second, false, s);
        time(&mut second, true, s);
        if s >= 2 {
            samples[0].push(w);
            samples[1].push(a1);
            samples[2].push(a2);
        }
    }
    for (name, mut v) in [
        "weight step",
        "first-order arch step",
        "second-order arch step",
    ]
    .into_iter()
    .zip(samples)
    {
        v.sort_by(f64::total_cmp);
        eprintln!(
            "{name}: median {:.3} s (min {:.3}, max {:.3}, {} samples)",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1],
            v.len()
        );
    }
}
