//! `run.time_limit` / `--time-limit`: a search ends at the first batch boundary after its search
//! time (over every session) reaches the limit, finished, with the batch in flight kept; a
//! resumed run whose limit is spent has nothing to do until `--time-limit` raises it; bad
//! limits are refused naming the option or field. Table lookups on the synthetic NAS-Bench-201
//! table take microseconds, so a budget far beyond what a second holds is always cut by time.

mod search_common;

use std::path::Path;

use search_common::{lines, nasgpu, ok, shared_table, stderr, temp_dir};
use serde_json::Value;

const BUDGET: &str = "100000000";

fn table_search(extra: &[&str]) -> Vec<String> {
    let t = shared_table();
    let mut args: Vec<String> = [
        "search",
        "--space",
        "nb201",
        "--table",
        t.to_str().unwrap(),
        "--table-arch-column",
        "arch",
        "--table-metric",
        "acc",
        "--strategy",
        "random",
        "--children-per-step",
        "4",
        "--seed",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(args: &[String]) -> std::process::Output {
    nasgpu(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_time_limit_ends_the_search_finished_at_a_batch_boundary_and_resume_can_raise_it() {
    let dir = temp_dir("time-limit");
    let out_dir = dir.to_str().unwrap();
    let out = run(&table_search(&[
        "--budget",
        BUDGET,
        "--time-limit",
        "0.5s",
        "--out",
        out_dir,
    ]));
    ok(&out);
    assert!(
        stderr(&out).contains("time limit of 0.5 s reached"),
        "{}",
        stderr(&out)
    );
    let summary = json(&dir.join("summary.json"));
    assert_eq!(summary["status"], "finished");
    assert_eq!(summary["ended_by"], "time_limit");
    let children = lines(&dir.join("history.jsonl"));
    assert!(
        children > 0 && children.is_multiple_of(4),
        "{children} children: not whole batches"
    );
    let state = json(&dir.join("state.json"));
    assert_eq!(state["children_done"].as_u64().unwrap() as usize, children);
    assert!(state["pending"].is_null());
    assert!(state["cost"]["total_seconds"].as_f64().unwrap() >= 0.5);
    assert_eq!(json(&dir.join("config.json"))["run"]["time_limit"], 0.5);

    // Spent: a resume finds nothing to do and leaves the run alone.
    let history = std::fs::read(dir.join("history.jsonl")).unwrap();
    let out = nasgpu(&["search", "--resume", out_dir]);
    ok(&out);
    assert!(
        stderr(&out).contains("is finished") && stderr(&out).contains("time limit 0.5 s"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(dir.join("history.jsonl")).unwrap(), history);

    // Raised: the search goes on where it stopped and ends by time again.
    let out = nasgpu(&["search", "--resume", out_dir, "--time-limit", "1.5"]);
    ok(&out);
    let more = lines(&dir.join("history.jsonl"));
    assert!(
        more > children && more.is_multiple_of(4),
        "{children} -> {more} children"
    );
    assert!(
        std::fs::read(dir.join("history.jsonl"))
            .unwrap()
            .starts_with(&history),
        "resuming rewrote the earlier children"
    );
    assert_eq!(json(&dir.join("config.json"))["run"]["time_limit"], 1.5);
    let state = json(&dir.join("state.json"));
    assert!(state["cost"]["total_seconds"].as_f64().unwrap() >= 1.5);
    assert_eq!(json(&dir.join("summary.json"))["ended_by"], "time_limit");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_budget_still_ends_a_search_first_when_it_comes_first() {
    let dir = temp_dir("time-limit-budget");
    let out = run(&table_search(&[
        "--budget",
        "8",
        "--time-limit",
        "1h",
        "--out",
        dir.to_str().unwrap(),
    ]));
    ok(&out);
    assert_eq!(lines(&dir.join("history.jsonl")), 8);
    assert_eq!(json(&dir.join("summary.json"))["ended_by"], "budget");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_time_limits_are_refused_by_option_and_field_before_anything_is_written() {
    let dir = temp_dir("time-limit-bad");
    for (limit, expected) in [
        ("0", "'0' is not a positive duration"),
        ("-3m", "'-3m' is not a positive duration"),
        ("soon", "'soon' is not a duration"),
        ("9000h", "more than the maximum of a year"),
    ] {
        // `=`: clap would read a leading `-3m` as a flag.
        let option = format!("--time-limit={limit}");
        let out = run(&table_search(&[&option, "--out", dir.to_str().unwrap()]));
        assert!(!out.status.success(), "--time-limit {limit} was accepted");
        assert!(
            stderr(&out).contains("--time-limit") && stderr(&out).contains(expected),
            "{}",
            stderr(&out)
        );
        assert!(
            !dir.exists(),
            "a refused --time-limit wrote {}",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    for (value, expected) in [("-1", "run.time_limit"), ("\"1h\"", "run.time_limit")] {
        std::fs::write(&config, format!("{{\"run\": {{\"time_limit\": {value}}}}}")).unwrap();
        let out = nasgpu(&["search", "--config", config.to_str().unwrap()]);
        assert!(!out.status.success(), "time_limit {value} was accepted");
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
