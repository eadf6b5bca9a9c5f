//! ENAS macro networks: the canonical layer string and its parse errors, the architecture
//! file's `enas` object and its validation, exact parameter and FLOP counts, the built
//! network's forward pass against an f64 CPU reference written here from the released
//! `general_child.py`'s description (not from `enas_net.rs`), its gradients against finite
//! differences of that reference, a few training steps, and the body refusing a path it has
//! no weights for. Tolerances as in `darts_net.rs` (`TOLERANCES.md`).

mod common;

use std::collections::HashSet;

use common::network_check::{
    Act, assert_training_lowers_the_loss, check_gradients, images, randomised,
};
use common::reference::network::Reference;
use common::*;
use nasgpu::nn::{
    Architecture, EnasLayer, EnasLayers, EnasMacroNetwork, EnasOp, EnasOpName, Network,
};

/// Every operation; L = 7 (not a multiple of 3), so the reductions follow layers 1 and 3.
/// Skips cross the first reduction (2 <- 0, 1), both (4 <- 0, 6 <- 0) and the second (5 <- 2).
const EVERY_OP: &str = "conv_3x3|sep_conv_5x5+0|max_pool_3x3+0+1|avg_pool_3x3+1|conv_5x5+0+3|sep_conv_3x3+2+4|max_pool_3x3+0+5";
/// Only the last layer skips, from layers 0 and 2: layer 0 must be reduced at both reductions
/// (after 1 and 3) and layer 2 at the second, though no layer near them reads them.
const LATE_SKIPS: &str =
    "conv_3x3|conv_5x5|sep_conv_3x3|max_pool_3x3|avg_pool_3x3|sep_conv_5x5+0+2";
/// L = 5: the released code's `pool_layers` [L//3 - 1, 2 (L//3) - 1] = [0, 1].
const FIVE: &str = "max_pool_3x3|conv_3x3+0|sep_conv_5x5+0+1|avg_pool_3x3+1|conv_5x5+0+2+3";
/// L = 2 and 1: no reduction.
const TWO: &str = "avg_pool_3x3|sep_conv_3x3+0";
const ONE: &str = "conv_5x5";
/// No skips at all: each reduction reduces only the layer the next one reads.
const NO_SKIPS: &str = "sep_conv_3x3|conv_3x3|avg_pool_3x3|conv_5x5|max_pool_3x3|sep_conv_5x5|conv_3x3|conv_3x3|avg_pool_3x3";

