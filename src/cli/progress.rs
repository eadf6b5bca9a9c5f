//! Progress display for training: a bar per epoch on a terminal, a line per epoch otherwise.

use indicatif::{ProgressBar, ProgressStyle};

use crate::nn::train::Metrics;

/// The progress of one epoch.
pub struct EpochProgress {
    bar: ProgressBar,
    label: String,
}

impl EpochProgress {
    pub fn new(epoch: usize, epochs: usize, steps: usize) -> EpochProgress {
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} steps {msg} ({elapsed} / {eta} left)",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        let label = format!("epoch {}/{}", epoch + 1, epochs);
        bar.set_prefix(label.clone());
        EpochProgress { bar, label }
    }

    /// Shows the running loss/accuracy of the epoch and the throughput so far.
    pub fn update(&mut self, step: usize, m: Metrics, images: usize, seconds: f64) {
        self.bar.set_position(step as u64);
        self.bar.set_message(format!(
            "loss {:.4} acc {:.2}% {:.0} img/s",
            m.loss,
            100.0 * m.accuracy,
            images as f64 / seconds.max(1e-9)
        ));
    }

    /// Ends the epoch with its summary line (also printed when stderr is not a terminal).
    pub fn finish(self, train: Metrics, val: Metrics, images_per_second: f64) {
        self.bar.finish_and_clear();
        eprintln!(
            "{}  train loss {:.4} acc {:.2}%  val loss {:.4} acc {:.2}%  {:.0} img/s",
            self.label,
            train.loss,
            100.0 * train.accuracy,
            val.loss,
            100.0 * val.accuracy,
            images_per_second
        );
    }

    pub fn abandon(self) {
        self.bar.abandon();
    }
}
