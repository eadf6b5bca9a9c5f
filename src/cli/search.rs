//! `nasgpu search`: architecture search from parts (space, strategy, evaluator, objective) on a
//! dataset or a table, resumable from its run directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::interrupt::Interrupt;
use super::options::{MAX_BUDGET, MAX_EPOCHS, count, duration_seconds};
use super::{CliError, DeviceArgs};
use crate::data::{self, Amount, ChannelStats, DataSource, DeviceDataset, Sampling, TrainTest};
use crate::device::Gpu;
use crate::search::evaluator::Table;
use crate::search::objective::ObjectiveKind;
use crate::search::run_dir::BestMeta;
use crate::search::{
    EvaluatorKind, Parts, ProxyTask, RunData, RunDir, Search, SearchConfig, SearchEnd, SearchEvent,
    SearchState, SpaceKind, StrategyKind,
};
use crate::util::output::FolderPlan;

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Search configuration (JSON). Without it: a small demo search that finishes in minutes on
    /// software Vulkan; see assets/configs/ for the paper's space.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Folder holding IDX (MNIST/Fashion-MNIST) or CIFAR-10/100 binary files, or images:
    /// DIR/train/<class>/*.png|jpg and DIR/test/<class>/... (else a fifth of train is held out).
    #[arg(long, conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Image folders: resize images whose size differs from the first (else they are refused).
    /// Kept in data.json, so `--resume` reads the folder the same way.
    #[arg(long)]
    pub resize: bool,
    /// Image folders: refuse a file that does not decode, naming it (else skip and count it).
    #[arg(long)]
    pub strict: bool,
    /// bundled (default), fashion-mnist, mnist, cifar10, cifar100.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Search space: macro (NAS-RL), nb201 (NAS-Bench-201 cells), darts (DARTS cells) or enas (ENAS macro layers).
    #[arg(long, value_enum)]
    pub space: Option<SpaceKind>,
    /// random, reinforce, ppo, evolution or darts (gradient-based: spaces nb201, darts; implies
    /// --evaluator supernet, the `darts` section).
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyKind>,
    /// train (children from scratch), table (look them up in --table) or supernet (measure
    /// them on the shared weights of one supernet: single-path one-shot; spaces nb201, darts, enas).
    #[arg(long, value_enum)]
    pub evaluator: Option<EvaluatorKind>,
    /// The reward: nasrl (accuracy^power) or latency (MnasNet's latency-aware reward).
    #[arg(long, value_enum)]
    pub objective: Option<ObjectiveKind>,
    /// CSV table for the table evaluator (a header, one row per architecture).
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// Column of --table holding the space's canonical architecture names.
    #[arg(long)]
    pub table_arch_column: Option<String>,
    /// Column of --table whose number stands for the validation accuracy.
    #[arg(long)]
    pub table_metric: Option<String>,
    /// Column of --table with simulated training seconds.
    #[arg(long)]
    pub table_cost: Option<String>,
    /// Children to train in all.
    #[arg(long, allow_negative_numbers = true, value_parser = count(1, MAX_BUDGET))]
    pub budget: Option<usize>,
    /// Stop starting new batches of children after this much search time over every session
    /// of the run (seconds, or a number ending in s, m or h: 90, 30m, 2h); the batch in flight
    /// is finished. Whichever of this and --budget comes first ends the search.
    #[arg(long, allow_negative_numbers = true, value_parser = duration_seconds)]
    pub time_limit: Option<f64>,
    /// Architectures sampled per controller update (m).
    #[arg(long, allow_negative_numbers = true,
          value_parser = count(1, crate::search::config::MAX_CHILDREN_PER_STEP))]
    pub children_per_step: Option<usize>,
    /// Epochs each child is trained for its reward.
    #[arg(long, allow_negative_numbers = true, value_parser = count(1, MAX_EPOCHS))]
    pub child_epochs: Option<usize>,
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Run directory to create (default: runs/search-<strategy>-<date>).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the search in this run directory (after Ctrl-C or a crash). --budget may raise
    /// its budget (a last step that the old budget cut short stays short, so the history can
    /// differ from a run started with the new budget); other settings come from the run directory.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Replace the earlier search in --out as a whole (once the new one has started).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Print the run's summary (summary.json plus the run directory) as JSON on stdout; human
    /// lines go to stderr.
    #[arg(long)]
    pub json: bool,
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// The configuration: the file or the quick demo, with command-line overrides.
fn configure(args: &SearchArgs) -> Result<SearchConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => SearchConfig::load(path).map_err(err)?,
        None => SearchConfig::demo(),
    };
    if let Some(s) = args.strategy {
        config.run.strategy = s;
    }
    if let Some(s) = args.space {
        config.run.space = s;
    }
    if let Some(e) = args.evaluator {
        config.run.evaluator = e;
    }
    // DARTS has one evaluator: its strategy trains inside the supernet.
    if args.strategy == Some(StrategyKind::Darts) && args.evaluator.is_none() {
        config.run.evaluator = EvaluatorKind::Supernet;
    }
    if let Some(o) = args.objective {
        config.objective.kind = o;
    }
    if let Some(t) = &args.table {
        config.table.file = Some(t.clone());
        if args.evaluator.is_none() {
            config.run.evaluator = EvaluatorKind::Table;
        }
    }
    if let Some(c) = &args.table_arch_column {
        config.table.arch_column = c.clone();
    }
    if let Some(c) = &args.table_metric {
        config.table.metric = c.clone();
    }
    if let Some(c) = &args.table_cost {
        config.table.cost = Some(c.clone());
    }
    if let Some(b) = args.budget {
        config.run.budget = b;
    }
    if let Some(t) = args.time_limit {
        config.run.time_limit = t;
    }
    if let Some(m) = args.children_per_step {
        config.reinforce.children_per_step = m;
    }
    if let Some(e) = args.child_epochs {
        config.child.epochs = e;
    }
    if let Some(s) = args.seed {
        config.run.seed = s;
    }
    config.validate().map_err(|e| {
        let option = match e.field.as_str() {
            "table.file" if args.table.is_none() => "--evaluator".to_string(),
            "table.file" => "--table".to_string(),
            f => f.to_string(),
        };
        CliError(format!("command line: {option}: {}", e.message))
    })?;
    Ok(config)
}

