//! Named architectures for `nasgpu train --preset`.

use super::arch::{Architecture, LayerSpec};

fn conv(k: usize, filters: usize, stride: usize, input: Option<usize>) -> LayerSpec {
    LayerSpec {
        filter_height: k,
        filter_width: k,
        filters,
        stride,
        inputs: input.into_iter().collect(),
    }
}

/// Preset names, for help texts and errors.
pub const PRESETS: &[&str] = &["small-cnn", "tiny-cnn"];

/// The preset `name` for images of `input` shape and `classes` classes.
pub fn preset(name: &str, input: [usize; 3], classes: usize) -> Option<Architecture> {
    let layers = match name {
        // A plain 3x3 stack in the architecture-file format (so it trains through the same
        // path as searched children): 28x28 -> 14x14 -> 7x7, ~120k parameters.
        "small-cnn" => vec![
            conv(3, 32, 1, None),
            conv(3, 32, 2, Some(0)),
            conv(3, 64, 1, Some(1)),
            conv(3, 64, 2, Some(2)),
            conv(3, 96, 1, Some(3)),
        ],
        // For smoke tests and quick demos.
        "tiny-cnn" => vec![conv(3, 8, 2, None), conv(3, 16, 2, Some(0))],
        _ => return None,
    };
    Some(Architecture {
        input,
        classes,
        layers,
        nb201: None,
        darts: None,
        enas: None,
    })
}
