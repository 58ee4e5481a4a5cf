use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = server::config::Cli::parse();
    server::logging::init(&cli.common.log_level);
    match server::commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
