//! Search configuration: defaults are the paper's space, every field can be changed, and a bad
//! value is an error naming the file and the field.

use nasgpu::search::{MacroSpace, Rollout, SearchConfig, Space, StrategyKind, TokenKind};
use nasgpu::util::SeededRng;

/// A uniform architecture of `depth` layers.
fn sample_at(space: &MacroSpace, depth: usize, rng: &mut SeededRng) -> Rollout {
    let fixed = MacroSpace {
        layers: depth,
        max_layers: depth.max(space.max_layers),
        depth_increment: 0,
        ..space.clone()
    };
    fixed.sample(0, rng)
}
use nasgpu::util::seeded_rng;

#[test]
fn defaults_reproduce_the_papers_cifar10_space() {
    let c = SearchConfig::from_json("{}", "empty.json").unwrap();
    assert_eq!(c.space.filter_heights, vec![1, 3, 5, 7]);
    assert_eq!(c.space.filter_widths, vec![1, 3, 5, 7]);
    assert_eq!(c.space.filter_counts, vec![24, 36, 48, 64]);
    assert_eq!(c.space.strides, vec![1]);
    assert!(c.space.skip_connections);
    assert_eq!(
        (
            c.space.layers,
            c.space.depth_increment,
            c.space.depth_increment_every
        ),
        (6, 2, 1600)
    );
    assert_eq!((c.controller.hidden, c.controller.layers), (35, 2));
    assert_eq!(
        (c.controller.init_range, c.controller.learning_rate),
        (0.08, 6e-4)
    );
    assert_eq!(
        (c.reinforce.reward_power, c.reinforce.reward_window),
        (3.0, 5)
    );
    assert_eq!(c.space.depth_after(0), 6);
    assert_eq!(c.space.depth_after(1599), 6);
    assert_eq!(c.space.depth_after(1600), 8);
    assert_eq!(c.space.depth_after(100_000), 15);
}

#[test]
fn every_choice_list_can_be_changed() {
    let text = r#"{ "space": { "filter_heights": [1, 3], "filter_widths": [7], "filter_counts": [8, 16, 32],
                   "strides": [1, 2, 3], "skip_connections": false, "layers": 4, "max_layers": 4 },
                   "run": { "strategy": "random", "budget": 10, "seed": 7 } }"#;
    let c = SearchConfig::from_json(text, "c.json").unwrap();
    assert_eq!(
        c.space.token_kinds(),
        vec![
            TokenKind::FilterHeight,
            TokenKind::FilterWidth,
            TokenKind::FilterCount,
            TokenKind::Stride
        ]
    );
    assert_eq!(c.space.choices(TokenKind::FilterCount), &[8, 16, 32]);
    assert_eq!(c.run.strategy, StrategyKind::Random);
}

#[test]
fn bad_values_name_file_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"space": {"filter_heights": [3, 9]}}"#,
            "space.filter_heights[1]",
        ),
        (r#"{"space": {"filter_counts": []}}"#, "space.filter_counts"),
        (r#"{"space": {"strides": [1, 1]}}"#, "space.strides[1]"),
        (r#"{"space": {"layers": 0}}"#, "space.layers"),
        (r#"{"space": {"layers": "six"}}"#, "space.layers"),
        (r#"{"space": {"colour": 1}}"#, "space.colour"),
        (
            r#"{"controller": {"learning_rate": -1}}"#,
            "controller.learning_rate",
        ),
        (
            r#"{"reinforce": {"baseline_decay": 1.5}}"#,
            "reinforce.baseline_decay",
        ),
        (
            r#"{"reinforce": {"children_per_step": 0}}"#,
            "reinforce.children_per_step",
        ),
        (r#"{"child": {"epochs": 0}}"#, "child.epochs"),
        (r#"{"run": {"strategy": "bayes"}}"#, "run.strategy"),
        (r#"{"runs": {}}"#, "runs"),
        (r#"{"space": [1]}"#, "space"),
        (r#"{"space": {"#, "not valid JSON"),
    ];
    for (text, field) in cases {
        let err = SearchConfig::from_json(text, "my.json")
            .expect_err(text)
            .to_string();
        assert!(
            err.starts_with("my.json: "),
            "error does not name the file: {err}"
        );
        assert!(
            err.contains(field),
            "error for {text} should name {field}: {err}"
        );
    }
}

#[test]
fn quick_profile_is_valid_and_small() {
    let q = SearchConfig::quick();
    q.validate().unwrap();
    assert!(q.run.budget <= 16 && q.child.epochs <= 2);
}

/// The demo's 5-minute wall time rests on its space holding no slow child: every sample is
/// cheaper than the hand-designed `small-cnn` (20.3 MFLOP/image), the largest (all 5x5, 64
/// filters) included.
#[test]
fn demo_profile_is_valid_and_every_child_is_cheaper_than_small_cnn() {
    let d = SearchConfig::demo();
    d.validate().unwrap();
    let input = [1, 28, 28];
    let small = nasgpu::nn::preset::preset("small-cnn", input, 10)
        .unwrap()
        .forward_flops();
    let mut rng = seeded_rng(5);
    let mut largest = 0.0f64;
    for _ in 0..500 {
        let r = d.space.sample(0, &mut rng);
        d.space.check(&r).unwrap();
        let flops = d.space.architecture(&r, input, 10).forward_flops();
        largest = largest.max(flops);
    }
    assert!(
        largest < small,
        "a demo child takes {largest} FLOPs, small-cnn {small}"
    );
    assert!(
        largest > 0.5 * small,
        "500 samples missed the large children"
    );
    assert_eq!(
        d.run.budget * d.child.epochs,
        96,
        "the measured demo trains 96 child-epochs"
    );
}

#[test]
fn decoding_and_random_sampling_respect_the_space() {
    let space = MacroSpace {
        strides: vec![1, 2],
        ..MacroSpace::default()
    };
    let mut rng = seeded_rng(3);
    for depth in [1, 6, 15] {
        let r = sample_at(&space, depth, &mut rng);
        let arch = space.architecture(&r, [3, 32, 32], 10);
        arch.validate().unwrap();
        assert_eq!(arch.layers.len(), depth);
        for l in &arch.layers {
            assert!(
                space.filter_heights.contains(&l.filter_height)
                    && space.filter_counts.contains(&l.filters)
            );
            assert!(space.strides.contains(&l.stride));
        }
    }
    let chain = MacroSpace {
        skip_connections: false,
        ..MacroSpace::default()
    };
    let r = sample_at(&chain, 4, &mut rng);
    let arch = chain.architecture(&r, [1, 28, 28], 10);
    let inputs: Vec<Vec<usize>> = arch.layers.iter().map(|l| l.inputs.clone()).collect();
    assert_eq!(inputs, vec![vec![], vec![0], vec![1], vec![2]]);
    // Same seed, same architectures.
    assert_eq!(
        sample_at(&space, 6, &mut seeded_rng(9)),
        sample_at(&space, 6, &mut seeded_rng(9))
    );
}

/// The shipped configuration files parse, and the paper's file equals the built-in defaults.
#[test]
fn shipped_configs_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/configs");
    let paper = SearchConfig::load(&dir.join("nas-rl-cifar10.json")).unwrap();
    assert_eq!(paper, SearchConfig::default());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            SearchConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    let darts = SearchConfig::load(&dir.join("darts-cells.json")).unwrap();
    assert_eq!(darts.run.strategy, nasgpu::search::StrategyKind::Darts);
}