/// Proxy task: a stratified validation split (never the test set) and a seeded training subset.
/// Whether the child settings fit the data: checked before anything is written, naming the field,
/// rather than failing every child of the budget one by one.
fn check_fits(tt: &TrainTest, config: &SearchConfig) -> Result<(), CliError> {
    let c = &config.child;
    let available = tt.train.len();
    if c.validation_images >= available {
        return Err(CliError(format!(
            "child.validation_images: {} leaves no training images: {} has {available}",
            c.validation_images, tt.name
        )));
    }
    let train_images = match c.train_images {
        0 => available - c.validation_images,
        n => n.min(available - c.validation_images),
    };
    if config.run.evaluator == EvaluatorKind::Supernet {
        let s = &config.supernet;
        if s.batch_size > train_images {
            return Err(CliError(format!(
                "supernet.batch_size: {} is more than the {train_images} training images of {}",
                s.batch_size, tt.name
            )));
        }
        let measured = s.eval_images.min(c.validation_images);
        if s.batch_size > measured {
            return Err(CliError(format!(
                "supernet.batch_size: {} cannot fill one validation batch of the {measured} images a path is measured on (supernet.eval_images {}, child.validation_images {})",
                s.batch_size, s.eval_images, c.validation_images
            )));
        }
    } else if c.batch_size > train_images {
        return Err(CliError(format!(
            "child.batch_size: {} is more than the {train_images} child training images of {}",
            c.batch_size, tt.name
        )));
    }
    Ok(())
}

