//! The `sessionlab` binary: parse the command line, load the settings, run the command.

use std::process::ExitCode;

use clap::Parser;
use sessionlab::cli::{Cli, Command};
use sessionlab::config::{Settings, config_dir};
use sessionlab::{commands, error, telemetry};

/// mimalloc: a request makes some fifty small allocations, which glibc's malloc serves in
/// over three times the instructions (BENCHMARKS.md, change 18).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&config_dir(), &cli.profile) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("sessionlab: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init();
    let command = cli.command.unwrap_or(Command::Serve);
    let result = match command {
        Command::Config => commands::print_report(&commands::describe_config(&settings)),
        Command::Serve => actix_web::rt::System::new().block_on(commands::serve(settings)),
        Command::Healthcheck => commands::healthcheck(&settings),
        Command::Clearsessions => actix_web::rt::System::new()
            .block_on(commands::clearsessions(&settings))
            .and_then(|report| commands::print_report(&report)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sessionlab: {}", error::chain_text(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}
