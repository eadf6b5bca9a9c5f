//! The search spaces through the `Space` trait: uniform samples are valid, a mutation changes
//! exactly one decision and stays valid, canonical names round-trip through `parse`, parse
//! errors say what is wrong, NAS-Bench-201's names and rollout order are the published ones, and
//! the DARTS cell space reaches every cell of distinct input pairs, and the ENAS macro space every
//! operation in every layer and every skip.

use nasgpu::nn::{NB201_EDGES, Nb201Op};
use nasgpu::search::space::{
    DartsSpace, DartsSpaceConfig, EnasSpace, EnasSpaceConfig, Nb201Space, Nb201SpaceConfig,
};
use nasgpu::search::{MacroSpace, Rollout, SearchConfig, Space};
use nasgpu::util::seeded_rng;

/// A small macro space with skips (fixed depth) and the quick demo's (growing depth).
fn macro_spaces() -> Vec<MacroSpace> {
    let fixed = MacroSpace {
        layers: 4,
        max_layers: 4,
        depth_increment: 0,
        depth_increment_every: 0,
        filter_heights: vec![1, 3, 5],
        filter_widths: vec![1, 3],
        filter_counts: vec![8, 16, 24],
        strides: vec![1, 2],
        skip_connections: true,
    };
    let no_skips = MacroSpace {
        skip_connections: false,
        strides: vec![1],
        ..fixed.clone()
    };
    vec![fixed, no_skips, SearchConfig::quick().space]
}

fn nb201() -> Nb201Space {
    Nb201Space {
        config: Nb201SpaceConfig {
            cells_per_stage: 1,
            channels: 4,
        },
    }
}

fn spaces() -> Vec<Box<dyn Space>> {
    let mut out: Vec<Box<dyn Space>> = macro_spaces()
        .into_iter()
        .map(|s| Box::new(s) as Box<dyn Space>)
        .collect();
    out.push(Box::new(nb201()));
    out.push(Box::new(darts()));
    out.push(Box::new(enas()));
    out
}

/// ENAS's macro space at 7 layers: reductions after layers 1 and 3.
fn enas() -> EnasSpace {
    EnasSpace {
        config: EnasSpaceConfig {
            layers: 7,
            channels: 4,
        },
    }
}

fn darts() -> DartsSpace {
    DartsSpace {
        config: DartsSpaceConfig {
            channels: 4,
            cells: 3,
        },
    }
}

/// Samples after 0 and after many others (the macro space may have grown).
const SAMPLED: [usize; 3] = [0, 7, 1000];

#[test]
fn samples_are_valid_and_as_long_as_the_schema() {
    for space in spaces() {
        let mut rng = seeded_rng(1);
        for &sampled in &SAMPLED {
            let schema = space.schema(sampled).expect("every space has a schema");
            for _ in 0..200 {
                let r = space.sample(sampled, &mut rng);
                assert_eq!(
                    r.0.len(),
                    schema.decisions(),
                    "{}: rollout length vs schema",
                    space.name()
                );
                schema.check(&r).unwrap();
                space
                    .check(&r)
                    .unwrap_or_else(|e| panic!("{}: sample {r:?} invalid: {e}", space.name()));
            }
        }
    }
}

#[test]
fn mutation_changes_exactly_one_decision_and_stays_valid() {
    for space in spaces() {
        for seed in 0..50u64 {
            let mut rng = seeded_rng(seed);
            let mut r = space.sample((seed as usize) * 3, &mut rng);
            // A chain of mutations: each one step from its parent.
            for _ in 0..20 {
                let child = space.mutate(&r, &mut rng);
                assert_eq!(child.0.len(), r.0.len(), "{}: shape kept", space.name());
                let changed = r.0.iter().zip(&child.0).filter(|(a, b)| a != b).count();
                assert_eq!(
                    changed,
                    1,
                    "{} seed {seed}: {r:?} -> {child:?}",
                    space.name()
                );
                space
                    .check(&child)
                    .unwrap_or_else(|e| panic!("{}: mutant {child:?}: {e}", space.name()));
                assert_ne!(space.canonical(&child), space.canonical(&r));
                r = child;
            }
        }
    }
}

#[test]
fn canonical_names_round_trip_and_are_unique() {
    for space in spaces() {
        let mut rng = seeded_rng(3);
        let mut seen = std::collections::HashMap::new();
        for &sampled in &SAMPLED {
            for _ in 0..300 {
                let r = space.sample(sampled, &mut rng);
                let name = space.canonical(&r);
                let back = space
                    .parse(&name)
                    .unwrap_or_else(|e| panic!("{}: '{name}' does not parse: {e}", space.name()));
                assert_eq!(back, r, "{}: parse(canonical) of '{name}'", space.name());
                assert_eq!(space.canonical(&back), name);
                if let Some(other) = seen.insert(name.clone(), r.clone()) {
                    assert_eq!(other, r, "{}: two rollouts named '{name}'", space.name());
                }
            }
        }
    }
}

