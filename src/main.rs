use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

mod cli;

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => cli::train::run(*args),
        Command::Eval(args) => cli::eval::run(args),
        Command::Predict(args) => cli::predict::run(args),
        Command::Data(args) => cli::info::data(args),
        Command::Models => cli::info::models(),
        Command::Bench(args) => cli::bench::run(args),
        Command::Devices(args) => cli::devices::run(args),
        Command::Watch(args) => cli::watch::run(args),
        Command::Ctl(args) => cli::ctl::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!: it panics when the terminal has hung up.
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::from(cli::exit_code(&error))
        }
    }
}
