//! `nasgpu devices` (and the adapter errors every command shares), run as the built binary.

use std::process::{Command, Output};

/// Runs the binary with `args` and extra environment; XDG_RUNTIME_DIR keeps Mesa quiet.
fn nasgpu(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nasgpu"));
    cmd.args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env_remove("NASGPU_ADAPTER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run nasgpu")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Is Mesa's software Vulkan driver (lavapipe) installed here?
fn has_lavapipe() -> bool {
    std::fs::read_dir("/usr/share/vulkan/icd.d").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
    })
}

#[test]
fn devices_lists_adapters_with_their_compute_limits() {
    let out = nasgpu(&["devices"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    if has_lavapipe() {
        assert!(stdout.contains("llvmpipe"), "{stdout}");
    }
    assert!(stdout.starts_with("[0] "), "{stdout}");
    assert_eq!(stdout.matches("<- default choice").count(), 1, "{stdout}");
    for key in [
        "backend",
        "device type",
        "vendor / device id",
        "driver info",
        "timestamp queries",
        "workgroup size",
        "invocations per workgroup",
        "workgroup storage",
        "workgroups per dimension",
        "storage buffers per stage",
        "storage buffer binding",
        "buffer size",
        "uniform buffer binding",
    ] {
        assert!(stdout.contains(key), "missing '{key}' in\n{stdout}");
    }
    assert!(stdout.contains("KiB") || stdout.contains("MiB"), "{stdout}");
}

#[test]
fn devices_json_parses_and_marks_exactly_one_adapter() {
    let out = nasgpu(&["devices", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let adapters = value.as_array().expect("a list of adapters");
    assert!(!adapters.is_empty());
    assert_eq!(
        adapters.iter().filter(|a| a["chosen"] == true).count(),
        1,
        "{value:#}"
    );
    for (i, a) in adapters.iter().enumerate() {
        assert_eq!(a["index"], i);
        assert!(a["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(a["timestamp_queries"].is_boolean());
        for limit in [
            "max_compute_workgroup_size_x",
            "max_compute_invocations_per_workgroup",
            "max_compute_workgroup_storage_size",
            "max_storage_buffer_binding_size",
            "max_buffer_size",
        ] {
            assert!(a["limits"][limit].as_u64().unwrap() > 0, "{limit}: {a:#}");
        }
    }
    if has_lavapipe() {
        assert!(
            adapters
                .iter()
                .any(|a| a["name"].as_str().unwrap().contains("llvmpipe"))
        );
    }
}

#[test]
fn adapter_option_marks_the_chosen_adapter() {
    let out = nasgpu(&["devices", "--adapter", "0"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = stdout.lines().next().unwrap();
    assert!(first.ends_with("<- chosen by --adapter"), "{stdout}");
}

/// A number that is no adapter's index matches adapter names ("--adapter 4090"): take a number
/// from the first adapter's name (llvmpipe's "LLVM 15.0.6") that is not a valid index.
#[test]
fn a_number_beyond_the_adapters_matches_by_name() {
    let listing = text(&nasgpu(&["devices"], &[]).stdout);
    let count = listing.lines().filter(|l| l.starts_with('[')).count();
    let first = listing.lines().next().unwrap_or_default();
    let name = first.split_once("] ").map_or("", |(_, rest)| rest);
    let number = name
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|d| d.parse::<usize>().ok())
        .find(|&n| n >= count);
    let Some(number) = number else {
        eprintln!("skipped: no number in {name:?} beyond the {count} adapters");
        return;
    };
    let out = nasgpu(&["devices", "--adapter", &number.to_string()], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(first_line_chosen(&stdout), "--adapter {number}: {stdout}");
}

fn first_line_chosen(listing: &str) -> bool {
    listing
        .lines()
        .next()
        .is_some_and(|l| l.ends_with("<- chosen by --adapter"))
}

#[test]
fn unknown_adapter_is_an_error_listing_the_adapters() {
    for command in [&["devices"][..], &["bench", "--filter", "relu"][..]] {
        let out = nasgpu(command, &[("NASGPU_ADAPTER", "no-such-adapter")]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{command:?} succeeded");
        assert!(
            stderr.contains("no adapter matches") && stderr.contains("no-such-adapter"),
            "{stderr}"
        );
        assert!(stderr.contains("[0] "), "{stderr}");
    }
}

/// With the Vulkan loader pointed at no driver, there is no adapter at all (Linux: Vulkan is the
/// only primary backend there).
#[cfg(target_os = "linux")]
#[test]
fn no_adapter_at_all_explains_how_to_install_a_driver() {
    let no_driver = [
        ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
        ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
        ("WGPU_BACKEND", "vulkan"),
    ];
    for command in [&["devices"][..], &["bench"][..]] {
        let out = nasgpu(command, &no_driver);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{command:?} succeeded");
        assert!(stderr.contains("no GPU adapter found"), "{stderr}");
        assert!(stderr.contains("mesa-vulkan-drivers"), "{stderr}");
    }
}

#[test]
fn bench_filter_matching_nothing_fails_and_names_the_kernels() {
    let out = nasgpu(&["bench", "--filter", "no_such_kernel"], &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("'no_such_kernel' matches no kernel") && stderr.contains("relu"),
        "{stderr}"
    );
}