#[test]
fn bad_rollouts_are_refused_with_the_reason() {
    for space in spaces() {
        let r = space.sample(0, &mut seeded_rng(5));
        let mut long = r.clone();
        long.0.push(0);
        long.0.push(0);
        long.0.push(0);
        let e = space.check(&long).unwrap_err();
        assert!(e.contains("decisions"), "{}: {e}", space.name());
        let mut big = r.clone();
        big.0[0] = 99;
        let e = space.check(&big).unwrap_err();
        assert!(
            e.contains("decision 0") && e.contains("99"),
            "{}: {e}",
            space.name()
        );
    }
}

#[test]
fn macro_parse_errors_name_the_layer_and_the_value() {
    let s = &macro_spaces()[0];
    let good = s.canonical(&s.sample(0, &mut seeded_rng(9)));
    let layers: Vec<&str> = good.split('/').collect();
    let cases = [
        // Not a choice of the space.
        (
            format!("k7x1-c8-s1-i[]/{}", layers[1..].join("/")),
            vec!["layer 0", "7"],
        ),
        (
            format!("{}/k1x1-c9-s1-i[0]/{}", layers[0], layers[2..].join("/")),
            vec!["layer 1", "9"],
        ),
        // Malformed.
        (
            format!("{}/k3-c8-s1-i[]/{}", layers[0], layers[2..].join("/")),
            vec!["layer 1", "k3-c8-s1-i[]"],
        ),
        // An input from a later layer.
        (
            format!("{}/k1x1-c8-s1-i[3]/{}", layers[0], layers[2..].join("/")),
            vec!["layer 1", "[3]"],
        ),
        // Too deep for the space.
        (format!("{good}/{}", layers[0]), vec!["depth"]),
    ];
    for (name, words) in cases {
        let e = s.parse(&name).expect_err(&format!("'{name}' was accepted"));
        for w in words {
            assert!(e.contains(w), "'{name}': error '{e}' lacks '{w}'");
        }
    }
}

#[test]
fn nb201_names_are_the_published_ones() {
    let s = nb201();
    let published =
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";
    let r = s.parse(published).unwrap();
    // Edge order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; ids in Nb201Op::ALL order.
    let id = |name: &str| {
        Nb201Op::ALL
            .iter()
            .position(|op| op.name() == name)
            .unwrap()
    };
    let want = [
        "nor_conv_3x3",
        "skip_connect",
        "nor_conv_1x1",
        "none",
        "avg_pool_3x3",
        "nor_conv_3x3",
    ]
    .map(id);
    assert_eq!(r, Rollout(want.to_vec()));
    assert_eq!(s.canonical(&r), published);
    let names: Vec<&str> = Nb201Op::ALL.iter().map(|op| op.name()).collect();
    assert_eq!(
        names,
        [
            "none",
            "skip_connect",
            "nor_conv_1x1",
            "nor_conv_3x3",
            "avg_pool_3x3"
        ]
    );
    for (k, op) in Nb201Op::ALL.iter().enumerate() {
        assert_eq!(op.id(), k);
        let all_same = s.canonical(&Rollout(vec![k; 6]));
        let n = op.name();
        assert_eq!(
            all_same,
            format!("|{n}~0|+|{n}~0|{n}~1|+|{n}~0|{n}~1|{n}~2|")
        );
    }
    assert_eq!(NB201_EDGES.len(), 6);
    let schema = s.schema(0).unwrap();
    assert_eq!(schema.decisions(), 6);
    assert_eq!(schema.options(), vec![5; 6]);
}

#[test]
fn nb201_every_genotype_is_distinct_and_builds_a_valid_network() {
    let s = nb201();
    let mut names = std::collections::HashSet::new();
    for code in 0..5usize.pow(6) {
        let r = Rollout((0..6).map(|e| code / 5usize.pow(e) % 5).collect());
        s.check(&r).unwrap();
        assert!(names.insert(s.canonical(&r)));
        // Building every one is cheap (no device); validate a spread of them.
        if code % 97 == 0 {
            let arch = s.architecture(&r, [3, 8, 8], 10);
            arch.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", s.canonical(&r)));
        }
    }
    assert_eq!(names.len(), 15_625);
}

