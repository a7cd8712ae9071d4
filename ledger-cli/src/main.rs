//! `mfund`: the command line of the maintenance-fund ledger.
//!
//! Two stages, as in ripgrep: clap parses what was typed ([`args`]), then each command opens
//! what it needs. Only this binary uses `anyhow`; exit status follows `diff`: 0 all well,
//! 1 discrepancies found and reported, 2 the input could not be read or the work not done.

mod allocation;
mod args;
mod commands;
mod drawdown;
mod estate;
mod files;
mod progress;
mod rating;
mod reconcile;

use std::process::ExitCode;

use clap::Parser;

// Reading a city allocates millions of small strings; mimalloc does that several times faster
// than the system allocator and returns memory in a way that keeps peak RSS lower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How a command ended, mapped to the exit status.
pub enum Outcome {
    Clean,
    Discrepancies,
}

fn main() -> ExitCode {
    // Piped into `head`, a command should end quietly when the reader goes, as Unix tools do.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = args::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    match runtime.block_on(commands::run(cli)) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Discrepancies) => ExitCode::from(1),
        Err(error) => {
            eprintln!("mfund: {error:#}");
            ExitCode::from(2)
        }
    }
}
