//! The `gapbench` binary: see `gapbench --help`.
use clap::Parser;

fn main() {
    let cli = harness::cli::Cli::parse();
    std::process::exit(harness::cli::main(cli));
}
