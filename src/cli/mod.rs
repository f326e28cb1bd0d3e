//! Command-line front end. Exit codes: 0 success, 1 a check failed, 2 bad input or usage.

mod info;
mod run;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Native toolkit for the Intel Movidius Neural Compute Stick (NCS1) and its graph files.
#[derive(Debug, Parser)]
#[command(name = "ncs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Header, stage table and totals of an NCS v1 graph blob.
    Info {
        /// The graph file (mvNCCompile output).
        graph: PathBuf,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// One inference: input .npy in, output printed or saved.
    Run(run::RunArgs),
}

/// How a command ended, mapped to the documented exit codes.
pub enum Outcome {
    /// Exit 0.
    Success,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { graph, json } => info::run(&graph, json),
        Command::Run(args) => run::run(&args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ncs: error: {err}");
            ExitCode::from(2)
        }
    }
}

/// Thousands-grouped decimal, for tables people read.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
