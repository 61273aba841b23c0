//! The `gapbench` binary: see `gapbench --help`.
use clap::Parser;

fn main() {
    let cli = match harness::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // Bad flags: clap's message on one line (exit 2), as for every other bad input.
            eprintln!(
                "{}",
                harness::cli::one_line_usage_error(&e.render().to_string())
            );
            std::process::exit(2);
        }
    };
    std::process::exit(harness::cli::main(cli));
}
