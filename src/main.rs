use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

mod cli;

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    keep_large_buffers_in_the_heap();
    fer::device::prepare_environment();
    cli::panics::install();
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
        Command::Runs(args) => cli::runs::run(args),
        Command::Ctl(args) => cli::ctl::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Card(args) => cli::card::run(args),
        Command::Queue(args) => cli::queue::run(args),
        Command::Study(args) => cli::study::run(args),
        Command::Orchestrator(args) => cli::orchestrator::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!: it panics when the terminal has hung up.
            let _ = writeln!(std::io::stderr(), "error: {}", cli::error_message(&error));
            ExitCode::from(cli::exit_code(&error))
        }
    }
}

/// glibc hands every allocation over 128 KiB (then a moving threshold) to `mmap` and
/// gives it back on free, so a training step that allocates the same few-MB tensors
/// again and again spends a tenth of its time in page faults. Up to glibc's cap of
/// 32 MiB, keep them in the heap, and let the heap stay grown.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_buffers_in_the_heap() {
    const MMAP_THRESHOLD_MAX: i32 = 32 << 20;
    const TRIM_THRESHOLD: i32 = 1 << 30;
    // SAFETY: mallopt only sets two of glibc's allocator thresholds, before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_buffers_in_the_heap() {}
