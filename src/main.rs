use clap::Parser;

fn main() {
    let cli = nasgpu::cli::Cli::parse();
    if let Err(e) = nasgpu::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
