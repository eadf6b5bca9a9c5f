//! `nasgpu train`: train an architecture file (or a preset) on a dataset, report validation
//! accuracy per epoch and the final test accuracy, and write weights and metrics to `--out`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::interrupt::Interrupt;
use super::options::{MAX_BATCH, MAX_EPOCHS, count};
use super::progress::EpochProgress;
use super::{CliError, DeviceArgs};
use crate::data::{self, Amount, DataSource, DeviceDataset, Sampling};
use crate::device::Gpu;
use crate::nn::meta::architecture_file_json;
use crate::nn::preset::{PRESETS, preset};
use crate::nn::train::{Evaluator, Metrics, Schedule, TrainConfig, Trainer};
use crate::nn::{Architecture, ModelMeta, Network};
use crate::util::output::{plan_folder, prepare_folder};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Architecture file to train (as written by `nasgpu search` to best.json).
    #[arg(long, conflicts_with = "preset")]
    pub arch: Option<PathBuf>,
    /// A named architecture instead of a file: small-cnn (default), tiny-cnn.
    #[arg(long)]
    pub preset: Option<String>,
    /// Folder holding IDX (MNIST/Fashion-MNIST) or CIFAR-10/100 binary files, or images:
    /// DIR/train/<class>/*.png|jpg and DIR/test/<class>/... (else a fifth of train is held out).
    #[arg(long, conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Image folders: resize images whose size differs from the first (else they are refused).
    #[arg(long)]
    pub resize: bool,
    /// Image folders: refuse a file that does not decode, naming it (else skip and count it).
    #[arg(long)]
    pub strict: bool,
    /// bundled (default: a 2,000-image Fashion-MNIST subset in the binary), fashion-mnist,
    /// mnist, cifar10, cifar100 (looked up in $NASGPU_DATA, ./data; see scripts/fetch-data.sh).
    #[arg(long)]
    pub dataset: Option<String>,
    #[arg(long, default_value_t = 10, allow_negative_numbers = true,
          value_parser = count(1, MAX_EPOCHS))]
    pub epochs: usize,
    #[arg(long, default_value_t = 64, allow_negative_numbers = true,
          value_parser = count(1, MAX_BATCH))]
    pub batch: usize,
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub momentum: f32,
    /// Plain momentum instead of Nesterov's.
    #[arg(long)]
    pub no_nesterov: bool,
    #[arg(long, default_value_t = 5e-4, allow_negative_numbers = true)]
    pub weight_decay: f32,
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    pub schedule: Schedule,
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// Validation images held out of the training set: a count or a fraction ("5000", "0.1").
    #[arg(long, default_value = "0.1", allow_negative_numbers = true)]
    pub validation: String,
    /// Random crop + flip augmentation: on, off, or auto (on for CIFAR, off for IDX datasets).
    #[arg(long, default_value = "auto")]
    pub augment: String,
    /// Cutout: zero a square of this side at a random centre of every training image (0 = off;
    /// DARTS retrains CIFAR-10 with 16). Works with or without --augment.
    #[arg(long, default_value_t = 0)]
    pub cutout: u32,
    /// Output folder for weights.safetensors, metrics.json and architecture.json.
    #[arg(long, default_value = "runs/train")]
    pub out: PathBuf,
    /// Replace the earlier training output in --out as a whole (once this run has started).
    #[arg(long)]
    pub force: bool,
    /// Print the final metrics.json document (plus the output folder) as JSON on stdout; the
    /// human lines stay on stderr.
    #[arg(long)]
    pub json: bool,
}

fn data_error(e: data::DataError) -> CliError {
    CliError(e.to_string())
}

fn arch_for(args: &TrainArgs, input: [usize; 3], classes: usize) -> Result<Architecture, CliError> {
    let arch = if let Some(path) = &args.arch {
        Architecture::load(path).map_err(|e| CliError(e.to_string()))?
    } else {
        let name = args.preset.as_deref().unwrap_or("small-cnn");
        preset(name, input, classes).ok_or_else(|| {
            CliError(format!(
                "--preset: unknown preset '{name}' (available: {})",
                PRESETS.join(", ")
            ))
        })?
    };
    if arch.input != input || arch.classes != classes {
        return Err(CliError(format!(
            "architecture expects input {:?} and {} classes, but the dataset has {:?} and {} classes",
            arch.input, arch.classes, input, classes
        )));
    }
    Ok(arch)
}