/// The proxy task on the device: the children's training and validation subsets of `tt`,
/// normalised by `stats`.
fn proxy(
    gpu: &Arc<Gpu>,
    tt: &TrainTest,
    stats: &ChannelStats,
    config: &SearchConfig,
) -> Result<(ProxyTask, String), CliError> {
    check_fits(tt, config)?;
    let seed = config.run.seed;
    let c = &config.child;
    let split = data::split_train_validation(
        &tt.train,
        Amount::Count(c.validation_images),
        Sampling::Stratified,
        seed,
    )
    .map_err(|e| CliError(format!("child.validation_images: {e}")))?;
    let train_ids = if c.train_images == 0 || c.train_images >= split.train.len() {
        split.train
    } else {
        data::subset(
            &tt.train,
            &split.train,
            Amount::Count(c.train_images),
            Sampling::Stratified,
            seed,
        )
        .map_err(err)?
    };
    let device = Arc::new(DeviceDataset::upload(gpu, &tt.train, stats).map_err(err)?);
    let summary = format!(
        "{} (child training {}, validation {})",
        tt.name,
        train_ids.len(),
        split.validation.len()
    );
    Ok((
        ProxyTask {
            data: device,
            train_ids,
            val_ids: split.validation,
            augment: tt.format.default_augment(),
        },
        summary,
    ))
}

fn default_out(strategy: StrategyKind) -> PathBuf {
    let stamp = crate::util::date::utc_string(std::time::SystemTime::now())
        .replace([' ', ':'], "")
        .replace("UTC", "");
    PathBuf::from(format!(
        "runs/search-{}-{stamp}",
        format!("{strategy:?}").to_lowercase()
    ))
}

/// Where this session records: a reopened run, or a new one that is created only once the
/// search has started for real (after data loading, device set-up and the parts), so a search
/// that fails before leaves no run directory behind.
enum Target {
    Resumed {
        run: RunDir,
        /// `--budget` or `--time-limit` changed a limit: `config.json` is rewritten when the
        /// search starts.
        limits_changed: bool,
    },
    New {
        out: PathBuf,
        plan: FolderPlan,
        data: Option<RunData>,
    },
}

/// A run for this session, with its data loaded (none for a table).
struct Opened {
    target: Target,
    config: SearchConfig,
    state: SearchState,
    data: Option<TrainTest>,
    /// The device, when starting the run already opened it (for its memory estimate).
    gpu: Option<Arc<Gpu>>,
}

fn folder_options(args: &SearchArgs) -> data::folder::FolderOptions {
    data::folder::FolderOptions {
        resize: args.resize,
        strict: args.strict,
    }
}

/// What the settings came from, for errors that name a field: the file, or the quick demo.
fn config_source(args: &SearchArgs) -> String {
    match &args.config {
        Some(path) => path.display().to_string(),
        None => "the built-in quick demo configuration".to_string(),
    }
}

/// Plans a new run: checks the output folder, loads the data (its identity goes into
/// `data.json`) and estimates what the controller and the space's children need; writes
/// nothing.
fn new_run(args: &SearchArgs, device: &DeviceArgs) -> Result<Opened, CliError> {
    let config = configure(args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(config.run.strategy));
    let plan = RunDir::plan_create(&out, args.force).map_err(err)?;
    if args.config.is_none() && config.run.space == SpaceKind::Macro {
        eprintln!(
            "config    built-in quick demo (no --config): {} layers, filter sizes {:?}x{:?}, filters {:?}, strides {:?}, {} children of {} epochs; assets/configs/ has the paper's space",
            config.space.layers,
            config.space.filter_heights,
            config.space.filter_widths,
            config.space.filter_counts,
            config.space.strides,
            config.run.budget,
            config.child.epochs
        );
    }
    let loaded = if config.run.evaluator.reads_data() {
        let source =
            DataSource::from_args(args.data.as_deref(), args.dataset.as_deref()).map_err(err)?;
        let data = data::load_with(&source, folder_options(args)).map_err(err)?;
        if !data.skipped.is_empty() {
            eprintln!(
                "skipped   {} files that are not readable images (--strict refuses them), e.g. {}",
                data.skipped.len(),
                data.skipped[0]
            );
        }
        check_fits(&data, &config)
            .map_err(|e| CliError(format!("{}: {}", config_source(args), e.0)))?;
        Some((source, data))
    } else {
        if args.data.is_some() || args.dataset.is_some() {
            return Err(CliError(
                "--data/--dataset: the table evaluator trains nothing and reads no data".into(),
            ));
        }
        // Read the table once before anything is written, so a bad table leaves no run behind.
        Table::open(&config).map_err(err)?;
        None
    };
    let gpu = if needs_device(&config) {
        Some(Gpu::open(&device.options())?)
    } else {
        None
    };
    let shape = loaded
        .as_ref()
        .map(|(_, d)| (d.train.image_shape, d.train.classes as usize));
    crate::search::footprint::check_search(&config, gpu.as_deref(), shape).map_err(|e| {
        let source = config_source(args);
        CliError(crate::search::ConfigError { source, ..e }.to_string())
    })?;
    let run_data = match &loaded {
        Some((source, data)) => Some(
            RunData::new(source, data)
                .map_err(err)?
                .with_folder(folder_options(args)),
        ),
        None => None,
    };
    let data = loaded.map(|(_, d)| d);
    let state = SearchState::new(config.run.seed);
    Ok(Opened {
        target: Target::New {
            out,
            plan,
            data: run_data,
        },
        config,
        state,
        data,
        gpu,
    })
}

