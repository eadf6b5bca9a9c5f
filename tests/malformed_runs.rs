//! The corpus of malformed run directories and output folders (issue 11): edited history
//! lines, state files, controller checkpoints and configs of a run, a run of another version,
//! and commands whose output folder or file holds an earlier run. Each case runs the release
//! binary once and must end in a clear error that names the file (and line or field) and
//! leaves its folder exactly as it was. Run directories come from the smallest searches: table
//! lookups on the synthetic NAS-Bench-201 table (milliseconds) and synthesised macro runs.

#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/runs.rs"]
mod runs;
mod search_common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use corpus::{Case, Probe, run_corpus};
use nasgpu::search::StrategyKind;
use search_common::{nasgpu, ok, shared_table, temp_dir};
use serde_json::Value;

/// The budget a template run is left at, above its recorded children, so that without the
/// edit a resume would go on and write files.
const OPEN_BUDGET: usize = 12;

/// Runs a table search of `strategy` (8 children, 4 per step) into `out`, then raises its
/// budget to `OPEN_BUDGET` so it is an unfinished run.
fn table_run(out: &Path, strategy: &str) {
    let t = shared_table();
    ok(&nasgpu(&[
        "search",
        "--space",
        "nb201",
        "--table",
        t.to_str().unwrap(),
        "--table-arch-column",
        "arch",
        "--table-metric",
        "acc",
        "--table-cost",
        "secs",
        "--strategy",
        strategy,
        "--budget",
        "8",
        "--children-per-step",
        "4",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]));
    edit_json(&out.join("config.json"), |c| {
        c["run"]["budget"] = OPEN_BUDGET.into()
    });
}

/// Template runs, made once per test process and copied into each case.
struct Templates {
    /// Random search on the table: 8 children of 12.
    table: PathBuf,
    /// REINFORCE on the table: 8 children of 12, a controller checkpoint after 2 updates.
    controller: PathBuf,
    /// A finished synthesised macro run (12 children, skips, strides 1 and 2).
    macro_run: PathBuf,
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let base = temp_dir("corpus-templates");
        let t = Templates {
            table: base.join("table"),
            controller: base.join("controller"),
            macro_run: base.join("macro"),
        };
        table_run(&t.table, "random");
        table_run(&t.controller, "reinforce");
        runs::synth_run(&t.macro_run, StrategyKind::Random, 3, 12, 2);
        t
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A copy of `template` as `dir/run`.
fn run_copy(template: &Path, dir: &Path) -> PathBuf {
    let run = dir.join("run");
    copy_dir(template, &run);
    run
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
}

/// Rewrites line `line` (from 1) of the run's history with `edit`.
fn edit_line(run: &Path, line: usize, edit: impl FnOnce(&mut Value)) {
    edit_text_line(run, line, |text| {
        let mut v: Value = serde_json::from_str(text).unwrap();
        edit(&mut v);
        v.to_string()
    });
}

/// Rewrites line `line` (from 1) of the run's history as text.
fn edit_text_line(run: &Path, line: usize, edit: impl FnOnce(&str) -> String) {
    let path = run.join("history.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[line - 1] = edit(&lines[line - 1]);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn resume(run: &Path) -> Vec<String> {
    args(&["search", "--resume", &s(run)])
}

/// A `--resume` of the template run after `edit`, expected to name `file` of the run and
/// `words`.
fn resume_case(
    name: &'static str,
    kind: &'static str,
    template: fn(&Templates) -> &Path,
    edit: fn(&Path),
    file: &'static str,
    words: &'static [&'static str],
) -> Case {
    Case {
        name,
        kind,
        setup: Box::new(move |dir| {
            let run = run_copy(template(templates()), dir);
            edit(&run);
            let mut names = vec![s(&run.join(file))];
            names.extend(words.iter().map(|w| w.to_string()));
            Probe {
                args: resume(&run),
                names,
            }
        }),
    }
}

fn table(t: &Templates) -> &Path {
    &t.table
}
fn controller(t: &Templates) -> &Path {
    &t.controller
}
fn macro_run(t: &Templates) -> &Path {
    &t.macro_run
}

/// The name of the run's controller checkpoint (the one state.json names).
fn checkpoint(run: &Path) -> PathBuf {
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("state.json")).unwrap()).unwrap();
    run.join(state["strategy"]["checkpoint"].as_str().unwrap())
}