/// Everything written to `metrics.json`.
struct Record {
    head: serde_json::Value,
    epochs: Vec<serde_json::Value>,
}

impl Record {
    /// Writes `metrics.json` and returns the document written.
    fn write(
        &self,
        out: &std::path::Path,
        status: &str,
        test: Option<Metrics>,
    ) -> Result<serde_json::Value, CliError> {
        let mut doc = self.head.clone();
        doc["status"] = json!(status);
        doc["epochs"] = json!(self.epochs);
        if let Some(t) = test {
            doc["test"] = json!({ "loss": t.loss, "accuracy": t.accuracy, "images": t.samples });
        }
        let text = serde_json::to_string_pretty(&doc).expect("metrics serialise");
        crate::util::atomic_write(&out.join("metrics.json"), text.as_bytes())
            .map_err(|e| CliError(format!("{}: cannot write metrics.json: {e}", out.display())))?;
        Ok(doc)
    }
}

fn save_weights(net: &Network, meta: &ModelMeta, out: &std::path::Path) -> Result<(), CliError> {
    crate::nn::weights::save_network(&out.join("weights.safetensors"), net, Some(meta))
        .map_err(CliError)
}

/// `--validation` as a count or a fraction, refusing values that hold out nothing or everything.
fn parse_validation(text: &str) -> Result<Amount, CliError> {
    let bad = |why: &str| Err(CliError(format!("--validation: {text} {why}")));
    match text.parse::<Amount>() {
        Err(e) => Err(CliError(format!("--validation: {e}"))),
        Ok(Amount::Count(0)) => bad(
            "holds out no validation images (give a count of at least 1, or a fraction such as 0.1)",
        ),
        Ok(Amount::Fraction(f)) if !(f > 0.0 && f < 1.0) => bad(
            "is not a fraction strictly between 0 and 1 (1.0 would hold out every training image)",
        ),
        Ok(amount) => Ok(amount),
    }
}

/// After the split: the held-out images must leave at least one batch to train on.
fn check_validation_fits(
    args: &TrainArgs,
    train_left: usize,
    available: usize,
) -> Result<(), CliError> {
    if args.batch > available {
        return Err(CliError(format!(
            "--batch: {} is more than the {available} training images of the dataset",
            args.batch
        )));
    }
    if train_left < args.batch {
        return Err(CliError(format!(
            "--validation: {} leaves {train_left} of the {available} training images, fewer than one batch (--batch {})",
            args.validation, args.batch
        )));
    }
    Ok(())
}

/// Rejects option values no training run can use, naming the option, before any work starts.
fn check_options(args: &TrainArgs) -> Result<(), CliError> {
    parse_validation(&args.validation)?;
    let bad = |option: &str, value: String, want: &str| {
        Err(CliError(format!("{option}: {value} is not {want}")))
    };
    if args.epochs == 0 {
        return bad("--epochs", "0".into(), "a positive number of epochs");
    }
    if args.batch == 0 {
        return bad("--batch", "0".into(), "a positive batch size");
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return bad(
            "--lr",
            args.lr.to_string(),
            "a positive finite learning rate",
        );
    }
    if !(0.0..1.0).contains(&args.momentum) {
        return bad("--momentum", args.momentum.to_string(), "in [0, 1)");
    }
    if !(args.weight_decay.is_finite() && args.weight_decay >= 0.0) {
        return bad(
            "--weight-decay",
            args.weight_decay.to_string(),
            "finite and >= 0",
        );
    }
    Ok(())
}

/// Whether `name` is a file a training run (or an export beside it) writes into `--out`.
fn is_training_output(name: &str) -> bool {
    matches!(
        name,
        "architecture.json" | "metrics.json" | "weights.safetensors"
    ) || name.starts_with("model.")
}

