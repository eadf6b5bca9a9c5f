//! `nasgpu report --html` on synthesised runs, opened in a real headless browser (Debian's
//! chromium): the page is screenshotted and every SVG plot must have rendered (a box on the
//! page with coloured pixels in it, and all its marks drawn with a non-empty extent).
//!
//! Chromium is looked for in `$NASGPU_CHROMIUM`, then `chromium`, `chromium-browser`; without
//! it the browser part says so and skips, unless `NASGPU_REQUIRE_CHROMIUM=1` (set by `.ci/run`).

#[path = "common/runs.rs"]
mod runs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use nasgpu::search::StrategyKind as Strategy;

/// Page width of the screenshots, in CSS pixels (a laptop window; the layout has two columns).
const WIDTH: u32 = 1100;

fn nasgpu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args(args)
        .output()
        .expect("run nasgpu")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = std::env::var_os("NASGPU_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["chromium", "chromium-browser"].map(PathBuf::from))
        .collect();
    for c in candidates {
        if Command::new(&c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c);
        }
    }
    if std::env::var("NASGPU_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
        panic!("NASGPU_REQUIRE_CHROMIUM=1 but no chromium found (apt-get install chromium)");
    }
    eprintln!(
        "skipped the browser check: no chromium ($NASGPU_CHROMIUM, chromium); .ci/run installs it"
    );
    None
}

fn headless(browser: &Path, args: &[String]) -> Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--no-first-run",
            "--disable-extensions",
        ])
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run chromium")
}

/// Appended to a copy of the page: writes each plot's box and drawn marks into the DOM.
const PROBE: &str = r#"<script>
const plots = [...document.querySelectorAll('svg.plot')].map((s, i) => {
  const r = s.getBoundingClientRect();
  let marks = 0;
  for (const p of s.querySelectorAll('.pts')) {
    const b = p.getBBox();
    if (b.width + b.height > 0) marks += Number(p.dataset.n);
  }
  for (const g of s.querySelectorAll('.box, .node.layer')) {
    const b = g.getBBox();
    if (b.width > 0 && b.height > 0) marks += 1;
  }
  return { i, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
           points: Number(s.dataset.points), marks, title: s.getAttribute('aria-label') };
});
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = 'PROBE' + JSON.stringify({ height: document.documentElement.scrollHeight,
  width: innerWidth, plots }) + 'END';
document.body.appendChild(pre);
</script>"#;

#[derive(Debug)]
struct PlotBox {
    title: String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    points: u64,
    marks: u64,
}