/// Overwrites f32 values of the safetensors file `path`: in tensors whose name passes `pick`,
/// every value with `value(i)`.
fn poison(path: &Path, pick: fn(&str) -> bool, value: fn(usize) -> f32) {
    let mut bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    for (name, t) in header.as_object().unwrap() {
        if name == "__metadata__" || !pick(name) {
            continue;
        }
        let [a, b] = [0, 1].map(|k| t["data_offsets"][k].as_u64().unwrap() as usize);
        for (i, at) in (8 + n + a..8 + n + b).step_by(4).enumerate() {
            bytes[at..at + 4].copy_from_slice(&value(i).to_le_bytes());
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// The controller's parameters (not its Adam moments).
fn weights(name: &str) -> bool {
    !name.contains(".adam_")
}

fn history_cases() -> Vec<Case> {
    const H: &str = "history.jsonl";
    vec![
        resume_case(
            "token-out-of-range",
            "history line",
            table,
            |r| edit_line(r, 2, |v| v["rollout"][0] = 99.into()),
            H,
            &["line 2", "rollout", "99"],
        ),
        resume_case(
            "skip-flag-out-of-range",
            "history line",
            macro_run,
            // Decision 8 is layer 1's skip flag (4 tokens per layer): a 2-choice list.
            |r| edit_line(r, 3, |v| v["rollout"][8] = 99.into()),
            H,
            &[
                "line 3",
                "rollout",
                "decision 8: 99 is not one of its 2 choices",
            ],
        ),
        resume_case(
            "inputs-not-earlier",
            "history line",
            macro_run,
            |r| {
                edit_line(r, 3, |v| {
                    v["architecture"]["layers"][0]["inputs"] = vec![5].into()
                })
            },
            H,
            &["line 3", "architecture.layers[0].inputs"],
        ),
        resume_case(
            "zero-filters",
            "history line",
            macro_run,
            |r| {
                edit_line(r, 2, |v| {
                    v["architecture"]["layers"][1]["filters"] = 0.into()
                })
            },
            H,
            &["line 2", "architecture.layers[1].filters"],
        ),
        resume_case(
            "architecture-not-the-rollouts",
            "history line",
            macro_run,
            |r| {
                edit_line(r, 4, |v| {
                    let h = &mut v["architecture"]["layers"][0]["filter_height"];
                    *h = if h == 1 { 3.into() } else { 1.into() };
                })
            },
            H,
            &[
                "line 4",
                "architecture: is not the one the rollout stands for",
            ],
        ),
        resume_case(
            "canonical-unparsable",
            "history line",
            table,
            |r| edit_line(r, 3, |v| v["canonical"] = "|bogus~0|".into()),
            H,
            &["line 3", "canonical: does not parse"],
        ),
        resume_case(
            "canonical-of-another",
            "history line",
            table,
            |r| {
                edit_line(r, 1, |v| {
                    v["canonical"] = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|".into()
                })
            },
            H,
            &["line 1", "canonical: '|none~0|"],
        ),
        resume_case(
            "parameters-mismatch",
            "history line",
            table,
            |r| {
                edit_line(r, 2, |v| {
                    v["parameters"] = (v["parameters"].as_u64().unwrap() + 1).into()
                })
            },
            H,
            &["line 2", "parameters"],
        ),
        resume_case(
            "flops-mismatch",
            "history line",
            table,
            |r| {
                edit_line(r, 4, |v| {
                    v["flops"] = (v["flops"].as_f64().unwrap() * 2.0).into()
                })
            },
            H,
            &["line 4", "flops"],
        ),
        resume_case(
            "index-out-of-order",
            "history line",
            table,
            |r| edit_line(r, 2, |v| v["index"] = 9.into()),
            H,
            &["line 2", "index 9, expected 1"],
        ),
        resume_case(
            "input-shape-differs",
            "history line",
            table,
            |r| {
                edit_line(r, 3, |v| {
                    v["architecture"]["input"] = serde_json::json!([3, 16, 16])
                })
            },
            H,
            &["line 3", "architecture: input [3, 16, 16]"],
        ),
        resume_case(
            "reward-not-a-number",
            "history line",
            table,
            |r| edit_line(r, 4, |v| v["reward"] = "high".into()),
            H,
            &["line 4", "reward: invalid type"],
        ),
        resume_case(
            "reward-nan-literal",
            "history line",
            table,
            |r| {
                edit_text_line(r, 2, |t| {
                    let v: Value = serde_json::from_str(t).unwrap();
                    let reward = v["reward"].to_string();
                    t.replace(&format!("\"reward\":{reward}"), "\"reward\":NaN")
                })
            },
            H,
            &["line 2", "reward: expected value"],
        ),
        resume_case(
            "status-unknown",
            "history line",
            table,
            |r| edit_line(r, 5, |v| v["status"] = "exploded".into()),
            H,
            &["line 5", "status: unknown variant `exploded`"],
        ),
        resume_case(
            "field-missing",
            "history line",
            table,
            |r| edit_line(r, 2, |v| _ = v.as_object_mut().unwrap().remove("canonical")),
            H,
            &["line 2", "missing field `canonical`"],
        ),
        resume_case(
            "line-cut-in-the-middle",
            "history line",
            table,
            |r| edit_text_line(r, 3, |t| t[..t.len() / 2].to_string()),
            H,
            &["line 3", "EOF while parsing a list at line 1"],
        ),
        resume_case(
            "line-dropped",
            "history line",
            table,
            |r| {
                let path = r.join("history.jsonl");
                let text = std::fs::read_to_string(&path).unwrap();
                let kept: Vec<&str> = text.lines().take(7).collect();
                std::fs::write(&path, kept.join("\n") + "\n").unwrap();
            },
            H,
            &["holds 7 children but state.json counts 8"],
        ),
        resume_case(
            "another-space-in-config",
            "history line",
            table,
            |r| {
                edit_json(&r.join("config.json"), |c| {
                    c["run"]["space"] = "macro".into()
                })
            },
            H,
            &["line 1", "rollout"],
        ),
        resume_case(
            "stale-best-and-an-invalid-line",
            "history line",
            table,
            |r| {
                std::fs::write(r.join("best.json"), "{}").unwrap();
                edit_line(r, 6, |v| v["rollout"][5] = 7.into());
            },
            H,
            &["line 6", "rollout: decision 5: 7"],
        ),
    ]
}

fn state_cases() -> Vec<Case> {
    const S: &str = "state.json";
    vec![
        resume_case(
            "state-truncated",
            "state or config file",
            table,
            |r| {
                let p = r.join(S);
                let text = std::fs::read_to_string(&p).unwrap();
                std::fs::write(&p, &text[..text.len() / 2]).unwrap();
            },
            S,
            &["corrupt state"],
        ),
        resume_case(
            "state-empty",
            "state or config file",
            table,
            |r| std::fs::write(r.join(S), "").unwrap(),
            S,
            &["corrupt state"],
        ),
        resume_case(
            "state-of-version-1",
            "state or config file",
            table,
            |r| edit_json(&r.join(S), |v| v["version"] = 1.into()),
            S,
            &["state version 1 was written by a nasgpu from before"],
        ),
        resume_case(
            "state-of-a-later-version",
            "state or config file",
            table,
            |r| edit_json(&r.join(S), |v| v["version"] = 9.into()),
            S,
            &["state version 9 is not 2"],
        ),
        resume_case(
            "state-counts-more-children",
            "state or config file",
            table,
            |r| edit_json(&r.join(S), |v| v["children_done"] = 100.into()),
            "history.jsonl",
            &["holds 8 children but state.json counts 100"],
        ),
        resume_case(
            "state-without-generator",
            "state or config file",
            table,
            |r| edit_json(&r.join(S), |v| _ = v.as_object_mut().unwrap().remove("rng")),
            S,
            &["missing field `rng`"],
        ),
        resume_case(
            "state-pending-token-out-of-range",
            "state or config file",
            table,
            |r| {
                edit_json(&r.join(S), |v| {
                    v["pending"] = serde_json::json!({
                        "step": v["step"], "first_child": 8,
                        "rollouts": [[99, 0, 0, 0, 0, 0]], "replay": [],
                    })
                })
            },
            S,
            &["pending.rollouts[0]: decision 0: 99"],
        ),
        resume_case(
            "state-missing-with-history",
            "state or config file",
            table,
            |r| std::fs::remove_file(r.join(S)).unwrap(),
            S,
            &["missing, but history.jsonl holds 8 children"],
        ),
        resume_case(
            "baseline-out-of-range",
            "state or config file",
            controller,
            |r| {
                let p = r.join(S);
                let text = std::fs::read_to_string(&p).unwrap();
                let v: Value = serde_json::from_str(&text).unwrap();
                let b = v["strategy"]["baseline"].to_string();
                std::fs::write(&p, text.replace(&b, "1e999")).unwrap();
            },
            S,
            &["baseline: number out of range"],
        ),
        resume_case(
            "strategy-state-unknown-field",
            "state or config file",
            controller,
            |r| edit_json(&r.join(S), |v| v["strategy"]["momentum"] = 0.5.into()),
            S,
            &["strategy: unknown field `momentum`"],
        ),
        resume_case(
            "data-json-missing",
            "state or config file",
            macro_run,
            |r| edit_json(&r.join("config.json"), |c| c["run"]["budget"] = 16.into()),
            "data.json",
            &[],
        ),
        resume_case(
            "data-json-truncated",
            "state or config file",
            macro_run,
            |r| {
                edit_json(&r.join("config.json"), |c| c["run"]["budget"] = 16.into());
                std::fs::write(r.join("data.json"), "{\"dataset\": \"bund").unwrap();
            },
            "data.json",
            &[],
        ),
        resume_case(
            "config-truncated",
            "state or config file",
            table,
            |r| {
                let p = r.join("config.json");
                let text = std::fs::read_to_string(&p).unwrap();
                std::fs::write(&p, &text[..text.len() / 3]).unwrap();
            },
            "config.json",
            &[],
        ),
    ]
}

/// A case on the controller checkpoint: `edit` gets its path; the error must name it.
fn checkpoint_case(name: &'static str, edit: fn(&Path), words: &'static [&'static str]) -> Case {
    Case {
        name,
        kind: "controller checkpoint",
        setup: Box::new(move |dir| {
            let run = run_copy(&templates().controller, dir);
            let file = checkpoint(&run);
            edit(&file);
            let mut names = vec![s(&file)];
            names.extend(words.iter().map(|w| w.to_string()));
            Probe {
                args: resume(&run),
                names,
            }
        }),
    }
}

fn checkpoint_cases() -> Vec<Case> {
    vec![
        checkpoint_case(
            "checkpoint-nan-weights",
            |f| poison(f, weights, |_| f32::NAN),
            &["NaN is not finite"],
        ),
        checkpoint_case(
            "checkpoint-inf-adam-moment",
            |f| poison(f, |n| n.ends_with(".adam_v"), |_| f32::INFINITY),
            &[".adam_v", "inf is not finite"],
        ),
        checkpoint_case(
            "checkpoint-truncated",
            |f| {
                let b = std::fs::read(f).unwrap();
                std::fs::write(f, &b[..b.len() / 2]).unwrap();
            },
            &[],
        ),
        checkpoint_case(
            "checkpoint-missing",
            |f| std::fs::remove_file(f).unwrap(),
            &[],
        ),
        checkpoint_case(
            "checkpoint-not-safetensors",
            |f| std::fs::write(f, b"not a checkpoint").unwrap(),
            &[],
        ),
        Case {
            name: "checkpoint-overflowing-weights",
            kind: "controller checkpoint",
            setup: Box::new(|dir| {
                // Finite but enormous weights (what a huge init_range gives): sampling
                // overflows to NaN, which must stop the search, not feed it.
                let run = run_copy(&templates().controller, dir);
                poison(&checkpoint(&run), weights, |i| {
                    if i % 2 == 0 { 3e38 } else { -3e38 }
                });
                Probe {
                    args: resume(&run),
                    names: vec!["controller".into(), "not finite".into()],
                }
            }),
        },
    ]
}

/// A fake earlier training output in `out`.
fn training_output(out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    for (name, text) in [
        ("architecture.json", "{\"earlier\": true}"),
        ("metrics.json", "{\"status\": \"completed\"}"),
        ("weights.safetensors", "earlier weights"),
    ] {
        std::fs::write(out.join(name), text).unwrap();
    }
}

fn table_search_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let t = shared_table();
    let mut a = args(&[
        "search",
        "--space",
        "nb201",
        "--table",
        &s(&t),
        "--table-arch-column",
        "arch",
        "--table-metric",
        "acc",
        "--budget",
        "4",
        "--out",
        &s(out),
    ]);
    a.extend(extra.iter().map(|w| w.to_string()));
    a
}

fn output_cases() -> Vec<Case> {
    vec![
        Case {
            name: "train-over-an-earlier-run",
            kind: "output folder",
            setup: Box::new(|dir| {
                let out = dir.join("out");
                training_output(&out);
                Probe {
                    args: args(&[
                        "train",
                        "--preset",
                        "tiny-cnn",
                        "--epochs",
                        "1",
                        "--out",
                        &s(&out),
                    ]),
                    names: vec![
                        s(&out),
                        "already holds a training run".into(),
                        "--force".into(),
                    ],
                }
            }),
        },
        Case {
            name: "train-force-over-foreign-files",
            kind: "output folder",
            setup: Box::new(|dir| {
                let out = dir.join("out");
                training_output(&out);
                std::fs::write(out.join("notes.txt"), "mine").unwrap();
                Probe {
                    args: args(&[
                        "train",
                        "--preset",
                        "tiny-cnn",
                        "--out",
                        &s(&out),
                        "--force",
                    ]),
                    names: vec![s(&out), "notes.txt".into()],
                }
            }),
        },
        Case {
            name: "train-force-then-a-bad-architecture",
            kind: "output folder",
            setup: Box::new(|dir| {
                // --force, but the run fails before it starts: the earlier run stays whole.
                let out = dir.join("out");
                training_output(&out);
                let arch = dir.join("bad.json");
                std::fs::write(
                    &arch,
                    "{\"input\": [1, 28, 28], \"classes\": 10, \"layers\": []}",
                )
                .unwrap();
                Probe {
                    args: args(&["train", "--arch", &s(&arch), "--out", &s(&out), "--force"]),
                    names: vec![s(&arch), "layers".into()],
                }
            }),
        },
        Case {
            name: "train-out-is-a-file",
            kind: "output folder",
            setup: Box::new(|dir| {
                let out = dir.join("out");
                std::fs::write(&out, "a file").unwrap();
                Probe {
                    args: args(&["train", "--preset", "tiny-cnn", "--out", &s(&out)]),
                    names: vec![s(&out), "not a folder".into()],
                }
            }),
        },
        Case {
            name: "search-new-dir-then-no-device",
            kind: "output folder",
            setup: Box::new(|dir| {
                // Fails after validating options and data, at the device: no run directory.
                let out = dir.join("new-run");
                Probe {
                    args: args(&["search", "--adapter", "no-such-adapter", "--out", &s(&out)]),
                    names: vec!["no-such-adapter".into()],
                }
            }),
        },
        Case {
            name: "table-search-new-dir-then-no-device",
            kind: "output folder",
            setup: Box::new(|dir| {
                let out = dir.join("new-run");
                let mut a = table_search_args(&out, &["--strategy", "reinforce"]);
                a.extend(args(&["--adapter", "no-such-adapter"]));
                Probe {
                    args: a,
                    names: vec!["no-such-adapter".into()],
                }
            }),
        },
        Case {
            name: "search-over-an-earlier-run",
            kind: "output folder",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                Probe {
                    args: table_search_args(&run, &[]),
                    names: vec![
                        s(&run),
                        "already holds a search".into(),
                        "--resume".into(),
                        "--force".into(),
                    ],
                }
            }),
        },
        Case {
            name: "search-force-then-no-device",
            kind: "output folder",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                let mut a = table_search_args(&run, &["--strategy", "ppo", "--force"]);
                a.extend(args(&["--adapter", "no-such-adapter"]));
                Probe {
                    args: a,
                    names: vec!["no-such-adapter".into()],
                }
            }),
        },
        Case {
            name: "search-into-foreign-files",
            kind: "output folder",
            setup: Box::new(|dir| {
                let out = dir.join("mine");
                std::fs::create_dir_all(&out).unwrap();
                std::fs::write(out.join("notes.txt"), "mine").unwrap();
                Probe {
                    args: table_search_args(&out, &["--force"]),
                    names: vec![s(&out), "notes.txt".into()],
                }
            }),
        },
        Case {
            name: "resume-budget-with-an-invalid-line",
            kind: "output folder",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                edit_line(&run, 2, |v| v["rollout"][1] = 42.into());
                Probe {
                    args: args(&["search", "--resume", &s(&run), "--budget", "40"]),
                    names: vec![s(&run.join("history.jsonl")), "line 2".into()],
                }
            }),
        },
    ]
}

