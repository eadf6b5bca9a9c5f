//! DARTS cell networks: the genotype's canonical and published forms, the architecture file's
//! `darts` object and its validation, exact parameter and FLOP counts, the built network's
//! forward pass against an f64 CPU reference written here from the published `model.py` /
//! `operations.py` (not from `darts_net.rs`), its gradients against finite differences of that
//! reference, and a few training steps. Tolerances as in `nb201_net.rs` (`TOLERANCES.md`).

mod common;

use std::collections::{HashMap, HashSet};

use common::network_check::{
    Act, assert_training_lowers_the_loss, check_gradients, gpu_logits, images, randomised,
};
use common::reference::network::Reference;
use common::*;
use nasgpu::autograd::{Graph, Plan};
use nasgpu::nn::darts_cell::{CellPlace, DARTS_V2};
use nasgpu::nn::{Architecture, Binder, DartsGenotype, DartsNetwork, DartsOp, Network};

/// Every operation, in both cells, on inputs 0, 1 and intermediate nodes.
const ALL_OPS: &str = "normal:sep_conv_3x3~0,dil_conv_5x5~1|max_pool_3x3~0,skip_connect~2|avg_pool_3x3~1,sep_conv_5x5~3|dil_conv_3x3~2,skip_connect~4;reduce:skip_connect~0,sep_conv_5x5~1|avg_pool_3x3~1,dil_conv_3x3~2|max_pool_3x3~0,sep_conv_3x3~3|dil_conv_5x5~1,skip_connect~3";
/// Skips and pools only (no parameters inside the cells but the preprocessing and the
/// stride-2 skips' factorized reductions).
const NO_CONVS: &str = "normal:skip_connect~0,skip_connect~1|avg_pool_3x3~0,max_pool_3x3~2|skip_connect~2,skip_connect~3|max_pool_3x3~1,avg_pool_3x3~4;reduce:skip_connect~0,max_pool_3x3~1|skip_connect~1,skip_connect~2|avg_pool_3x3~0,skip_connect~3|max_pool_3x3~1,skip_connect~4";

fn genotype(s: &str) -> DartsGenotype {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn darts_arch(g: &str, cells: usize, c: usize, input: [usize; 3], classes: usize) -> Architecture {
    Architecture::darts_cells(
        input,
        classes,
        DartsNetwork {
            genotype: genotype(g),
            channels: c,
            cells,
        },
    )
}

#[test]
fn genotype_strings_round_trip_and_read_the_published_form() {
    for s in [ALL_OPS, NO_CONVS] {
        assert_eq!(genotype(s).to_string(), s);
    }
    // DARTS V2 as published; its canonical form lists each node's pair in input order.
    let v2 = genotype(DARTS_V2);
    let canonical = v2.to_string();
    assert_eq!(
        canonical,
        "normal:sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|skip_connect~0,sep_conv_3x3~1|skip_connect~0,dil_conv_3x3~2;reduce:max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~1,skip_connect~2|max_pool_3x3~0,skip_connect~2|max_pool_3x3~1,skip_connect~2"
    );
    assert_eq!(genotype(&canonical), v2);
    // A pair written in the other order names the same cell.
    let swapped = ALL_OPS.replacen(
        "sep_conv_3x3~0,dil_conv_5x5~1",
        "dil_conv_5x5~1,sep_conv_3x3~0",
        1,
    );
    assert_eq!(genotype(&swapped), genotype(ALL_OPS));
    // range(2, 6) is the published concat too.
    let ranged = DARTS_V2
        .replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
        .replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 6)");
    assert_eq!(genotype(&ranged), v2);
}

