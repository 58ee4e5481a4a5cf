//! The subcommands of the `tinct` binary.

mod accounts;
mod colorize;
mod migrate;
mod models;
mod serve;
mod submit;
mod worker;

use std::process::ExitCode;
use std::sync::Arc;

use crate::config::{Cli, Command, Common, ModelsCommand, TokenCommand, UserCommand};
use crate::error::CommandError;

pub fn run(cli: Cli) -> Result<ExitCode, CommandError> {
    match &cli.command {
        Command::Serve(args) => serve::run(&cli.common, args),
        Command::Colorize(args) => colorize::run(&cli.common, args),
        Command::Models(ModelsCommand::List) => models::list(&cli.common),
        Command::Models(ModelsCommand::Import(args)) => models::import(&cli.common, args),
        Command::Models(ModelsCommand::Catalogue) => models::catalogue(&cli.common),
        Command::Models(ModelsCommand::Pull(args)) => models::pull(&cli.common, args),
        Command::User(UserCommand::Add(args)) => accounts::add_user(&cli.common, args),
        Command::User(UserCommand::List(args)) => accounts::list_users(&cli.common, args),
        Command::Token(TokenCommand::Create(args)) => accounts::create_token(&cli.common, args),
        Command::Submit(args) => submit::run(&cli.common, args),
        Command::Worker(args) => worker::run(&cli.common, args),
        Command::Migrate(args) => migrate::run(&cli.common, args),
    }
}

/// Loads ONNX Runtime and opens the model registry.
fn engine(common: &Common) -> Result<Arc<engine::Engine>, CommandError> {
    let runtime = engine::runtime::Runtime::init(common.runtime_options())?;
    Ok(Arc::new(engine::Engine::new(
        runtime,
        common.registry(),
        common.engine_settings(),
    )))
}

/// Lists the files that failed, with the reason; the exit code says whether any did.
fn report_failures(failures: &[(std::path::PathBuf, String)]) -> ExitCode {
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("Failed ({}):", failures.len());
    for (path, reason) in failures {
        println!("  {}: {reason}", path.display());
    }
    ExitCode::FAILURE
}