fn report_and_export_cases() -> Vec<Case> {
    vec![
        Case {
            name: "export-over-an-existing-file",
            kind: "export",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                let out = run.join("model.json");
                std::fs::write(&out, "another network").unwrap();
                Probe {
                    args: args(&["export", &s(&run), "--format", "json"]),
                    names: vec![s(&out), "--force".into()],
                }
            }),
        },
        Case {
            name: "export-a-run-with-an-invalid-line",
            kind: "export",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().macro_run, dir);
                edit_line(&run, 3, |v| {
                    v["architecture"]["layers"][0]["inputs"] = vec![5].into()
                });
                Probe {
                    args: args(&["export", &s(&run), "--format", "json"]),
                    names: vec![
                        s(&run.join("history.jsonl")),
                        "line 3".into(),
                        "architecture.layers[0].inputs".into(),
                    ],
                }
            }),
        },
        Case {
            name: "report-a-run-with-an-invalid-line",
            kind: "report",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                edit_line(&run, 2, |v| v["rollout"][0] = 99.into());
                Probe {
                    args: args(&["report", &s(&run)]),
                    names: vec![
                        s(&run.join("history.jsonl")),
                        "line 2".into(),
                        "rollout".into(),
                        "left out".into(),
                    ],
                }
            }),
        },
        Case {
            name: "report-json-a-run-with-an-invalid-line",
            kind: "report",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().macro_run, dir);
                edit_line(&run, 5, |v| v["canonical"] = "k9x9".into());
                Probe {
                    args: args(&["report", &s(&run), "--json"]),
                    names: vec![
                        s(&run.join("history.jsonl")),
                        "line 5".into(),
                        "canonical".into(),
                    ],
                }
            }),
        },
        Case {
            name: "report-html-over-a-foreign-file",
            kind: "report",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                let page = dir.join("index.html");
                std::fs::write(&page, "<p>my own page</p>").unwrap();
                Probe {
                    args: args(&["report", &s(&run), "--html", &s(&page)]),
                    names: vec![s(&page), "--html".into(), "--force".into()],
                }
            }),
        },
        Case {
            name: "report-a-run-without-state",
            kind: "report",
            setup: Box::new(|dir| {
                let run = run_copy(&templates().table, dir);
                std::fs::remove_file(run.join("state.json")).unwrap();
                Probe {
                    args: args(&["report", &s(&run)]),
                    names: vec![s(&run.join("state.json")), "missing".into()],
                }
            }),
        },
    ]
}