/// Reopens the run in `dir` (None: it is finished, and this said so).
fn resume_run(dir: &Path, args: &SearchArgs) -> Result<Option<Opened>, CliError> {
    let overrides = args.config.is_some()
        || args.strategy.is_some()
        || args.space.is_some()
        || args.evaluator.is_some()
        || args.objective.is_some()
        || args.table.is_some()
        || args.table_arch_column.is_some()
        || args.table_metric.is_some()
        || args.table_cost.is_some()
        || args.children_per_step.is_some()
        || args.child_epochs.is_some()
        || args.seed.is_some()
        || args.resize
        || args.strict;
    if overrides {
        let given: Vec<&str> = [
            ("--config", args.config.is_some()),
            ("--strategy", args.strategy.is_some()),
            ("--space", args.space.is_some()),
            ("--evaluator", args.evaluator.is_some()),
            ("--objective", args.objective.is_some()),
            ("--table", args.table.is_some()),
            ("--table-arch-column", args.table_arch_column.is_some()),
            ("--table-metric", args.table_metric.is_some()),
            ("--table-cost", args.table_cost.is_some()),
            ("--children-per-step", args.children_per_step.is_some()),
            ("--child-epochs", args.child_epochs.is_some()),
            ("--seed", args.seed.is_some()),
            ("--resize", args.resize),
            ("--strict", args.strict),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
        return Err(CliError(format!(
            "{}: --resume takes its settings from the run directory; only --budget, --time-limit (and the data location) may be given",
            given.join(", ")
        )));
    }
    let (run, mut config, state) = RunDir::open(dir).map_err(err)?;
    let budget_changed = args.budget.is_some_and(|b| b != config.run.budget);
    if let Some(b) = args.budget {
        config.run.budget = b;
        config
            .validate()
            .map_err(|e| CliError(format!("--budget: {}: {}", e.field, e.message)))?;
        // A step already sampled is trained whole, so it counts as started work.
        let started = state
            .pending
            .as_ref()
            .map_or(state.children_done, |p| p.first_child + p.rollouts.len());
        if b < started {
            return Err(CliError(format!(
                "--budget {b} is below the {started} children this run has trained or started"
            )));
        }
    }
    let limits_changed =
        budget_changed || args.time_limit.is_some_and(|t| t != config.run.time_limit);
    if let Some(t) = args.time_limit {
        config.run.time_limit = t;
    }
    if state.finished(&config.run) {
        // Leave the summary as the session that finished the run wrote it.
        if args.json {
            let text = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
            println!(
                "{}",
                if text.is_empty() {
                    "null".to_string()
                } else {
                    text
                }
            );
        }
        let limits = if config.run.time_limit > 0.0 {
            format!(
                "budget {}, time limit {} s ({:.1} s spent)",
                config.run.budget, config.run.time_limit, state.cost.total_seconds
            )
        } else {
            format!("budget {}", config.run.budget)
        };
        eprintln!(
            "{} is finished: {} children, {limits}; nothing to do (--budget or --time-limit \
             raises its limit)",
            dir.display(),
            state.children_done,
        );
        return Ok(None);
    }
    let given = if args.data.is_some() || args.dataset.is_some() {
        Some(DataSource::from_args(args.data.as_deref(), args.dataset.as_deref()).map_err(err)?)
    } else {
        None
    };
    let data = match config.run.evaluator {
        EvaluatorKind::Train | EvaluatorKind::Supernet => {
            Some(RunData::reload(dir, given).map_err(err)?)
        }
        EvaluatorKind::Table => None,
    };
    Ok(Some(Opened {
        target: Target::Resumed {
            run,
            limits_changed,
        },
        config,
        state,
        data,
        gpu: None,
    }))
}

/// Writes `summary.json` and returns its document.
fn write_summary(
    search: &Search,
    path: &Path,
    end: SearchEnd,
    setup_seconds: f64,
) -> Result<serde_json::Value, CliError> {
    let history = search.run_dir().history();
    let best = search.run_dir().best();
    let mut rewards: Vec<f64> = history.iter().map(|r| r.reward).collect();
    rewards.sort_by(|a, b| b.total_cmp(a));
    let top5 = &rewards[..rewards.len().min(5)];
    let total = search.total_cost();
    let doc = serde_json::json!({
        "status": if end == SearchEnd::Finished { "finished" } else { "interrupted" },
        // What ended a finished run: its budget, or its time limit first.
        "ended_by": (end == SearchEnd::Finished).then(|| {
            if history.len() < search.config().run.budget { "time_limit" } else { "budget" }
        }),
        "children": history.len(),
        "best_reward": best.map(|b| b.reward),
        "best_child": best.map(|b| b.index),
        "best_val_accuracy": best.map(|b| b.best_accuracy()),
        "mean_top5_reward": top5.iter().sum::<f64>() / top5.len().max(1) as f64,
        "failed_children": history.iter().filter(|r| r.status != crate::search::ChildStatus::Ok).count(),
        "cost_total": total,
        "cost_this_session": search.cost,
        "controller_seconds_per_update": total.controller_seconds_per_update(),
        "controller_sample_seconds_per_architecture": total.controller_sample_seconds_per_architecture(),
        "controller_compile_seconds": total.controller_compile_seconds,
        "share_outside_child_training": total.outside_share(),
        "setup_seconds": setup_seconds,
        "controller_dispatches": search.parts().strategy.controller_dispatches().map(|(s, u)| serde_json::json!({"sample": s, "update": u})),
        "derived": search.derived(),
    });
    crate::util::atomic_write(
        &path.join("summary.json"),
        serde_json::to_string_pretty(&doc)
            .expect("summary")
            .as_bytes(),
    )
    .map_err(|e| {
        CliError(format!(
            "{}: cannot write summary.json: {e}",
            path.display()
        ))
    })?;
    Ok(doc)
}

/// Whether the search needs a device: to train children, or for a controller.
fn needs_device(config: &SearchConfig) -> bool {
    config.run.evaluator.reads_data()
        || matches!(
            config.run.strategy,
            StrategyKind::Reinforce | StrategyKind::Ppo
        )
}

pub fn run(device: &DeviceArgs, args: &SearchArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let interrupt = Interrupt::install();
    let opened = match &args.resume {
        Some(dir) => match resume_run(dir, args)? {
            Some(opened) => opened,
            None => return Ok(()),
        },
        None => new_run(args, device)?,
    };
    let Opened {
        target,
        config,
        state,
        data,
        gpu,
    } = opened;
    let gpu = match gpu {
        Some(gpu) => Some(gpu),
        None if needs_device(&config) => Some(Gpu::open(&device.options())?),
        None => None,
    };
    // What best.json records of the data the children train on (a table search has none).
    let best_meta = data.as_ref().map(|tt| BestMeta {
        dataset: tt.name.clone(),
        stats: tt.train.channel_stats(),
        class_names: tt.class_names.clone(),
    });
    let (task, summary) = match (&gpu, &data, &best_meta) {
        (Some(gpu), Some(tt), Some(meta)) => {
            let (task, summary) = proxy(gpu, tt, &meta.stats, &config)?;
            (Some(task), summary)
        }
        _ => {
            let t = &config.table;
            let file = t
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            (None, format!("table {file} (metric '{}')", t.metric))
        }
    };
    drop(data); // the device holds the images now
    let (parts, input, classes) = Parts::build(&config, gpu.as_ref(), task).map_err(err)?;
    let (run_dir, limits_changed) = match target {
        Target::Resumed {
            run,
            limits_changed,
        } => (run, limits_changed),
        Target::New { out, plan, data } => {
            let run = RunDir::create_planned(&out, &config, plan).map_err(err)?;
            if let Some(Err(e)) = data.map(|d| d.save(&out)) {
                // The folder was made (or emptied) for this run a moment ago and holds only
                // its config.json: a run that never started leaves nothing behind.
                let _ = std::fs::remove_dir_all(&out);
                return Err(err(e));
            }
            (run, false)
        }
    };
    let mut run_dir = run_dir;
    if let Some(meta) = best_meta {
        run_dir.set_best_meta(meta);
    }
    let path = run_dir.path().to_path_buf();
    let resumed_at = state.children_done;
    let resuming = resumed_at > 0 || state.pending.is_some();
    let mut search =
        Search::new(config.clone(), parts, input, classes, run_dir, state).map_err(err)?;
    if limits_changed {
        // Every check passed and the strategy restored: the new limits are now the run's.
        search
            .run_dir()
            .write_file(
                crate::search::run_dir::CONFIG_FILE,
                serde_json::to_string_pretty(&config)
                    .expect("config")
                    .as_bytes(),
            )
            .map_err(err)?;
    }
    let setup_seconds = started.elapsed().as_secs_f64();
    if let Some(gpu) = &gpu {
        eprintln!("adapter   {}", gpu.describe());
    }
    eprintln!("data      {summary}");
    eprintln!(
        "search    space {}, strategy {}, evaluator {}, budget {}{}, {}{}, run directory {}{}",
        search.parts().space.name(),
        search.parts().strategy.name(),
        search.parts().evaluator.name(),
        config.run.budget,
        if config.run.time_limit > 0.0 {
            format!(" or {} s", config.run.time_limit)
        } else {
            String::new()
        },
        // DARTS derives one cell per update phase whatever reinforce.children_per_step says.
        if config.run.strategy == StrategyKind::Darts {
            "one derived cell per update phase".to_string()
        } else {
            format!("m = {}", config.reinforce.children_per_step)
        },
        match search.parts().evaluator.epochs() {
            0 => String::new(),
            e => format!(", child epochs {e}"),
        },
        path.display(),
        if resuming {
            format!(" (resuming after {resumed_at} children)")
        } else {
            String::new()
        }
    );
    if let Some(line) = search.parts().evaluator.describe() {
        eprintln!("{:<9} {line}", search.parts().evaluator.name());
    }
    let bar = ProgressBar::new(config.run.budget as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} children {msg} ({elapsed}, ETA {eta})",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    bar.set_position(search.run_dir().history().len() as u64);
    // indicatif draws nothing when stderr is not a terminal; print the lines plainly then.
    let say = |line: String| {
        if bar.is_hidden() {
            eprintln!("{line}")
        } else {
            bar.println(line)
        }
    };
    let mut best = 0.0;
    let mut mean = 0.0;
    let evaluator_name = search.parts().evaluator.name();
    let last_said = std::cell::Cell::new(std::time::Instant::now());
    let end = search
        .run(&|| interrupt.raised(), &mut |event| match event {
            SearchEvent::StepStarted {
                step,
                children,
                resumed,
            } => {
                bar.set_message(format!(
                    "| step {step}: {children} children{} | best {best:.4} mean {mean:.4}",
                    if resumed { " (resumed)" } else { "" }
                ));
            }
            SearchEvent::ChildEpoch {
                child,
                epoch,
                epochs,
            } => {
                bar.set_message(format!(
                    "| child {child} epoch {epoch}/{epochs} | best {best:.4} mean {mean:.4}"
                ));
            }
            SearchEvent::ChildDone {
                record,
                done,
                best: b,
                mean: m,
                ..
            } => {
                best = b;
                mean = m;
                bar.set_position(done as u64);
                let acc = record.best_accuracy();
                let latency = record
                    .latency
                    .map(|l| format!("  {:.2} ms", l.batch1_ms))
                    .unwrap_or_default();
                say(format!(
                    "child {:>4}  {:>8} params{latency}  val acc {:.4}  reward {:.4}  {:?}  {}{}",
                    record.index,
                    record.parameters,
                    acc,
                    record.reward,
                    record.status,
                    record.canonical,
                    record
                        .error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ));
            }
            SearchEvent::StrategyUpdated { step, message } => {
                say(format!(
                    "{} update {step}: {message}",
                    config.run.strategy.name()
                ));
            }
            SearchEvent::UpdateProgress { done, steps } => {
                let line = format!("{} training: step {done}/{steps}", evaluator_name);
                bar.set_message(format!("| {line} | best {best:.4} mean {mean:.4}"));
                // Without a bar, a long phase still says it is alive, once a minute.
                if bar.is_hidden() && last_said.get().elapsed().as_secs() >= 60 {
                    say(line);
                    last_said.set(std::time::Instant::now());
                }
            }
            SearchEvent::Deriving { samples } => {
                say(format!(
                    "budget spent: measuring {samples} architectures sampled from the trained controller on the shared weights"
                ));
            }
        })
        .map_err(err)?;
    bar.finish_and_clear();
    let mut summary = write_summary(&search, &path, end, setup_seconds)?;
    if args.json {
        summary["run_directory"] = serde_json::json!(path);
        summary["best_architecture"] = serde_json::json!(path.join("best.json"));
        if search.derived().is_some() {
            summary["derived_architecture"] =
                serde_json::json!(path.join(crate::search::run_dir::DERIVED_FILE));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summary")
        );
    }
    match end {
        SearchEnd::Finished => {
            let evaluated = search.run_dir().history().len();
            let why = if evaluated < config.run.budget {
                format!(", time limit of {} s reached", config.run.time_limit)
            } else {
                String::new()
            };
            match search.run_dir().best() {
                Some(best) => eprintln!(
                    "finished: {evaluated} architectures evaluated ({:.0} s this session{why}); best child {}: validation accuracy {:.2}%, reward {:.4}; architecture in {}",
                    started.elapsed().as_secs_f64(),
                    best.index,
                    100.0 * best.best_accuracy(),
                    best.reward,
                    path.join("best.json").display()
                ),
                None => eprintln!(
                    "finished: {evaluated} architectures evaluated ({:.0} s this session{why}); no best architecture",
                    started.elapsed().as_secs_f64(),
                ),
            }
            if let Some(d) = search.derived() {
                for (k, sample) in d.samples.iter().enumerate() {
                    eprintln!(
                        "derived sample {k}: validation accuracy {:.2}%  {} params  {}",
                        100.0 * sample.val_accuracy,
                        sample.parameters,
                        sample.canonical
                    );
                }
                let chosen = d.chosen();
                eprintln!(
                    "derived (the trained controller's best of {} samples on the final shared weights): validation accuracy {:.2}%; architecture in {}",
                    d.samples.len(),
                    100.0 * chosen.val_accuracy,
                    path.join(crate::search::run_dir::DERIVED_FILE).display()
                );
            }
            Ok(())
        }
        SearchEnd::Interrupted => Err(CliError(format!(
            "interrupted after {} children; continue with: nasgpu search --resume {}",
            search.run_dir().history().len(),
            path.display()
        ))),
    }
}
