//! The strategies on a synthetic NAS-Bench-201 table through the built binary (regularized
//! evolution against random search; PPO and REINFORCE end to end), and PPO's gradient: the
//! host's surrogate weights against finite differences in log P, and the controller's
//! weighted log-likelihood gradient through the forced plan against finite differences of the
//! surrogate computed from `Controller::evaluate`.

mod common;
mod search_common;

use std::path::PathBuf;

use common::*;
use nasgpu::search::config::ControllerConfig;
use nasgpu::search::strategy::controller::Controller;
use nasgpu::search::strategy::surrogate_weights;
use nasgpu::search::{ChildRecord, ChildStatus, MacroSpace, SearchConfig, Space};
use nasgpu::util::seeded_rng;
use rand::RngExt;
use search_common::*;

/// The synthetic table, written once per test binary.
fn table() -> PathBuf {
    shared_table()
}

/// Every history line of a table search looks like a trained child's, with the table's
/// figures (as the CSV wrote them).
fn check_table_lines(h: &[ChildRecord], budget: usize) {
    // The CLI's settings without --config: the built-in demo's.
    let power = SearchConfig::demo().reinforce.reward_power;
    assert_eq!(h.len(), budget);
    for (i, r) in h.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!(r.status, ChildStatus::Ok);
        let ops: [usize; 6] = r.rollout.0.clone().try_into().expect("six edges");
        assert_eq!(r.canonical, nb201_name(&ops));
        let metric: f64 = format!("{:.6}", synthetic_metric(&ops)).parse().unwrap();
        let cost: f64 = format!("{:.3}", synthetic_cost(&ops)).parse().unwrap();
        // serde_json's default float parsing may miss the last bit.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs();
        assert_eq!(r.val_accuracy.len(), 1, "child {i}: one \"epoch\"");
        assert!(
            close(r.val_accuracy[0], metric),
            "child {i}: {:?} vs {metric}",
            r.val_accuracy
        );
        assert!(
            close(r.train_seconds, cost),
            "child {i}: {} vs {cost}",
            r.train_seconds
        );
        assert!(
            close(r.reward, metric.powf(power)),
            "child {i}: reward {}",
            r.reward
        );
        assert!(
            r.parameters > 0 && r.flops > 0.0,
            "child {i}: no network figures"
        );
        assert!(
            r.latency.is_none(),
            "a looked-up child has no measured latency"
        );
    }
}

