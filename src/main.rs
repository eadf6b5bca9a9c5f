use clap::Parser;

fn main() {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`nasgpu report | head`) would panic;
    // the default action ends the process quietly, as other Unix tools do.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = nasgpu::cli::Cli::parse();
    if let Err(e) = nasgpu::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