fn layers(s: &str) -> EnasLayers {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn enas_arch(s: &str, c: usize, input: [usize; 3], classes: usize) -> Architecture {
    Architecture::enas_macro(
        input,
        classes,
        EnasMacroNetwork {
            layers: layers(s).0,
            channels: c,
        },
    )
}

/// The layers after which the network reduces: the released code's `pool_layers`,
/// `pool_distance = L // 3; [pool_distance - 1, 2 * pool_distance - 1]`, none for L < 3.
fn reduce_after(l: usize) -> Vec<usize> {
    let d = l / 3;
    if d == 0 {
        Vec::new()
    } else {
        vec![d - 1, 2 * d - 1]
    }
}

/// Whether layer i's output is read after the reduction following layer p: by the next
/// layer (i = p) or by a later layer's skip.
fn needed_after(layers: &[EnasLayer], p: usize, i: usize) -> bool {
    i == p || layers[p + 1..].iter().any(|l| l.skips.contains(&i))
}

#[test]
fn layer_strings_round_trip() {
    for s in [EVERY_OP, LATE_SKIPS, FIVE, TWO, ONE, NO_SKIPS] {
        assert_eq!(layers(s).to_string(), s);
    }
    let op = |o| EnasOpName(o);
    assert_eq!(
        layers("conv_3x3|sep_conv_5x5+0|max_pool_3x3+0+1").0,
        vec![
            EnasLayer {
                op: op(EnasOp::Conv3x3),
                skips: vec![],
            },
            EnasLayer {
                op: op(EnasOp::SepConv5x5),
                skips: vec![0],
            },
            EnasLayer {
                op: op(EnasOp::MaxPool3x3),
                skips: vec![0, 1],
            },
        ]
    );
    // The six operations, by their published names, in the released code's order.
    let names: Vec<&str> = EnasOp::ALL.iter().map(|o| o.name()).collect();
    assert_eq!(
        names,
        [
            "conv_3x3",
            "conv_5x5",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "max_pool_3x3",
            "avg_pool_3x3"
        ]
    );
    for (i, o) in EnasOp::ALL.into_iter().enumerate() {
        assert_eq!(EnasOp::from_name(o.name()), Some(o));
        assert_eq!(o.id(), i);
    }
}

#[test]
fn layer_string_errors_say_what_is_wrong() {
    let cases = [
        (
            "conv_3x3|conv_7x7+0",
            "layer 1: unknown operation 'conv_7x7'",
        ),
        ("conv_3x3||conv_5x5", "layer 1: unknown operation ''"),
        ("", "layer 0: unknown operation ''"),
        (
            "conv_3x3|conv_5x5+1",
            "layer 1: skip from 1 is not an earlier layer",
        ),
        (
            "conv_3x3|conv_5x5|avg_pool_3x3+3",
            "layer 2: skip from 3 is not an earlier layer",
        ),
        (
            "conv_3x3|conv_5x5|sep_conv_3x3+1+0",
            "layer 2: skips [1, 0] are not ascending",
        ),
        (
            "conv_3x3|conv_5x5|sep_conv_3x3+0+0",
            "layer 2: skips [0, 0] are not ascending and distinct",
        ),
        (
            "conv_3x3|conv_5x5+x",
            "layer 1: skip '+x' is not +<layer index>",
        ),
        (
            "conv_3x3|conv_5x5+",
            "layer 1: skip '+' is not +<layer index>",
        ),
        (
            "conv_3x3|conv_5x5+-1",
            "layer 1: skip '+-1' is not +<layer index>",
        ),
    ];
    for (text, want) in cases {
        let e = text.parse::<EnasLayers>().expect_err(text);
        assert!(e.contains(want), "{text}: '{e}' does not say '{want}'");
        assert!(
            e.starts_with(&format!("'{text}'")),
            "{e} does not quote the string"
        );
    }
    // Errors past layer 9 name the layer too.
    let long = format!(
        "{}|conv_3x3+11",
        NO_SKIPS.replace("|avg_pool_3x3", "|avg_pool_3x3|conv_3x3")
    );
    let e = long.parse::<EnasLayers>().expect_err(&long);
    assert!(e.contains("layer 11: skip from 11"), "{e}");
}

#[test]
fn enas_files_round_trip_and_errors_name_the_field() {
    let arch = enas_arch(EVERY_OP, 8, [3, 32, 32], 10);
    let text = arch.to_json();
    let top: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        top.get("layers").is_none() && top.get("enas").is_some(),
        "{text}"
    );
    assert_eq!(Architecture::from_json(&text, "test").unwrap(), arch);
    // Omitted skips are none.
    let short = r#"{"input":[1,28,28],"classes":10,"enas":{"channels":4,"layers":[{"op":"conv_3x3"},{"op":"max_pool_3x3","skips":[0]}]}}"#;
    let a = Architecture::from_json(short, "f").unwrap();
    assert_eq!(
        a.enas.as_ref().unwrap().layers().to_string(),
        "conv_3x3|max_pool_3x3+0"
    );
    assert!(
        a.describe().contains("ENAS macro network")
            && a.describe().contains("conv_3x3|max_pool_3x3+0"),
        "{}",
        a.describe()
    );

    let with = |e: &str| format!(r#"{{"input":[1,28,28],"classes":10,"enas":{e}}}"#);
    let l3 =
        r#"[{"op":"conv_3x3"},{"op":"conv_5x5","skips":[0]},{"op":"avg_pool_3x3","skips":[0,1]}]"#;
    let net = |channels: &str, layers: &str| {
        with(&format!(r#"{{"channels":{channels},"layers":{layers}}}"#))
    };
    let many = format!("[{}]", vec![r#"{"op":"conv_3x3"}"#; 97].join(","));
    let twelve_bad = format!(
        "[{},{{\"op\":\"conv_3x3\",\"skips\":[11]}}]",
        [r#"{"op":"conv_3x3"}"#; 11].join(",")
    );
    let cases = [
        (
            with(&format!(r#"{{"channels":4,"layers":{l3},"cells":3}}"#)),
            "enas.cells",
            "unknown field",
        ),
        (
            net("4", r#"[{"op":"conv_3x3"},{"op":"conv_5x5","skip":[0]}]"#),
            "enas.layers[1].skip",
            "unknown field",
        ),
        (
            net("4", r#"[{"op":"conv_7x7"}]"#),
            "enas.layers[0].op",
            "unknown operation 'conv_7x7'",
        ),
        (
            net("4", r#"[{"op":3}]"#),
            "enas.layers[0].op",
            "invalid type",
        ),
        (
            net("4", r#"[{"skips":[]}]"#),
            "enas.layers[0].op",
            "missing",
        ),
        (
            net("4", r#"[{"op":"conv_3x3"},"conv_5x5"]"#),
            "enas.layers[1]",
            "expected a JSON object",
        ),
        (
            net(
                "4",
                r#"[{"op":"conv_3x3"},{"op":"conv_5x5"},{"op":"conv_3x3","skips":[2]}]"#,
            ),
            "enas.layers[2].skips",
            "skip from 2 is not an earlier layer",
        ),
        (
            net(
                "4",
                r#"[{"op":"conv_3x3"},{"op":"conv_5x5"},{"op":"conv_3x3","skips":[1,0]}]"#,
            ),
            "enas.layers[2].skips",
            "not ascending",
        ),
        (
            net("4", r#"[{"op":"conv_3x3"},{"op":"conv_5x5","skips":[-1]}]"#),
            "enas.layers[1].skips",
            "invalid value",
        ),
        (
            net("4", &twelve_bad),
            "enas.layers[11].skips",
            "skip from 11",
        ),
        (net("0", l3), "enas.channels", "0 is not in 1..=1024"),
        (
            with(&format!(r#"{{"layers":{l3}}}"#)),
            "enas.channels",
            "missing",
        ),
        (net("4", "[]"), "enas.layers", "0 layers is not in 1..=96"),
        (net("4", &many), "enas.layers", "97 layers is not in 1..=96"),
        (with(r#"{"channels":4}"#), "enas.layers", "missing"),
        (with("[]"), "enas", "expected a JSON object"),
        (
            format!(
                r#"{{"input":[1,28,28],"classes":10,"layers":[],"enas":{{"channels":4,"layers":{l3}}}}}"#
            ),
            "layers",
            "together with enas",
        ),
        (
            format!(
                r#"{{"input":[1,28,28],"classes":10,"darts":{{"genotype":"{}"}},"enas":{{"channels":4,"layers":{l3}}}}}"#,
                nasgpu::nn::darts_cell::DARTS_V2
            ),
            "darts",
            "together with enas",
        ),
    ];
    for (text, field, want) in cases {
        let e = Architecture::from_json(&text, "enas.json").expect_err(&text);
        assert_eq!(e.field, field, "{text}: {e}");
        assert!(
            e.message.contains(want),
            "{text}: '{e}' does not say '{want}'"
        );
        assert!(e.to_string().starts_with("enas.json: "), "{e}");
    }
    // A network built in code is validated the same way.
    let mut bad = enas_arch(FIVE, 4, [1, 8, 8], 10);
    bad.enas.as_mut().unwrap().layers[3].skips = vec![4];
    assert_eq!(bad.validate().unwrap_err().field, "enas.layers[3].skips");
}

#[test]
fn parameter_count_equals_the_built_parameters() {
    let gpu = gpu();
    for (s, c, input) in [
        (EVERY_OP, 4, [3, 13, 13]),
        (LATE_SKIPS, 3, [1, 11, 9]),
        (FIVE, 5, [2, 9, 9]),
        (TWO, 4, [1, 8, 8]),
        (ONE, 6, [3, 8, 8]),
        (NO_SKIPS, 2, [1, 9, 7]),
    ] {
        let arch = enas_arch(s, c, input, 7);
        arch.validate().unwrap();
        let net = Network::new(&gpu, &arch, 1).unwrap();
        let built: usize = net.parameters().iter().map(|p| p.tensor.numel()).sum();
        assert_eq!(arch.parameter_count(), built, "{s} C={c}");
        let state = net.state();
        let names: HashSet<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), state.len(), "duplicate names in {s}");
        assert_eq!(state.len(), net.parameters().len() + 2 * net.norms().len());
        // A factorized reduction exists exactly for the outputs read after it.
        let net_desc = arch.enas.as_ref().unwrap();
        let ls = &net_desc.layers;
        for (r, &p) in reduce_after(ls.len()).iter().enumerate() {
            for i in 0..=p {
                let name = format!("reduce{r}.layer{i}.conv_shifted.weight");
                let needed = needed_after(ls, p, i);
                assert_eq!(names.contains(name.as_str()), needed, "{s}: {name}");
                assert_eq!(
                    net_desc.reduced_needed(p, i),
                    needed,
                    "{s}: reduced_needed({p}, {i})"
                );
            }
        }
        let last_reduction = format!("reduce{}.", reduce_after(ls.len()).len());
        assert!(
            !names.iter().any(|n| n.starts_with(&last_reduction)),
            "{s}: more reductions than {}",
            reduce_after(ls.len()).len()
        );
    }
    // L = 5 reduces after layers 0 and 1 (the released `pool_layers`), so layer 2 is 4C wide.
    let shape = EnasMacroNetwork::shape_of(5, 3);
    assert_eq!(shape.reduce_after, [0, 1]);
    assert_eq!(shape.channels, [3, 6, 12, 12, 12]);
    assert_eq!(EnasMacroNetwork::shape_of(12, 4).reduce_after, [3, 7]);
    assert!(EnasMacroNetwork::shape_of(2, 4).reduce_after.is_empty());
}

/// The released `general_child.py` fixed-architecture network in f64, from its description.
impl Reference<'_, EnasMacroNetwork> {
    /// A layer's branch: conv1x1-BN-ReLU, then its operation.
    fn branch(&mut self, x: &Act, op: EnasOp, name: &str) -> Act {
        let c = x.shape[1];
        let y = self.conv(x, &format!("{name}.inp_conv.weight"), c, 1, 1);
        let y = Self::relu(&self.bn(&y, &format!("{name}.inp_bn")));
        let y = match op {
            EnasOp::MaxPool3x3 => return Self::pool(&y, true, 3, 1),
            EnasOp::AvgPool3x3 => return Self::pool(&y, false, 3, 1),
            EnasOp::Conv3x3 => self.conv(&y, &format!("{name}.conv.weight"), c, 3, 1),
            EnasOp::Conv5x5 => self.conv(&y, &format!("{name}.conv.weight"), c, 5, 1),
            EnasOp::SepConv3x3 | EnasOp::SepConv5x5 => {
                let k = if op == EnasOp::SepConv3x3 { 3 } else { 5 };
                let d = self.gconv(&y, &format!("{name}.depthwise.weight"), c, c, k, 1, 1, 0);
                self.conv(&d, &format!("{name}.pointwise.weight"), c, 1, 1)
            }
        };
        Self::relu(&self.bn(&y, &format!("{name}.bn")))
    }

    fn forward(&mut self, image: &Act, classes: usize) -> Vec<f64> {
        let net = self.net;
        let layers = &net.layers;
        let mut input = self.stem(image, net.channels);
        let reductions = reduce_after(layers.len());
        let mut outs: Vec<Act> = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            let op = layer.op.0;
            let mut sum = self.branch(&input, op, &format!("layer{l}.{}", op.name()));
            for &i in &layer.skips {
                assert_eq!(outs[i].shape, sum.shape, "layer {l} skips from {i}");
                sum = Self::add(&sum, &outs[i]);
            }
            outs.push(self.bn(&sum, &format!("layer{l}.bn")));
            if let Some(r) = reductions.iter().position(|&p| p == l) {
                for (i, out) in outs.iter_mut().enumerate() {
                    if needed_after(layers, l, i) {
                        let c = out.shape[1];
                        *out = self.factorized_reduce(out, &format!("reduce{r}.layer{i}"), 2 * c);
                    }
                }
            }
            input = outs[l].clone();
        }
        self.classifier(&input, classes)
    }
}

/// Logits to atol 1e-5 (scaled by the logit's term size beyond 2, as in `darts_net.rs`) +
/// rtol 1e-4, in both modes, on odd image sizes (13x13: reductions see 13x13 and 7x7, so the
/// shifted grid runs off the image), batch 1 and 2, 1..3 input channels; in evaluation mode
/// the reference reads every tensor the network holds; FLOPs = the reference's MACs x 2.
#[test]
fn forward_matches_the_f64_reference() {
    let gpu = gpu();
    for (s, c, input, batch) in [
        (EVERY_OP, 4, [3, 13, 13], 2),
        (LATE_SKIPS, 3, [1, 11, 9], 2),
        (FIVE, 3, [2, 13, 11], 1),
        (TWO, 3, [3, 9, 7], 2),
        (ONE, 2, [1, 7, 5], 1),
    ] {
        for train in [false, true] {
            let seed = fresh_seed();
            let classes = 6;
            let arch = enas_arch(s, c, input, classes);
            let (net, host) = randomised(&gpu, &arch, seed);
            let x = images(seed, [batch, input[0], input[1], input[2]]);
            // The logits poisoned with NaN before the run, so an unwritten one fails.
            let got = common::supernet::logits(&gpu, &x.shape, &x.data, |g, b, xv| {
                net.forward(g, b, xv, train).unwrap()
            });
            let mut reference = Reference::new(arch.enas.as_ref().unwrap(), &host, train);
            let want = reference.forward(&x, classes);
            let case = format!("{s} C={c} {input:?} batch {batch} train={train}");
            reference.assert_logits(&case, seed, &got, &want);
            if !train {
                let mut unread: Vec<&String> = host
                    .keys()
                    .filter(|k| !reference.read.borrow().contains(*k))
                    .collect();
                unread.sort();
                assert!(
                    unread.is_empty(),
                    "{s}: the network holds tensors the reference does not use: {unread:?}"
                );
            }
            assert_eq!(
                arch.forward_flops(),
                2.0 * reference.macs as f64 / batch as f64,
                "{s}: FLOPs per image"
            );
        }
    }
}

/// Gradients of L = sum(u * logits) with respect to parameters spread over the network (the
/// stem, each kind of branch, layer and branch batch norms, both reductions, the classifier),
/// against central differences of the f64 reference in training mode: atol 1e-4 + rtol 1e-3.
#[test]
fn gradients_match_finite_differences() {
    let gpu = gpu();
    let seed = fresh_seed();
    let classes = 5;
    // Reductions after layers 1 and 3; layer 3 skips from 0 (reduced once), layer 5 from 1
    // (reduced twice).
    let s = "conv_3x3|sep_conv_3x3+0|max_pool_3x3+1|conv_5x5+0+2|avg_pool_3x3+3|sep_conv_5x5+1+4";
    let arch = enas_arch(s, 3, [2, 11, 9], classes);
    let (net, host) = randomised(&gpu, &arch, seed);
    let x = images(seed, [2, 2, 11, 9]);
    let checked = [
        "stem.conv.weight",
        "layer0.conv_3x3.conv.weight",
        "layer1.sep_conv_3x3.depthwise.weight",
        "layer2.max_pool_3x3.inp_conv.weight",
        "layer2.bn.beta",
        "layer3.conv_5x5.bn.gamma",
        "layer4.avg_pool_3x3.inp_bn.gamma",
        "layer5.sep_conv_5x5.pointwise.weight",
        "reduce0.layer0.conv_shifted.weight",
        "reduce0.layer1.conv_even.weight",
        "reduce1.layer1.conv_even.weight",
        "reduce1.layer3.conv_shifted.weight",
        "classifier.weight",
    ];
    let enas = arch.enas.as_ref().unwrap();
    check_gradients(&gpu, seed, &net, &host, &x, classes, &checked, |p| {
        Reference::new(enas, p, true).forward(&x, classes)
    });
}

/// Twelve SGD steps on one fixed batch of 32 bundled images lower its loss by at least 20%.
#[test]
fn training_steps_decrease_the_loss() {
    assert_training_lowers_the_loss(|input, classes| enas_arch(EVERY_OP, 4, input, classes));
}

/// FLOPs of `conv_3x3|sep_conv_5x5+0|max_pool_3x3+0+1` at C = 4 on a 3x13x13 image, 10
/// classes, counted by hand: L = 3 reduces after layers 0 and 1, 13x13 -> 7x7 -> 4x4.
#[test]
fn forward_flops_of_a_small_network_counted_by_hand() {
    let arch = enas_arch(
        "conv_3x3|sep_conv_5x5+0|max_pool_3x3+0+1",
        4,
        [3, 13, 13],
        10,
    );
    let stem = 13 * 13 * (3 * 3 * 3 * 4);
    // Layer 0 at C = 4: 1x1 conv 4->4, 3x3 conv 4->4.
    let layer0 = 13 * 13 * (4 * 4 + 9 * 4 * 4);
    // Reduction 0: layer 0 only (the next layer's input; the later skips read it too), two
    // 1x1 convs 4->4 at 7x7.
    let reduce0 = 7 * 7 * (4 * 4 + 4 * 4);
    // Layer 1 at C = 8: 1x1 conv, depthwise 5x5, pointwise.
    let layer1 = 7 * 7 * (8 * 8 + 25 * 8 + 8 * 8);
    // Reduction 1: layers 0 (layer 2 skips from it) and 1, each two 1x1 convs 8->8 at 4x4.
    let reduce1 = 2 * 4 * 4 * (8 * 8 + 8 * 8);
    // Layer 2 at C = 16: the 1x1 conv before the pool.
    let layer2 = 4 * 4 * (16 * 16);
    let classifier = 16 * 10;
    let macs = stem + layer0 + reduce0 + layer1 + reduce1 + layer2 + classifier;
    assert_eq!(arch.forward_flops(), 2.0 * macs as f64);
}

/// The body behind the network (shared with the supernet) refuses a path that needs weights
/// it does not hold, saying which, rather than running with some other layer's weights.
#[test]
fn the_body_refuses_a_path_it_has_no_weights_for() {
    use nasgpu::autograd::Graph;
    use nasgpu::nn::Binder;
    use nasgpu::nn::enas_net::EnasNet;
    let gpu = gpu();
    let net = EnasMacroNetwork {
        layers: layers(EVERY_OP).0,
        channels: 2,
    };
    let built = EnasNet::new(&gpu, &net, 1, 4, &mut nasgpu::util::seeded_rng(1)).unwrap();
    let x = images(1, [1, 1, 7, 7]);
    let refusal = |path: &str| {
        let mut g = Graph::new(&gpu);
        let xt = upload(&gpu, &x.shape, &x.data);
        let xv = g.input(&xt, "images");
        match built
            .body
            .forward(&mut g, &mut Binder::new(), xv, &layers(path).0, true)
        {
            Ok(_) => panic!("{path}: a path the body has no weights for was run"),
            Err(e) => e.to_string(),
        }
    };
    let cases = [
        // Layer 1 holds only sep_conv_5x5.
        (
            EVERY_OP.replacen("sep_conv_5x5", "conv_5x5", 1),
            "layer 1 has no conv_5x5 branch",
        ),
        // Layer 5 skipping from 1 too needs layer 1 at the second reduction's size, which
        // EVERY_OP never needs (no layer after 3 reads layer 1), so reduce1.layer1 is not built.
        (
            EVERY_OP.replacen("sep_conv_3x3+2+4", "sep_conv_3x3+1+2+4", 1),
            "reduction 1 of layer 1 is not built",
        ),
        (
            "conv_3x3|sep_conv_5x5+0".to_string(),
            "2 layers given to a network of 7",
        ),
    ];
    for (path, want) in cases {
        let e = refusal(&path);
        assert!(e.contains(want), "{path}: '{e}' does not say '{want}'");
    }
    // The network's own path runs.
    let mut g = Graph::new(&gpu);
    let xt = upload(&gpu, &x.shape, &x.data);
    let xv = g.input(&xt, "images");
    built.forward(&mut g, &mut Binder::new(), xv, true).unwrap();
}