/// Loads the page in chromium and returns its height and the plots' boxes.
fn probe(browser: &Path, page: &Path) -> (u32, Vec<PlotBox>) {
    let html = std::fs::read_to_string(page).unwrap();
    let copy = page.with_extension("probe.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let out = headless(
        browser,
        &[
            format!("--window-size={WIDTH},900"),
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("file://{}", copy.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // "PROBE{": the script's own text also holds the marker, but not followed by '{'.
    let start = dom.find("PROBE{").unwrap_or_else(|| {
        panic!(
            "chromium printed no probe:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    }) + 5;
    let end = dom[start..].find("}END").unwrap() + start + 1;
    let v: serde_json::Value = serde_json::from_str(&dom[start..end]).unwrap();
    let plots = v["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PlotBox {
            title: p["title"].as_str().unwrap_or("").to_string(),
            x: p["x"].as_f64().unwrap(),
            y: p["y"].as_f64().unwrap(),
            w: p["w"].as_f64().unwrap(),
            h: p["h"].as_f64().unwrap(),
            points: p["points"].as_u64().unwrap(),
            marks: p["marks"].as_u64().unwrap(),
        })
        .collect();
    (v["height"].as_u64().unwrap() as u32, plots)
}

/// Screenshots the whole page (height from the probe) and returns the PNG's path and seconds.
fn screenshot(browser: &Path, page: &Path, height: u32) -> (PathBuf, f64) {
    let png = page.with_extension("png");
    let started = Instant::now();
    let out = headless(
        browser,
        &[
            format!("--window-size={WIDTH},{height}"),
            format!("--screenshot={}", png.display()),
            format!("file://{}", page.display()),
        ],
    );
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        png.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (png, seconds)
}

/// Checks that every plot drew all its marks and shows coloured pixels on the screenshot.
fn check_rendered(png: &Path, plots: &[PlotBox]) {
    let img = image::open(png).unwrap().to_rgb8();
    for p in plots {
        assert!(p.points > 0, "plot '{}' has no points", p.title);
        assert_eq!(
            p.marks, p.points,
            "plot '{}': {} of its {} marks rendered with an extent",
            p.title, p.marks, p.points
        );
        let (x0, y0) = (p.x.max(0.0) as u32, p.y.max(0.0) as u32);
        let (x1, y1) = (
            ((p.x + p.w) as u32).min(img.width()),
            ((p.y + p.h) as u32).min(img.height()),
        );
        assert!(
            x1 > x0 + 50 && y1 > y0 + 50,
            "plot '{}' is too small: {p:?}",
            p.title
        );
        let (mut ink, mut colour) = (0usize, 0usize);
        for y in y0..y1 {
            for x in x0..x1 {
                let [r, g, b] = img.get_pixel(x, y).0;
                let (hi, lo) = (r.max(g).max(b), r.min(g).min(b));
                if hi < 235 || lo < 235 {
                    ink += 1;
                }
                if hi - lo > 60 {
                    colour += 1;
                }
            }
        }
        let area = ((x1 - x0) * (y1 - y0)) as usize;
        assert!(
            ink * 100 > area,
            "plot '{}' is blank on the screenshot ({ink} of {area} pixels)",
            p.title
        );
        assert!(
            colour >= 20,
            "plot '{}' shows no coloured marks ({colour} pixels)",
            p.title
        );
    }
}

fn report(runs: &[&Path], page: &Path) -> String {
    let mut args = vec!["report".to_string()];
    args.extend(runs.iter().map(|r| r.display().to_string()));
    args.extend(["--html".into(), page.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = nasgpu(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn html_report_renders_every_plot_in_a_browser() {
    let dir = scratch("browser");
    let specs = [
        ("reinforce-1", Strategy::Reinforce, 1),
        ("reinforce-2", Strategy::Reinforce, 2),
        ("random-1", Strategy::Random, 1),
    ];
    let mut paths = Vec::new();
    for (name, strategy, seed) in specs {
        let p = dir.join(name);
        runs::synth_run(&p, strategy, seed, 240, 5);
        paths.push(p);
    }
    let page = dir.join("report.html");
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let said = report(&refs, &page);
    assert!(said.contains("report.html"), "{said}");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, no external stylesheet, image or font, nothing fetched.
    for banned in [
        "<script", "<link", "<img", "src=", "url(", "@import", "http://", "https://",
    ] {
        assert!(!html.contains(banned), "the page contains {banned}");
    }
    // 3 runs x 2 per-child plots, the quarter boxes, 2 cost plots, the curves, 3 drawings.
    assert_eq!(html.matches("<svg class=\"plot").count(), 6 + 1 + 2 + 1 + 3);
    assert!(html.contains("latency (ms): not recorded"));
    assert!(html.contains("<meta name=\"viewport\""));

    let Some(browser) = chromium() else {
        return;
    };
    let (height, plots) = probe(&browser, &page);
    assert_eq!(plots.len(), 13, "{plots:?}");
    let (png, seconds) = screenshot(&browser, &page, height);
    check_rendered(&png, &plots);
    println!(
        "screenshot {} ({WIDTH}x{height}) in {seconds:.2} s; {} plots rendered",
        png.display(),
        plots.len()
    );
    if std::env::var_os("NASGPU_KEEP_SCREENSHOT").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `--json` prints the runs' figures as one JSON document.
#[test]
fn report_json_prints_each_run() {
    let dir = scratch("json");
    let (a, b) = (dir.join("a"), dir.join("b"));
    runs::synth_run(&a, Strategy::Reinforce, 5, 30, 2);
    runs::synth_run(&b, Strategy::Random, 6, 20, 2);
    let out = nasgpu(&["report", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let runs_json = v["runs"].as_array().unwrap();
    assert_eq!(runs_json.len(), 2);
    assert_eq!(runs_json[0]["children"], 30);
    assert_eq!(runs_json[1]["strategy"], "Random");
    let (run, _, _) = nasgpu::search::RunDir::inspect(&a).unwrap();
    let best = run.best().unwrap();
    assert_eq!(runs_json[0]["best_reward"].as_f64().unwrap(), best.reward);
    assert_eq!(runs_json[0]["best"]["index"], best.index);
    assert_eq!(
        runs_json[0]["window_mean_rewards"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A phone-width page is one column and every plot still renders; `--refresh` reloads.
#[test]
fn html_report_fits_a_phone_and_refreshes_a_running_search() {
    let dir = scratch("phone");
    let run = dir.join("running");
    runs::synth_run(&run, Strategy::Reinforce, 4, 60, 3);
    // A search still running: its budget is larger than its history and the last line torn.
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    config["run"]["budget"] = 100.into();
    std::fs::write(run.join("config.json"), config.to_string()).unwrap();
    let mut history = std::fs::read(run.join("history.jsonl")).unwrap();
    history.extend_from_slice(b"{\"index\": 60, \"contr");
    std::fs::write(run.join("history.jsonl"), &history).unwrap();
    let page = dir.join("live.html");
    let out = nasgpu(&[
        "report",
        run.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
        "--refresh",
        "30",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(run.join("history.jsonl")).unwrap(),
        history,
        "the report changed the run"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    assert!(html.contains("60 / 100"));
    assert!(html.contains("run(s) not finished"));

    // Bad input: a missing run and an unwritable file are named; nothing is written.
    let missing = dir.join("no-such-run");
    let bad = nasgpu(&[
        "report",
        missing.to_str().unwrap(),
        "--html",
        dir.join("x.html").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-run"));
    assert!(!dir.join("x.html").exists());
    let unwritable = page.join("x.html");
    let bad = nasgpu(&[
        "report",
        run.to_str().unwrap(),
        "--html",
        unwritable.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains(unwritable.to_str().unwrap()));

    let Some(browser) = chromium() else {
        return;
    };
    let probe_page = dir.join("phone.html");
    std::fs::write(
        &probe_page,
        html.replace("<meta http-equiv=\"refresh\" content=\"30\">", ""),
    )
    .unwrap();
    let copy = std::fs::read_to_string(&probe_page).unwrap();
    let copy_path = dir.join("phone-probe.html");
    std::fs::write(
        &copy_path,
        copy.replace("</body>", &format!("{PROBE}</body>")),
    )
    .unwrap();
    let out = headless(
        &browser,
        &[
            "--window-size=390,800".into(),
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("file://{}", copy_path.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("PROBE{").expect("probe output") + 5;
    let end = dom[start..].find("}END").unwrap() + start + 1;
    let v: serde_json::Value = serde_json::from_str(&dom[start..end]).unwrap();
    // Headless chromium keeps a window at least 500 px wide: narrower than the two-column
    // breakpoint (2 x 520 px), so the page must be one column that fits the window.
    let width = v["width"].as_f64().unwrap();
    assert!(width <= 520.0, "window {width} px wide");
    for p in v["plots"].as_array().unwrap() {
        let (x, w) = (p["x"].as_f64().unwrap(), p["w"].as_f64().unwrap());
        assert!(
            x >= 0.0 && x + w <= width,
            "plot wider than the window ({width} px): {p}"
        );
        assert!(w >= 0.8 * width, "plot not in one full-width column: {p}");
        assert_eq!(p["marks"], p["points"], "{p}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The size of the page and the time to write and render it for a 12,800-child search (the
/// paper's budget), synthesised.
#[test]
fn html_report_of_a_12800_child_search() {
    let dir = scratch("big");
    let run = dir.join("reinforce-12800");
    runs::synth_run(&run, Strategy::Reinforce, 9, 12_800, 10);
    let page = dir.join("big.html");
    let started = Instant::now();
    let said = report(&[&run], &page);
    let write_seconds = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&page).unwrap().len();
    println!(
        "12,800 children: {}; {bytes} bytes, nasgpu report took {write_seconds:.2} s",
        said.trim()
    );
    assert!(bytes < 8 << 20, "{bytes} bytes is too big for one page");
    if let Some(browser) = chromium() {
        let (height, plots) = probe(&browser, &page);
        let (png, seconds) = screenshot(&browser, &page, height);
        check_rendered(&png, &plots);
        println!(
            "12,800 children: chromium load + screenshot {seconds:.2} s ({} plots)",
            plots.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A search of the NAS-Bench-201 cell space (the tabular evaluator on the synthetic table, so
/// no training) draws its best architectures as cells: 4 nodes and one labelled edge per
/// operation other than `none`, all rendered in the browser like the other plots.
#[test]
fn html_report_draws_cells_of_a_cell_space() {
    let dir = scratch("cells");
    let run = dir.join("nb201");
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/tables/nb201-synthetic.csv");
    let out = nasgpu(&[
        "search",
        "--space",
        "nb201",
        "--evaluator",
        "table",
        "--table",
        table.to_str().unwrap(),
        "--strategy",
        "random",
        "--budget",
        "24",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.join("report.html");
    report(&[&run], &page);
    let html = std::fs::read_to_string(&page).unwrap();
    let cells: Vec<&str> = html
        .split("<svg class=\"plot arch cell\"")
        .skip(1)
        .map(|s| &s[..s.find("</svg>").unwrap()])
        .collect();
    assert!(!cells.is_empty(), "no cell drawn");
    assert!(!html.contains("Red arcs"), "a NAS-RL legend under a cell");
    for cell in &cells {
        let ops = cell.matches("class=\"node layer op ").count();
        let nodes = cell.matches("class=\"node layer point\"").count();
        assert_eq!(nodes, 4, "{cell}");
        assert!(
            cell.contains(&format!("data-points=\"{}\"", nodes + ops)),
            "{cell}"
        );
        assert_eq!(cell.matches("<path class=\"edge ").count(), ops, "{cell}");
        assert!(!cell.contains(">none<"), "none edges are left out: {cell}");
    }
    let Some(browser) = chromium() else {
        return;
    };
    let (height, plots) = probe(&browser, &page);
    let (png, _) = screenshot(&browser, &page, height);
    check_rendered(&png, &plots);
    if std::env::var_os("NASGPU_KEEP_SCREENSHOT").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
