//! Command-line front end. Exit codes: 0 success, 1 a check failed, 2 bad input or usage.

#[macro_use]
mod out;

mod backend;
mod bench;
mod classify;
mod compile;
mod info;
mod input;
mod logging;
mod preprocess;
mod profile;
mod run;
#[cfg(feature = "serve")]
mod serve;
mod sticks;
mod table;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// `ncs --version`: the crate version, its enabled cargo features and where its NCSDK bindings
/// came from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (features: ",
    env!("NCS_FEATURES"),
    "; mvnc bindings: ",
    env!("NCS_BINDINGS_SOURCE"),
    ")"
);

/// Native toolkit for the Intel Movidius Neural Compute Stick (NCS1) and its graph files.
#[derive(Debug, Parser)]
#[command(name = "ncs", version = VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output on stderr: -v info (boot, firmware, backend), -vv debug, -vvv trace.
    /// RUST_LOG, when set, takes precedence.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr: no notes (such as the preprocessing chosen), warnings or progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
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
    /// One inference: input (.npy, image or raw) in, output printed or saved.
    Run(run::RunArgs),
    /// Compare a backend with the CPU reference (mvNCCheck's metrics); exit 1 on failure.
    Verify(verify::VerifyArgs),
    /// Latency distribution, throughput and per-stage times.
    Bench(bench::BenchArgs),
    /// Per-stage time, MACs, bytes moved and share; optional HTML report.
    Profile(profile::ProfileArgs),
    /// Classify images: top-k per image, a summary, accuracy when the truth is known.
    Classify(classify::ClassifyArgs),
    /// Serve a classifier over HTTP on a pool of sticks (see docs/serve.md).
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Preprocess an image into a network input tensor (.npy).
    Preprocess(preprocess::PreprocessArgs),
    /// List sticks (booted or not) with bus and port path.
    Devices(sticks::DevicesArgs),
    /// Send firmware to every stick waiting in its boot ROM.
    Boot(sticks::BootArgs),
    /// Compile a frozen TensorFlow graph (.pb) into a graph file, as mvNCCompile does.
    Compile(compile::CompileArgs),
    /// Print a shell completion script (e.g. `ncs completions bash > /etc/bash_completion.d/ncs`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How a command ended, mapped to the documented exit codes.
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a check ran and failed.
    CheckFailed,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(compile::rewrite_args(std::env::args_os()));
    out::set_quiet(cli.quiet);
    logging::init(cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Info { graph, json } => info::run(&graph, json),
        Command::Run(args) => run::run(&args),
        Command::Preprocess(args) => preprocess::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Profile(args) => profile::run(&args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(&args),
        Command::Devices(args) => sticks::devices(&args),
        Command::Boot(args) => sticks::boot_all(&args),
        Command::Compile(args) => compile::run(&args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ncs", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(Outcome::Success)
        }
    };
    let code = match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(err) => {
            eprintln!("ncs: error: {err}");
            return ExitCode::from(2);
        }
    };
    // A closed pipe is a normal end; any other failure to write the results is not.
    match out::take_error() {
        Some(e) => {
            eprintln!("ncs: error: writing to stdout: {e}");
            ExitCode::from(2)
        }
        None => code,
    }
}

/// The parser of counts that must be 1 or more (`--top K`): clap refuses 0 with "invalid value
/// '0' for '--top <K>': expected a whole number of 1 or more" (exit 2) before the command runs.
/// (clap's `RangedU64ValueParser` would print the range's end, 18446744073709551615.)
pub fn at_least_one(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| "expected a whole number of 1 or more".to_owned())
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
