//! Ctrl-C (and SIGTERM): the first request asks the running command to stop at the next safe
//! point and keep what it has written; a second one exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static RAISED: AtomicBool = AtomicBool::new(false);

/// Handle to the process-wide stop request.
#[derive(Debug, Clone, Copy)]
pub struct Interrupt;

impl Interrupt {
    /// Installs the handler (once per process; later calls reuse it).
    pub fn install() -> Interrupt {
        let _ = ctrlc::set_handler(|| {
            if RAISED.swap(true, Ordering::SeqCst) {
                eprintln!("\nsecond interrupt: exiting now");
                std::process::exit(130);
            }
            eprintln!("\ninterrupt: stopping at the next safe point (Ctrl-C again to exit now)");
        });
        Interrupt
    }

    /// Whether a stop was requested.
    pub fn raised(&self) -> bool {
        RAISED.load(Ordering::SeqCst)
    }
}
