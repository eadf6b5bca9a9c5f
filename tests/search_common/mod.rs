//! Helpers of the search tests: the built binary, temporary run directories, a synthetic
//! NAS-Bench-201 table, and history files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nasgpu::nn::Nb201Op;
use nasgpu::search::{ChildRecord, SearchConfig};

/// `nasgpu` with `args` (software Vulkan needs a runtime directory).
pub fn nasgpu(args: &[&str]) -> Output {
    command(args).output().expect("run nasgpu")
}

pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nasgpu"));
    c.args(args).env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts `out` succeeded, printing its stderr if not.
pub fn ok(out: &Output) {
    assert!(out.status.success(), "nasgpu failed: {}", stderr(out));
}

/// Lines of a text file (0 if it does not exist yet).
pub fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Runs `nasgpu args` until its `history.jsonl` in `run` holds at least `n` lines (or a minute
/// passes), kills it with SIGKILL and returns the lines recorded then.
pub fn kill_once_recorded(args: &[&str], run: &Path, n: usize) -> usize {
    let mut child = command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let file = run.join("history.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while lines(&file) < n && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    lines(&file)
}

/// History records without what a rerun measures anew (seconds, latency).
pub fn stripped(h: &[ChildRecord]) -> Vec<ChildRecord> {
    h.iter()
        .map(|r| ChildRecord {
            train_seconds: 0.0,
            latency: None,
            ..r.clone()
        })
        .collect()
}

/// What must be bit for bit the same after a resume: the state without its timings, and the
/// bytes of the checkpoint that its `part` section (`strategy`, `evaluator`) names, if any.
pub fn exact_state(dir: &Path, part: &str) -> (serde_json::Value, Option<Vec<u8>>) {
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove("cost");
    let checkpoint = state[part]["checkpoint"]
        .as_str()
        .map(|name| std::fs::read(dir.join(name)).unwrap());
    (state, checkpoint)
}

/// A fresh (removed) temporary path for this test and process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-st-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The six op ids of genotype number `code` (base 5, edge 0 first).
pub fn genotype(code: usize) -> [usize; 6] {
    std::array::from_fn(|e| code / 5usize.pow(e as u32) % 5)
}

/// The published name of an op-id genotype.
pub fn nb201_name(ops: &[usize; 6]) -> String {
    let n = |e: usize| Nb201Op::ALL[ops[e]].name();
    format!(
        "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
        n(0),
        n(1),
        n(2),
        n(3),
        n(4),
        n(5)
    )
}

/// A small deterministic hash in [0, 1).
fn noise(code: usize) -> f64 {
    let mut x = (code as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The synthetic benchmark's metric: a per-edge op score summed over edges (convolutions best,
/// `none` worst, a different preference on each edge), plus small noise. In (0, 1).
pub fn synthetic_metric(ops: &[usize; 6]) -> f64 {
    // none, skip, conv1x1, conv3x3, avg_pool
    const BASE: [f64; 5] = [0.0, 0.4, 0.7, 1.0, 0.3];
    let mut s = 0.0;
    for (e, &op) in ops.iter().enumerate() {
        s += BASE[op] + 0.2 * (((e * 7 + op * 3) % 5) as f64 / 5.0);
    }
    0.05 + 0.85 * s / 7.2 + 0.02 * noise(ops.iter().fold(0, |a, &o| a * 5 + o))
}

/// The synthetic cost column: seconds growing with the convolutions.
pub fn synthetic_cost(ops: &[usize; 6]) -> f64 {
    10.0 + ops
        .iter()
        .map(|&o| [0.0, 0.5, 2.0, 6.0, 1.0][o])
        .sum::<f64>()
}

/// Writes the whole synthetic table (15,625 rows: `arch,acc,secs`, plus an unused column)
/// to `path`.
pub fn write_table(path: &Path) {
    let mut text = String::from("index,arch,acc,secs\n");
    for code in 0..5usize.pow(6) {
        let ops = genotype(code);
        text += &format!(
            "{code},{},{:.6},{:.3}\n",
            nb201_name(&ops),
            synthetic_metric(&ops),
            synthetic_cost(&ops)
        );
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The synthetic table at a fixed temporary path, shared by the test binaries (written to a
/// private name and renamed into place, so concurrent writers never expose a partial file).
pub fn shared_table() -> PathBuf {
    static TABLE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            let path = std::env::temp_dir()
                .join("nasgpu-st-table-v1")
                .join("nb201.csv");
            if !path.exists() {
                let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
                write_table(&tmp);
                std::fs::rename(&tmp, &path).unwrap();
            }
            path
        })
        .clone()
}

/// The records of `dir/history.jsonl`.
pub fn history(dir: &Path) -> Vec<ChildRecord> {
    let text = std::fs::read_to_string(dir.join("history.jsonl")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect()
}

/// Runs a table search on the synthetic table to completion; returns the history.
pub fn table_search(
    table: &Path,
    out: &Path,
    strategy: &str,
    budget: usize,
    seed: u64,
) -> Vec<ChildRecord> {
    let b = budget.to_string();
    let s = seed.to_string();
    let o = nasgpu(&[
        "search",
        "--space",
        "nb201",
        "--table",
        table.to_str().unwrap(),
        "--table-arch-column",
        "arch",
        "--table-metric",
        "acc",
        "--table-cost",
        "secs",
        "--strategy",
        strategy,
        "--budget",
        &b,
        "--seed",
        &s,
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    let h = history(out);
    let _ = std::fs::remove_dir_all(out);
    h
}

/// Writes `c` as `DIR/config.json` and returns its path.
pub fn write_config(dir: &Path, c: &SearchConfig) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_string(c).unwrap()).unwrap();
    path
}

/// `search --config CONFIG --out OUT`.
pub fn search_args<'a>(config: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "search",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
}

/// A search of `config` with `extra` options must be refused, without a panic, with every one
/// of `words` in its error, and leave no run directory.
pub fn refused(config: &SearchConfig, extra: &[&str], words: &[&str]) {
    // One directory per call: tests of one binary may refuse at the same time.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = temp_dir(&format!("refused-{call}"));
    let cfg = write_config(&base, config);
    let out = base.join("run");
    let mut args = search_args(&cfg, &out);
    args.extend_from_slice(extra);
    let o = nasgpu(&args);
    let e = stderr(&o);
    assert!(!o.status.success(), "accepted: {args:?}");
    assert!(!e.contains("panicked"), "{e}");
    for w in words {
        assert!(e.contains(w), "'{w}' missing from: {e}");
    }
    assert!(!out.exists(), "a refused search left its run directory");
    let _ = std::fs::remove_dir_all(&base);
}

/// The run's `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_str(&text).unwrap()
}