#[test]
fn genotype_parse_errors_say_what_is_wrong() {
    let cases = [
        (
            ALL_OPS.replacen("sep_conv_3x3~0", "conv_7x7~0", 1),
            "unknown operation 'conv_7x7'",
        ),
        (
            ALL_OPS.replacen("sep_conv_3x3~0", "none~0", 1),
            "'none' is an operation of the search",
        ),
        (
            ALL_OPS.replacen("dil_conv_5x5~1", "dil_conv_5x5~0", 1),
            "reads node 0 twice",
        ),
        (
            ALL_OPS.replacen("sep_conv_5x5~3", "sep_conv_5x5~4", 1),
            "node 4 reads node 4",
        ),
        (
            ALL_OPS.replacen("skip_connect~2|", "skip_connect~x|", 1),
            "input 'x'",
        ),
        (
            ALL_OPS.replacen("|dil_conv_3x3~2,skip_connect~4", "", 1),
            "3 nodes, expected 4",
        ),
        (
            ALL_OPS.replacen(",dil_conv_5x5~1", "", 1),
            "expected two 'op~input'",
        ),
        ("normal:sep_conv_3x3~0".to_string(), "neither"),
        (
            DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[3, 4, 5]"),
            "normal_concat must be the four intermediate nodes",
        ),
        (
            DARTS_V2.replace("('dil_conv_3x3', 2)", ""),
            "7 operations, expected 8",
        ),
    ];
    for (text, want) in cases {
        let e = text.parse::<DartsGenotype>().expect_err(&text);
        assert!(e.contains(want), "{text}: '{e}' does not say '{want}'");
    }
}