/// The templates themselves are valid: an unedited copy resumes (or reports, or exports)
/// without error, so every failure of the corpus is its edit's.
fn unedited_runs_are_accepted(base: &Path) {
    let t = templates();
    for (name, template) in [("table", &t.table), ("controller", &t.controller)] {
        let run = run_copy(template, &base.join(name));
        ok(&nasgpu(&["search", "--resume", &s(&run)]));
        assert_eq!(search_common::history(&run).len(), OPEN_BUDGET, "{name}");
    }
    let run = run_copy(&t.macro_run, &base.join("macro"));
    ok(&nasgpu(&["report", &s(&run)]));
    ok(&nasgpu(&["export", &s(&run), "--format", "json"]));
}

/// One test, so the templates are removed only after every use.
#[test]
fn malformed_runs_and_output_folders_give_clear_errors_and_change_nothing() {
    let base = temp_dir("corpus-runs");
    unedited_runs_are_accepted(&base.join("control"));
    report_lists_invalid_lines_in_json_and_on_the_page(&base.join("report"));
    let mut cases = history_cases();
    cases.extend(state_cases());
    cases.extend(checkpoint_cases());
    cases.extend(output_cases());
    cases.extend(report_and_export_cases());
    run_corpus(&cases, &base);
    let _ = std::fs::remove_dir_all(&base);
    let _ = std::fs::remove_dir_all(templates().table.parent().unwrap());
}

/// `report --json` carries the flag: the invalid line is listed with its file and number, and
/// the figures count only the valid children; `--html` says so on the page. Both exit non-zero.
fn report_lists_invalid_lines_in_json_and_on_the_page(base: &Path) {
    let run = run_copy(&templates().macro_run, base);
    edit_line(&run, 5, |v| v["canonical"] = "k9x9".into());
    let o = nasgpu(&["report", &s(&run), "--json"]);
    assert!(!o.status.success());
    let doc: Value = serde_json::from_slice(&o.stdout).expect("--json still prints the document");
    let r = &doc["runs"][0];
    assert_eq!(r["children"], 11, "{r}");
    let bad = &r["invalid_lines"][0];
    assert_eq!(bad["line"], 5, "{r}");
    assert_eq!(bad["file"], s(&run.join("history.jsonl")));
    assert!(
        bad["message"].as_str().unwrap().starts_with("canonical: "),
        "{bad}"
    );
    let page = base.join("report.html");
    let o = nasgpu(&["report", &s(&run), "--html", &s(&page)]);
    assert!(!o.status.success());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("history.jsonl line 5: canonical: "),
        "the page does not say"
    );
}
