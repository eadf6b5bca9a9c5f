//! The architecture file: serde round trip, validation errors naming the field, derived sizes.

use nasgpu::nn::{Architecture, LayerSpec};

fn layer(fh: usize, fw: usize, filters: usize, stride: usize, inputs: &[usize]) -> LayerSpec {
    LayerSpec {
        filter_height: fh,
        filter_width: fw,
        filters,
        stride,
        inputs: inputs.to_vec(),
    }
}

fn sample() -> Architecture {
    Architecture {
        input: [1, 28, 28],
        classes: 10,
        layers: vec![
            layer(3, 3, 16, 1, &[]),
            layer(5, 1, 24, 2, &[0]),
            layer(1, 7, 32, 1, &[0, 1]),
            layer(3, 3, 8, 3, &[]),
        ],
        darts: None,
        enas: None,
        nb201: None,
    }
}

#[test]
fn round_trips_through_json() {
    let arch = sample();
    let back = Architecture::from_json(&arch.to_json(), "test").unwrap();
    assert_eq!(back, arch);
}

#[test]
fn derived_sizes_follow_same_padding_and_concatenation() {
    let arch = sample();
    assert_eq!(
        arch.spatial_sizes(),
        vec![[28, 28], [14, 14], [28, 28], [10, 10]]
    );
    assert_eq!(arch.input_channels(), vec![1, 16, 40, 1]);
    assert_eq!(arch.output_layers(), vec![2, 3]);
    // convs: 16*1*9 + 24*16*5 + 32*40*7 + 8*1*9, batch norm 2*(16+24+32+8), classifier 40*10+10
    assert_eq!(arch.parameter_count(), 144 + 1920 + 8960 + 72 + 160 + 410);
}

#[test]
fn malformed_files_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"input":[1,28,28],"classes":10,"layers":[{"filter_height":9,"filter_width":3,"filters":8,"stride":1}]}"#,
            "layers[0].filter_height",
        ),
        (
            r#"{"input":[1,28,28],"classes":10,"layers":[{"filter_height":3,"filter_width":3,"filters":8,"stride":4}]}"#,
            "layers[0].stride",
        ),
        (
            r#"{"input":[1,28,28],"classes":10,"layers":[{"filter_height":3,"filter_width":3,"filters":8,"stride":1,"inputs":[0]}]}"#,
            "layers[0].inputs",
        ),
        (
            r#"{"input":[1,28,28],"classes":10,"layers":[{"filter_height":3,"filter_width":3,"filters":0,"stride":1}]}"#,
            "layers[0].filters",
        ),
        (
            r#"{"input":[1,28,28],"classes":1,"layers":[{"filter_height":3,"filter_width":3,"filters":8,"stride":1}]}"#,
            "classes",
        ),
        (r#"{"input":[1,28,28],"classes":10,"layers":[]}"#, "layers"),
        (
            r#"{"input":[1,28,28],"classes":10,"layers":[{"filter_height":3,"filter_width":3,"filters":8,"stride":1,"colour":2}]}"#,
            "colour",
        ),
        (r#"{"input":[1,28],"classes":10,"layers":[]}"#, "input"),
        (
            r#"{"input":[1,28,28],"classes":10"#,
            "not a valid architecture file",
        ),
    ];
    for (text, expected) in cases {
        let err = Architecture::from_json(text, "arch.json")
            .expect_err(text)
            .to_string();
        assert!(
            err.starts_with("arch.json: "),
            "error does not name the file: {err}"
        );
        assert!(
            err.contains(expected),
            "error for {text} should mention {expected}: {err}"
        );
    }
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = Architecture::load(std::path::Path::new("/nonexistent/arch.json"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/arch.json") && err.contains("cannot read"),
        "{err}"
    );
}