fn hamming(a: &[usize], b: &[usize]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn evolution_beats_random_search_and_mutates_its_population() {
    let t = table();
    let (population, budget) = (100, 200);
    let mut evo_late = Vec::new();
    let mut random_all = Vec::new();
    for seed in [1u64, 2] {
        let evo = table_search(
            &t,
            &temp_dir(&format!("evo{seed}")),
            "evolution",
            budget,
            seed,
        );
        let rnd = table_search(&t, &temp_dir(&format!("rnd{seed}")), "random", budget, seed);
        check_table_lines(&evo, budget);
        check_table_lines(&rnd, budget);
        // The first P: uniform draws (every op near 1/5 of the 600 edges).
        let mut counts = [0usize; 5];
        for r in &evo[..population] {
            for &op in &r.rollout.0 {
                counts[op] += 1;
            }
        }
        assert!(
            counts.iter().all(|&c| (80..=160).contains(&c)),
            "seed {seed}: op counts of the first P {counts:?} are not uniform"
        );
        // After them: each child is one mutation of a member of the population it was
        // proposed from (the last P children before it, allowing for a batch in flight).
        let m = SearchConfig::demo().reinforce.children_per_step;
        for k in population..budget {
            let window = k.saturating_sub(population + m)..k;
            assert!(
                window
                    .clone()
                    .any(|j| hamming(&evo[j].rollout.0, &evo[k].rollout.0) == 1),
                "seed {seed}: child {k} {} is no mutation of children {window:?}",
                evo[k].canonical
            );
        }
        evo_late.extend(evo[budget - 50..].iter().map(|r| r.val_accuracy[0]));
        random_all.extend(rnd.iter().map(|r| r.val_accuracy[0]));
    }
    let (e, r) = (mean(&evo_late), mean(&random_all));
    // On this table random's mean is about 0.46 (sd 0.11); evolution's last 50 children
    // averaged 0.69 with these seeds.
    assert!(
        e > r + 0.1,
        "evolution's last 50 children average {e:.4}, random's {r:.4}"
    );
}

#[test]
fn controllers_run_a_table_search_end_to_end() {
    let t = table();
    for strategy in ["reinforce", "ppo"] {
        let h = table_search(&t, &temp_dir(strategy), strategy, 24, 3);
        check_table_lines(&h, 24);
        let m = SearchConfig::demo().reinforce.children_per_step;
        for (i, r) in h.iter().enumerate() {
            assert_eq!(r.controller_step, i / m, "{strategy}: child {i}'s step");
        }
    }
}

/// `--json` puts the run's summary, and nothing else, on stdout.
#[test]
fn search_json_prints_the_summary_on_stdout() {
    let t = table();
    let dir = temp_dir("json").join("run");
    let out = nasgpu(&[
        "search",
        "--space",
        "nb201",
        "--table",
        t.to_str().unwrap(),
        "--table-metric",
        "acc",
        "--strategy",
        "random",
        "--budget",
        "12",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    ok(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(doc["status"], "finished");
    assert_eq!(doc["children"], 12);
    assert_eq!(doc["run_directory"], serde_json::json!(dir));
    assert!(
        stderr(&out).contains("finished: 12 architectures evaluated"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

const CLIP: f64 = 0.2;

/// Advantages and log-ratios covering every case of the clipped surrogate: inside the clip
/// (either sign of A), cut by the clip (ρ > 1+ε with A > 0, ρ < 1-ε with A < 0), and outside
/// the clip on the side where min keeps the unclipped term.
const ADVANTAGES: [f64; 6] = [0.7, -0.4, 0.9, -0.6, -0.5, 0.8];
const LOG_RATIOS: [f64; 6] = [0.05, -0.1, 0.5, -0.5, 0.4, -0.5];

fn surrogate(new: &[f64], old: &[f64], a: &[f64]) -> f64 {
    let m = a.len() as f64;
    -new.iter()
        .zip(old)
        .zip(a)
        .map(|((&n, &o), &a)| {
            let r = (n - o).exp();
            (r * a).min(r.clamp(1.0 - CLIP, 1.0 + CLIP) * a)
        })
        .sum::<f64>()
        / m
}

#[test]
fn surrogate_weights_are_the_gradient_in_log_p() {
    let old = [-3.0, -7.5, -1.2, -4.0, -2.0, -5.5];
    let new: Vec<f64> = old.iter().zip(LOG_RATIOS).map(|(o, d)| o + d).collect();
    let (w, loss) = surrogate_weights(&new, &old, &ADVANTAGES, CLIP);
    let m = ADVANTAGES.len() as f64;
    assert!((loss - surrogate(&new, &old, &ADVANTAGES)).abs() < 1e-12);
    let h = 1e-6;
    for k in 0..new.len() {
        let mut p = new.clone();
        p[k] += h;
        let plus = surrogate(&p, &old, &ADVANTAGES);
        p[k] -= 2.0 * h;
        let minus = surrogate(&p, &old, &ADVANTAGES);
        let fd = (plus - minus) / (2.0 * h);
        // d loss / d log P_k = -(1/m) w_k.
        assert!(
            (-w[k] / m - fd).abs() < 1e-7,
            "k {k}: weight {} gives {}, finite differences {fd}",
            w[k],
            -w[k] / m
        );
    }
    assert_eq!(w[2], 0.0, "a clipped term must not pull");
    assert_eq!(w[3], 0.0, "a clipped term must not pull");
    assert!(w[4] != 0.0 && w[5] != 0.0, "min keeps the unclipped term");
    // At ρ = 1 (the first epoch) the weights are the advantages: REINFORCE's step.
    let (w1, _) = surrogate_weights(&old, &old, &ADVANTAGES, CLIP);
    assert_eq!(w1, ADVANTAGES.to_vec());
}

fn space() -> MacroSpace {
    MacroSpace {
        layers: 3,
        max_layers: 3,
        depth_increment: 0,
        depth_increment_every: 0,
        filter_heights: vec![1, 3, 5],
        filter_widths: vec![1, 3],
        filter_counts: vec![8, 16],
        strides: vec![1, 2],
        skip_connections: true,
    }
}

/// PPO's controller gradient: -(1/m) Σ w_k ∇log P_k - (β/m) Σ ∇H_k through the forced plan,
/// with w from `surrogate_weights`, against central finite differences of the surrogate
/// (plus the entropy bonus) computed from `evaluate` as the parameters are perturbed.
#[test]
fn ppo_controller_gradient_matches_finite_differences_of_the_surrogate() {
    let seed = fresh_seed();
    let beta = 0.1;
    let s = space();
    let schema = s.schema(0).unwrap();
    let cfg = ControllerConfig {
        hidden: 6,
        layers: 2,
        attention: 5,
        init_range: 0.5,
        ..ControllerConfig::default()
    };
    let mut c = Controller::new(&gpu(), &schema.groups, &cfg, beta, &mut seeded_rng(seed)).unwrap();
    let mut rng = seeded_rng(seed ^ 1);
    let rollouts: Vec<_> = (0..ADVANTAGES.len())
        .map(|_| s.sample(0, &mut rng))
        .collect();
    let m = rollouts.len() as f64;
    let objective = |c: &mut Controller, old: &[f64]| -> f64 {
        let e = c.evaluate(&schema, &rollouts).unwrap();
        let (lp, h) = (e.log_prob, e.entropy);
        let lp: Vec<f64> = lp.iter().map(|&v| v as f64).collect();
        surrogate(&lp, old, &ADVANTAGES) - beta * h.iter().map(|&v| v as f64).sum::<f64>() / m
    };
    let e0 = c.evaluate(&schema, &rollouts).unwrap();
    let (lp0, h0) = (e0.log_prob, e0.entropy);
    let new0: Vec<f64> = lp0.iter().map(|&v| v as f64).collect();
    let old: Vec<f64> = new0.iter().zip(LOG_RATIOS).map(|(n, d)| n - d).collect();
    let (w, _) = surrogate_weights(&new0, &old, &ADVANTAGES, CLIP);
    let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    let (loss, grads) = c
        .weighted_log_prob_gradient(&schema, &rollouts, &w32)
        .unwrap();
    let want_loss = -w.iter().zip(&new0).map(|(w, l)| w * l).sum::<f64>() / m
        - beta * h0.iter().map(|&v| v as f64).sum::<f64>() / m;
    assert!(
        (loss - want_loss).abs() < 1e-4 * (1.0 + want_loss.abs()),
        "seed {seed}: loss {loss} vs {want_loss}"
    );
    let params = c.parameters();
    assert_eq!(
        grads.len(),
        params.len(),
        "every parameter needs a gradient"
    );
    let h = 2e-3f32;
    for (name, grad) in &grads {
        let p = params.iter().find(|p| &p.name == name).unwrap();
        let base = p.tensor.to_f32().unwrap();
        for _ in 0..3.min(base.len()) {
            let i = rng.random_range(0..base.len());
            let mut q = base.clone();
            q[i] = base[i] + h;
            p.tensor.write_f32(&q);
            let plus = objective(&mut c, &old);
            q[i] = base[i] - h;
            p.tensor.write_f32(&q);
            let minus = objective(&mut c, &old);
            p.tensor.write_f32(&base);
            let fd = (plus - minus) / (2.0 * h as f64);
            let got = grad[i] as f64;
            assert!(
                (got - fd).abs() <= 3e-3 + 3e-2 * fd.abs(),
                "seed {seed}: d surrogate / d {name}[{i}]: forced plan {got}, finite differences {fd}"
            );
        }
    }
}

/// Evolution and random search propose without pending results (asynchronous workers can
/// use them); the controller strategies need the whole batch.
#[test]
fn strategies_say_whether_they_work_asynchronously() {
    use nasgpu::search::StrategyKind;
    let mut config = SearchConfig::quick();
    let space = nasgpu::search::space::build(&config);
    for (kind, asynchronous) in [
        (StrategyKind::Random, true),
        (StrategyKind::Evolution, true),
        (StrategyKind::Reinforce, false),
        (StrategyKind::Ppo, false),
    ] {
        config.run.strategy = kind;
        let s = nasgpu::search::strategy::build(Some(&gpu()), &config, space.as_ref())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(s.asynchronous(), asynchronous, "{}", s.name());
    }
    // Without a device the controllers are refused, naming the strategy.
    config.run.strategy = StrategyKind::Ppo;
    let e = nasgpu::search::strategy::build(None, &config, space.as_ref())
        .err()
        .expect("ppo without a device");
    assert!(e.to_string().contains("--strategy ppo"), "{e}");
}