pub fn run(device: &DeviceArgs, args: &TrainArgs) -> Result<(), CliError> {
    check_options(args)?;
    // Decided before any work; the folder is touched only once training really starts.
    let out_plan = plan_folder(
        &args.out,
        &is_training_output,
        "a training run",
        "--out",
        "",
        args.force,
    )
    .map_err(CliError)?;
    let interrupt = Interrupt::install();
    let source =
        DataSource::from_args(args.data.as_deref(), args.dataset.as_deref()).map_err(data_error)?;
    let gpu = Gpu::open(&device.options())?;
    let folder = data::folder::FolderOptions {
        resize: args.resize,
        strict: args.strict,
    };
    let tt = data::load_with(&source, folder).map_err(data_error)?;
    if !tt.skipped.is_empty() {
        eprintln!(
            "skipped   {} files that are not readable images (--strict refuses them), e.g. {}",
            tt.skipped.len(),
            tt.skipped[0]
        );
    }
    let validation = parse_validation(&args.validation)?;
    let split =
        data::split_train_validation(&tt.train, validation, Sampling::Stratified, args.seed)
            .map_err(|e| CliError(format!("--validation {}: {e}", args.validation)))?;
    let mut augment = match args.augment.as_str() {
        "auto" => tt.format.default_augment(),
        "on" => data::Augment {
            crop_padding: 4,
            horizontal_flip: true,
            cutout: 0,
        },
        "off" => data::Augment::NONE,
        other => {
            return Err(CliError(format!(
                "--augment: '{other}' is not on, off or auto"
            )));
        }
    };
    let [_, h, w] = tt.train.image_shape;
    if args.cutout as usize > h.max(w) {
        return Err(CliError(format!(
            "--cutout {}: larger than the dataset's {h}x{w} images",
            args.cutout
        )));
    }
    augment.cutout = args.cutout;
    check_validation_fits(args, split.train.len(), tt.train.len())?;
    // The architecture is estimated before anything of it (or of the data) is on the device.
    let arch = arch_for(args, tt.train.image_shape, tt.train.classes as usize)?;
    let arch_source = match &args.arch {
        Some(path) => path.display().to_string(),
        None => format!("--preset {}", args.preset.as_deref().unwrap_or("small-cnn")),
    };
    crate::nn::footprint::check_training(&gpu, &arch, args.batch, &arch_source)
        .map_err(|e| CliError(format!("{e} (--batch {})", args.batch)))?;
    let stats = tt.train.channel_stats();
    let train_data = Arc::new(DeviceDataset::upload(&gpu, &tt.train, &stats).map_err(data_error)?);
    let test_data = Arc::new(DeviceDataset::upload(&gpu, &tt.test, &stats).map_err(data_error)?);
    let meta = ModelMeta::new(&arch, &tt.name, &stats, tt.class_names.clone());

    let config = TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        learning_rate: args.lr,
        momentum: args.momentum,
        nesterov: !args.no_nesterov,
        weight_decay: args.weight_decay,
        schedule: args.schedule,
        seed: args.seed,
        grad_clip: 0.0,
        augment,
    };
    let net = Network::new(&gpu, &arch, args.seed)?;
    let mut trainer = Trainer::new(&gpu, net, &train_data, split.train.clone(), config.clone())
        .map_err(|e| CliError(e.to_string()))?;
    let val = Evaluator::new(&trainer.net, &train_data, &split.validation, args.batch)
        .map_err(|e| CliError(e.to_string()))?;
    let test_ids: Vec<u32> = (0..tt.test.len() as u32).collect();
    let test = Evaluator::new(&trainer.net, &test_data, &test_ids, args.batch)
        .map_err(|e| CliError(e.to_string()))?;
    let report = trainer.report();
    // Data, network and plans are ready: the run starts for real, and only now does the
    // output folder change (an earlier run's files replaced as a whole).
    prepare_folder(&args.out, out_plan).map_err(CliError)?;
    crate::util::atomic_write(
        &args.out.join("architecture.json"),
        architecture_file_json(&arch, Some(&meta)).as_bytes(),
    )
    .map_err(|e| CliError(format!("{}: {e}", args.out.display())))?;
    eprintln!("adapter   {}", gpu.describe());
    eprintln!(
        "data      {} (train {}, validation {}, test {})",
        tt.name,
        split.train.len(),
        split.validation.len(),
        tt.test.len()
    );
    eprintln!(
        "network   {}, {} parameters, {:.1} MFLOP/image forward",
        arch.describe(),
        arch.parameter_count(),
        arch.forward_flops() / 1e6
    );
    eprintln!(
        "step      {} dispatches, {} submit, {} host writes; activations+gradients {} (unplanned {}), kernel scratch {}",
        report.dispatches_per_step,
        report.submits_per_step,
        report.host_writes_per_step,
        crate::util::human_bytes(report.planned_bytes),
        crate::util::human_bytes(report.unplanned_bytes),
        crate::util::human_bytes(report.scratch_bytes)
    );

    let mut record = Record {
        head: json!({
            "architecture": arch, "dataset": tt.name, "adapter": gpu.describe(),
            "config": config, "augment": { "crop_padding": augment.crop_padding, "horizontal_flip": augment.horizontal_flip, "cutout": augment.cutout },
            "parameters": arch.parameter_count(), "forward_flops_per_image": arch.forward_flops(), "step": report,
            "train_images": split.train.len(), "validation_images": split.validation.len(),
        }),
        epochs: Vec::new(),
    };
    let started = Instant::now();
    let steps = trainer.steps_per_epoch();
    for epoch in 0..args.epochs {
        let epoch_start = Instant::now();
        let mut progress = EpochProgress::new(epoch, args.epochs, steps);
        trainer.begin_epoch(epoch);
        for s in 0..steps {
            if interrupt.raised() {
                break;
            }
            trainer.step(s)?;
            if (s + 1) % 50 == 0 || s + 1 == steps {
                let m = trainer.read_metrics()?;
                progress.update(
                    s + 1,
                    m,
                    (s + 1) * args.batch,
                    epoch_start.elapsed().as_secs_f64(),
                );
            }
        }
        if interrupt.raised() {
            // The weights on disk stay those of the last finished epoch, matching metrics.json;
            // the half-trained epoch is dropped.
            progress.abandon();
            record.write(&args.out, "interrupted", None)?;
            return Err(CliError(format!(
                "interrupted; {} epochs finished, their weights and metrics are in {}",
                epoch,
                args.out.display()
            )));
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let train_m = trainer.read_metrics()?;
        if !train_m.loss.is_finite() {
            record.write(&args.out, "diverged", None)?;
            return Err(CliError(format!(
                "training diverged at epoch {} (loss {}); try a lower --lr",
                epoch + 1,
                train_m.loss
            )));
        }
        let val_m = val.evaluate()?;
        let seconds = epoch_start.elapsed().as_secs_f64();
        // Training throughput: the validation pass is timed in `seconds`, not here.
        let ips = (steps * args.batch) as f64 / train_seconds;
        progress.finish(train_m, val_m, ips);
        record.epochs.push(json!({
            "epoch": epoch + 1, "train_loss": train_m.loss, "train_accuracy": train_m.accuracy,
            "val_loss": val_m.loss, "val_accuracy": val_m.accuracy, "seconds": seconds, "train_seconds": train_seconds, "images_per_second": ips,
        }));
        save_weights(&trainer.net, &meta, &args.out)?;
        record.write(&args.out, "training", None)?;
    }
    let test_m = test.evaluate()?;
    record.head["wall_seconds"] = json!(started.elapsed().as_secs_f64());
    let mut doc = record.write(&args.out, "completed", Some(test_m))?;
    if args.json {
        doc["out"] = json!(args.out);
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("metrics serialise")
        );
        return Ok(());
    }
    println!(
        "test accuracy {:.2}% (loss {:.4}) on {} images after {} epochs in {:.0} s; written to {}",
        100.0 * test_m.accuracy,
        test_m.loss,
        test_m.samples,
        args.epochs,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