#[test]
fn nb201_parse_errors_say_what_is_wrong() {
    let s = nb201();
    let cases = [
        (
            "|nor_conv_5x5~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
            "nor_conv_5x5",
        ),
        ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|", ""),
        (
            "|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
            "",
        ),
        ("", ""),
    ];
    for (name, word) in cases {
        let e = s.parse(name).expect_err(&format!("'{name}' was accepted"));
        assert!(!e.is_empty());
        assert!(e.contains(word), "'{name}': '{e}' lacks '{word}'");
    }
}

#[test]
fn macro_architectures_validate() {
    for s in macro_spaces() {
        let mut rng = seeded_rng(2);
        for _ in 0..50 {
            let r = s.sample(0, &mut rng);
            let a = s.architecture(&r, [1, 28, 28], 10);
            assert_eq!(a.layers.len(), s.decisions(&r).tokens.len());
            a.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", s.canonical(&r)));
        }
    }
}

/// Every rollout decodes to a valid genotype (nodes read distinct earlier nodes), every node's
/// every pair and every operation on both inputs are reached by sampling, and the published
/// DARTS V2 cell parses to a rollout whose architecture is that network.
#[test]
fn darts_samples_reach_every_pair_and_operation_and_parse_the_published_cells() {
    use nasgpu::nn::darts_cell::DARTS_V2;
    use nasgpu::nn::{DartsGenotype, DartsOp};
    let s = darts();
    let mut rng = seeded_rng(11);
    let mut seen = std::collections::HashSet::new();
    // 12,000 draws: the rarest combination (node 5's, 1 in 490) is missed with odds ~e^-24.
    for k in 0..12_000 {
        let r = s.sample(0, &mut rng);
        let arch = s.architecture(&r, [1, 8, 8], 10);
        if k % 10 == 0 {
            arch.validate().unwrap();
        }
        let g = arch.darts.as_ref().unwrap().genotype;
        for (cell, genotype) in [("normal", g.normal), ("reduce", g.reduce)] {
            for (j, node) in genotype.nodes.iter().enumerate() {
                assert!(node[0].input < node[1].input && node[1].input < j + 2);
                seen.insert((
                    cell,
                    j,
                    node[0].input,
                    node[1].input,
                    node[0].op,
                    node[1].op,
                ));
            }
        }
    }
    // Per cell: node 2: 49 op pairs; node 3: 3 pairs x 49; node 4: 6 x 49; node 5: 10 x 49.
    assert_eq!(seen.len(), 2 * (1 + 3 + 6 + 10) * 49);
    let v2: DartsGenotype = DARTS_V2.parse().unwrap();
    let r = s.parse(DARTS_V2).unwrap();
    s.check(&r).unwrap();
    assert_eq!(s.canonical(&r), v2.to_string());
    let arch = s.architecture(&r, [3, 32, 32], 10);
    assert_eq!(arch.darts.unwrap().genotype, v2);
    assert_eq!(DartsOp::ALL.len(), 7);
    let e = s.parse("normal:x").unwrap_err();
    assert!(e.contains("neither"), "{e}");
}

/// Uniform samples of the ENAS macro space reach every operation in every layer and both
/// values of every skip flag, about half the flags set; every sample builds a valid network of
/// the configured shape whose layers are the canonical name's.
#[test]
fn enas_samples_reach_every_operation_and_skip_and_build_valid_networks() {
    let space = enas();
    let mut rng = seeded_rng(11);
    let mut ops = vec![[false; 6]; 7];
    let mut skips = vec![[0usize; 2]; 7 * 6 / 2];
    for _ in 0..600 {
        let r = space.sample(0, &mut rng);
        let arch = space.architecture(&r, [1, 13, 11], 10);
        arch.validate().unwrap();
        let net = arch.enas.as_ref().unwrap();
        assert_eq!((net.layers.len(), net.channels), (7, 4));
        assert_eq!(net.layers().to_string(), space.canonical(&r));
        let mut flag = 0;
        for (l, layer) in net.layers.iter().enumerate() {
            ops[l][layer.op.0.id()] = true;
            for i in 0..l {
                skips[flag][usize::from(layer.skips.contains(&i))] += 1;
                flag += 1;
            }
        }
    }
    assert!(ops.iter().all(|l| l.iter().all(|&seen| seen)), "{ops:?}");
    for (k, [off, on]) in skips.iter().enumerate() {
        assert!(
            (200..400).contains(on),
            "flag {k}: {on} of {} set",
            on + off
        );
    }
    let e = space.parse("conv_3x3|conv_7x7+0").unwrap_err();
    assert!(
        e.contains("layer 1") && e.contains("unknown operation 'conv_7x7'"),
        "{e}"
    );
    let e = space.parse("conv_3x3|conv_5x5+1").unwrap_err();
    assert!(
        e.contains("layer 1: skip from 1 is not an earlier layer"),
        "{e}"
    );
}