#[test]
fn darts_files_round_trip_and_errors_name_the_field() {
    let arch = darts_arch(ALL_OPS, 5, 8, [3, 32, 32], 10);
    let text = arch.to_json();
    assert!(!text.contains("layers") && text.contains(ALL_OPS), "{text}");
    assert_eq!(Architecture::from_json(&text, "test").unwrap(), arch);
    // Defaults: the paper's search network, C = 16 and 8 cells.
    let short = format!(r#"{{"input":[1,28,28],"classes":10,"darts":{{"genotype":"{ALL_OPS}"}}}}"#);
    let a = Architecture::from_json(&short, "f").unwrap();
    let net = a.darts.as_ref().unwrap();
    assert_eq!((net.channels, net.cells), (16, 8));
    assert!(a.describe().contains("DARTS cells") && a.describe().contains(ALL_OPS));

    let with = |d: &str| format!(r#"{{"input":[1,28,28],"classes":10,"darts":{d}}}"#);
    let g = format!(r#""genotype":"{ALL_OPS}""#);
    let cases = [
        (
            with(r#"{"genotype":"normal:x"}"#),
            "darts.genotype",
            "neither",
        ),
        (with(r#"{"genotype":3}"#), "darts.genotype", "invalid type"),
        (with(r#"{"cells":8}"#), "darts.genotype", "missing"),
        (
            with(&format!("{{{g},\"cells\":2}}")),
            "darts.cells",
            "2 is not in 3..=64",
        ),
        (
            with(&format!("{{{g},\"channels\":0}}")),
            "darts.channels",
            "0 is not in 1..=1024",
        ),
        (
            with(&format!("{{{g},\"layers\":3}}")),
            "darts.layers",
            "unknown field",
        ),
        (with("[]"), "darts", "expected a JSON object"),
        (
            format!(r#"{{"input":[1,28,28],"classes":10,"layers":[],"darts":{{{g}}}}}"#),
            "layers",
            "together with darts",
        ),
        (
            format!(
                r#"{{"input":[1,28,28],"classes":10,"nb201":{{"genotype":"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"}},"darts":{{{g}}}}}"#
            ),
            "nb201",
            "together with darts",
        ),
    ];
    for (text, field, want) in cases {
        let e = Architecture::from_json(&text, "cells.json").expect_err(&text);
        assert_eq!(e.field, field, "{text}: {e}");
        assert!(
            e.message.contains(want),
            "{text}: '{e}' does not say '{want}'"
        );
        assert!(e.to_string().starts_with("cells.json: "), "{e}");
    }
}

/// DARTS V2 at the paper's CIFAR-10 size (C = 36, 20 cells) has 3.3M parameters (the paper:
/// "3.3M"; the published code's count without the auxiliary head is 3,349,342).
#[test]
fn parameter_count_of_the_published_network() {
    let arch = Architecture::darts_cells(
        [3, 32, 32],
        10,
        DartsNetwork {
            genotype: genotype(DARTS_V2),
            channels: 36,
            cells: 20,
        },
    );
    assert_eq!(arch.parameter_count(), 3_349_342);
}

#[test]
fn parameter_count_equals_the_built_parameters() {
    let gpu = gpu();
    for (g, cells, c, input) in [
        (ALL_OPS, 3, 4, [1, 8, 8]),
        (ALL_OPS, 5, 5, [3, 9, 7]),
        (NO_CONVS, 4, 6, [2, 8, 8]),
        (DARTS_V2, 6, 4, [1, 11, 11]),
    ] {
        let arch = darts_arch(g, cells, c, input, 7);
        arch.validate().unwrap();
        let net = Network::new(&gpu, &arch, 1).unwrap();
        let built: usize = net.parameters().iter().map(|p| p.tensor.numel()).sum();
        assert_eq!(arch.parameter_count(), built, "{g} cells={cells} C={c}");
        let state = net.state();
        let names: HashSet<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), state.len(), "duplicate names in {g}");
        assert_eq!(state.len(), net.parameters().len() + 2 * net.norms().len());
        for name in [
            "stem.conv.weight",
            "cell0.pre0.conv.weight",
            "classifier.bias",
        ] {
            assert!(names.contains(name), "{name} missing from {names:?}");
        }
    }
    // After the first reduction cell (cell 1 of 3), s0 is reduced by a factorized reduction.
    let net = Network::new(&gpu, &darts_arch(ALL_OPS, 3, 4, [1, 8, 8], 7), 1).unwrap();
    let names: Vec<String> = net.state().into_iter().map(|(n, _)| n).collect();
    for name in [
        "cell2.pre0.conv_even.weight",
        "cell2.pre0.conv_shifted.weight",
        "cell1.node2.op0.conv_even.weight",
        "cell0.node2.op1.unit0.depthwise.weight",
        "cell0.node5.op0.unit0.bn.running_var",
        "cell1.node4.op1.unit1.pointwise.weight",
    ] {
        assert!(
            names.contains(&name.to_string()),
            "{name} missing from {names:?}"
        );
    }
}

/// The published `NetworkCIFAR` in f64, from its description.
impl Reference<'_, DartsNetwork> {
    /// One ReLU -> depthwise -> pointwise -> BN unit.
    fn sep_unit(&mut self, x: &Act, name: &str, k: usize, stride: usize, dilation: usize) -> Act {
        let c = x.shape[1];
        let y = self.gconv(
            &Self::relu(x),
            &format!("{name}.depthwise.weight"),
            c,
            c,
            k,
            stride,
            dilation,
            0,
        );
        let y = self.conv(&y, &format!("{name}.pointwise.weight"), c, 1, 1);
        self.bn(&y, &format!("{name}.bn"))
    }

    fn op(&mut self, op: DartsOp, x: &Act, name: &str, stride: usize) -> Act {
        match op {
            DartsOp::MaxPool3x3 => Self::pool(x, true, 3, stride),
            DartsOp::AvgPool3x3 => Self::pool(x, false, 3, stride),
            DartsOp::SkipConnect if stride == 1 => x.clone(),
            DartsOp::SkipConnect => self.factorized_reduce(x, name, x.shape[1]),
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => {
                let k = if op == DartsOp::SepConv3x3 { 3 } else { 5 };
                let y = self.sep_unit(x, &format!("{name}.unit0"), k, stride, 1);
                self.sep_unit(&y, &format!("{name}.unit1"), k, 1, 1)
            }
            DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => {
                let k = if op == DartsOp::DilConv3x3 { 3 } else { 5 };
                self.sep_unit(x, &format!("{name}.unit0"), k, stride, 2)
            }
        }
    }

    fn cell(&mut self, i: usize, place: &CellPlace, s0: &Act, s1: &Act) -> Act {
        let name = format!("cell{i}");
        let c = place.c;
        let p0 = if place.reduction_prev {
            self.factorized_reduce(s0, &format!("{name}.pre0"), c)
        } else {
            self.relu_conv_bn(s0, &format!("{name}.pre0"), c, 1, 1)
        };
        let p1 = self.relu_conv_bn(s1, &format!("{name}.pre1"), c, 1, 1);
        let mut states = vec![p0, p1];
        let cell = if place.reduction {
            self.net.genotype.reduce
        } else {
            self.net.genotype.normal
        };
        for (j, node) in cell.nodes.iter().enumerate() {
            let mut hs = Vec::new();
            for (k, e) in node.iter().enumerate() {
                let stride = if place.reduction && e.input < 2 { 2 } else { 1 };
                let input = states[e.input].clone();
                hs.push(self.op(e.op, &input, &format!("{name}.node{}.op{k}", j + 2), stride));
            }
            assert_eq!(hs[0].shape, hs[1].shape, "{name} node {}", j + 2);
            states.push(Self::add(&hs[0], &hs[1]));
        }
        Self::concat(&states[2..])
    }

    fn forward(&mut self, image: &Act, classes: usize) -> Vec<f64> {
        let y = self.stem(image, 3 * self.net.channels);
        let places = self.net.places([image.shape[2], image.shape[3]]);
        let (mut s0, mut s1) = (y.clone(), y);
        for (i, place) in places.iter().enumerate() {
            let out = self.cell(i, place, &s0, &s1);
            assert_eq!([out.shape[2], out.shape[3]], place.size_out);
            (s0, s1) = (s1, out);
        }
        self.classifier(&s1, classes)
    }
}

/// Logits to atol 1e-5 (scaled by the logit's term size beyond 2, as in `nb201_net.rs`) +
/// rtol 1e-4, in both modes, on odd image sizes (9x7: reductions to 5x4 and 3x2, so the
/// factorized reductions' shifted grid runs off the image); FLOPs = the reference's MACs x 2.
#[test]
fn forward_matches_the_f64_reference() {
    let gpu = gpu();
    for (g, input) in [
        (ALL_OPS, [3, 9, 7]),
        (NO_CONVS, [1, 8, 8]),
        (DARTS_V2, [2, 8, 8]),
    ] {
        for train in [false, true] {
            let seed = fresh_seed();
            let classes = 6;
            let arch = darts_arch(g, 4, 4, input, classes);
            let (net, host) = randomised(&gpu, &arch, seed);
            let x = images(seed, [2, input[0], input[1], input[2]]);
            let got = gpu_logits(&gpu, &net, &x, train);
            let mut reference = Reference::new(arch.darts.as_ref().unwrap(), &host, train);
            let want = reference.forward(&x, classes);
            reference.assert_logits(&format!("{g} train={train}"), seed, &got, &want);
            assert_eq!(
                arch.forward_flops(),
                2.0 * reference.macs as f64 / 2.0,
                "{g}: FLOPs per image"
            );
        }
    }
}

/// Gradients of L = sum(u * logits) with respect to parameters spread over the network
/// (every kind of op, both cells, the preprocessing), against central differences of the f64
/// reference in training mode: atol 1e-4 + rtol 1e-3, as `nb201_net.rs`.
#[test]
fn gradients_match_finite_differences() {
    let gpu = gpu();
    let seed = fresh_seed();
    let classes = 5;
    let arch = darts_arch(ALL_OPS, 3, 4, [2, 12, 12], classes);
    let (net, host) = randomised(&gpu, &arch, seed);
    let x = images(seed, [2, 2, 12, 12]);
    let checked = [
        "stem.conv.weight",
        "cell0.pre0.conv.weight",
        "cell0.node2.op0.unit0.depthwise.weight",
        "cell0.node2.op1.unit0.pointwise.weight",
        "cell0.node4.op1.unit1.bn.gamma",
        "cell1.node2.op0.conv_shifted.weight",
        "cell1.node3.op1.unit0.depthwise.weight",
        "cell2.pre0.conv_even.weight",
        "cell2.node5.op0.unit0.bn.beta",
        "classifier.weight",
    ];
    let darts = arch.darts.as_ref().unwrap();
    check_gradients(&gpu, seed, &net, &host, &x, classes, &checked, |p| {
        Reference::new(darts, p, true).forward(&x, classes)
    });
}

/// Twelve SGD steps on one fixed batch of 32 bundled images lower its loss by at least 20%.
#[test]
fn training_steps_decrease_the_loss() {
    assert_training_lowers_the_loss(|input, classes| darts_arch(DARTS_V2, 3, 4, input, classes));
}

/// `nasgpu export` of a DARTS network writes every format (the numbers of onnx and pytorch
/// against nasgpu's are checked in `export_python.rs`); the json copy is the same network.
#[test]
fn export_writes_every_format() {
    use nasgpu::nn::meta::architecture_file_json;
    use nasgpu::nn::weights::{self, NamedTensor};
    let gpu = gpu();
    let dir = std::env::temp_dir().join(format!("nasgpu-darts-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let arch = darts_arch(DARTS_V2, 3, 4, [1, 8, 8], 10);
    let net = Network::new(&gpu, &arch, 3).unwrap();
    let tensors: Vec<NamedTensor> = net
        .state()
        .into_iter()
        .map(|(name, t)| NamedTensor {
            name,
            shape: t.shape().to_vec(),
            data: t.to_f32().unwrap(),
        })
        .collect();
    let metadata = nasgpu::nn::ModelMeta::safetensors_metadata(None, &arch);
    weights::save(&dir.join("weights.safetensors"), &tensors, &metadata).unwrap();
    std::fs::write(
        dir.join("architecture.json"),
        architecture_file_json(&arch, None),
    )
    .unwrap();
    let export = |format: &str, out: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_nasgpu"))
            .args(["export", dir.to_str().unwrap(), "--format", format, "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    for format in ["json", "safetensors", "onnx", "pytorch"] {
        let out = dir.join(format!("out.{format}"));
        let o = export(format, &out);
        assert!(
            o.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.exists());
    }
    let back = Architecture::load(&dir.join("out.json")).unwrap();
    assert_eq!(back, arch);
    let py = std::fs::read_to_string(dir.join("out.pytorch")).unwrap();
    assert!(
        py.contains("F.max_pool2d") && py.contains("groups=4"),
        "{py}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `nasgpu search --space darts` end to end with a tiny proxy: evolution finishes its budget,
/// `best.json` is a DARTS architecture file, and `nasgpu report --html` describes its cells.
#[test]
fn a_search_of_the_darts_space_runs_and_reports_its_best_cells() {
    let dir = std::env::temp_dir().join(format!("nasgpu-darts-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"run": {"space": "darts", "budget": 3},
            "darts_space": {"channels": 2, "cells": 3},
            "evolution": {"population": 2, "sample_size": 2},
            "child": {"epochs": 1, "batch_size": 32, "train_images": 64,
                      "validation_images": 32, "latency": false},
            "reinforce": {"children_per_step": 2},
            "supernet": {"warmup_steps": 2, "steps_per_update": 1, "batch_size": 16,
                         "eval_images": 16}}"#,
    )
    .unwrap();
    let run = dir.join("run");
    let nasgpu = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_nasgpu"))
            .args(args)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .env("NASGPU_AUTOTUNE", "0")
            .output()
            .unwrap()
    };
    let o = nasgpu(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--strategy",
        "evolution",
        "--out",
        run.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("space darts"), "{err}");
    let best = Architecture::load(&run.join("best.json")).unwrap();
    let net = best.darts.expect("a DARTS network");
    assert_eq!((net.channels, net.cells), (2, 3));
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 3);
    assert!(history.contains(&net.genotype.to_string()));
    let html = dir.join("report.html");
    let o = nasgpu(&[
        "report",
        run.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("DARTS cells")
            && page.contains("<svg class=\"plot arch cell darts\"")
            && page.contains("reduction cell"),
        "no drawn cells in the report"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The DARTS supernet: its parameter count is the one the memory estimate uses, and a path
/// through it computes exactly what the standalone network of that genotype computes with the
/// path's weights copied in (same cell code, same kernels: the logits' bits agree), for
/// sampled paths on odd image sizes.
#[test]
fn a_supernet_path_is_the_standalone_network_with_its_weights() {
    use nasgpu::nn::supernet::{DartsSupernet, Supernet};
    let gpu = gpu();
    let seed = fresh_seed();
    let (input, classes) = ([2, 9, 7], 5);
    let shape = DartsNetwork {
        genotype: genotype(ALL_OPS),
        channels: 3,
        cells: 4,
    };
    let mut r = nasgpu::util::seeded_rng(seed);
    let supernet = DartsSupernet::new(&gpu, &shape, input, classes, &mut r).unwrap();
    let shared: HashMap<String, &nasgpu::tensor::Tensor> = supernet
        .shared_parameters()
        .into_iter()
        .map(|p| (p.name.clone(), &p.tensor))
        .collect();
    let total: usize = shared.values().map(|t| t.numel()).sum();
    assert_eq!(total, shape.supernet_parameter_count(input[0], classes));
    assert_eq!(
        shared.len(),
        supernet.shared_parameters().len(),
        "unique names"
    );
    let x = images(seed, [2, input[0], input[1], input[2]]);
    for _ in 0..3 {
        let path = supernet.sample_path(&mut r);
        let arch = Architecture::darts_cells(
            input,
            classes,
            DartsNetwork {
                genotype: path,
                ..shape.clone()
            },
        );
        assert_eq!(supernet.path_of(&arch).unwrap(), path);
        let net = Network::new(&gpu, &arch, seed ^ 1).unwrap();
        for p in net.parameters() {
            // cell{c}.node{J}.op{k}.rest -> cell{c}.edge_{input}_{J}.{op}.rest
            let parts: Vec<&str> = p.name.splitn(4, '.').collect();
            let name = if parts.len() == 4 && parts[1].starts_with("node") {
                let c: usize = parts[0][4..].parse().unwrap();
                let j: usize = parts[1][4..].parse().unwrap();
                let k: usize = parts[2][2..].parse().unwrap();
                let cell = if shape.is_reduction(c) {
                    path.reduce
                } else {
                    path.normal
                };
                let e = cell.nodes[j - 2][k];
                format!("cell{c}.edge_{}_{j}.{}.{}", e.input, e.op.name(), parts[3])
            } else {
                p.name.clone()
            };
            let from = shared
                .get(&name)
                .unwrap_or_else(|| panic!("{} (as {name}) is not in the supernet", p.name));
            assert_eq!(from.shape(), p.tensor.shape(), "{name}");
            p.tensor.write_f32(&from.to_f32().unwrap());
        }
        let standalone = gpu_logits(&gpu, &net, &x, true);
        let mut g = Graph::new(&gpu);
        let xt = upload(&gpu, &x.shape, &x.data);
        let xv = g.input(&xt, "images");
        let mut b = Binder::new();
        let logits = supernet
            .forward_path(&mut g, &mut b, xv, &path, true)
            .unwrap();
        let plan = Plan::compile(&g, &[logits]).unwrap();
        plan.run_all().unwrap();
        let through = download(plan.tensor(logits).unwrap());
        assert_eq!(
            through.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            standalone.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "seed {seed}, path {path}"
        );
    }
}
