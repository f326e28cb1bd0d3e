//! Command-line front end. Exit codes: 0 success, 1 a check failed, 2 bad input or usage.

mod backend;
mod bench;
mod classify;
mod compile;
mod info;
mod preprocess;
mod profile;
mod run;
mod sticks;
mod table;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ncs::device::trace::Tracer;

/// Native toolkit for the Intel Movidius Neural Compute Stick (NCS1) and its graph files.
#[derive(Debug, Parser)]
#[command(name = "ncs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Record every USB transfer of the driver as JSON lines (real and software sticks).
    #[arg(long, global = true, env = "NCS_TRACE_USB", value_name = "FILE")]
    trace_usb: Option<PathBuf>,
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
    /// Compare a backend with the CPU reference (mvNCCheck's metrics); exit 1 on failure.
    Verify(verify::VerifyArgs),
    /// Latency distribution, throughput and per-stage times.
    Bench(bench::BenchArgs),
    /// Per-stage time, MACs, bytes moved and share; optional HTML report.
    Profile(profile::ProfileArgs),
    /// Classify images: top-k per image, a summary, accuracy when the truth is known.
    Classify(classify::ClassifyArgs),
    /// Preprocess an image into a network input tensor (.npy).
    Preprocess(preprocess::PreprocessArgs),
    /// List sticks (booted or not) with bus and port path.
    Devices(sticks::DevicesArgs),
    /// Send firmware to every stick waiting in its boot ROM.
    Boot(sticks::BootArgs),
    /// Compile a frozen TensorFlow graph (.pb) into a graph file, as mvNCCompile does.
    Compile(compile::CompileArgs),
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
    let tracer = match cli.trace_usb.as_deref().map(Tracer::to_file).transpose() {
        Ok(tracer) => tracer,
        Err(e) => {
            eprintln!("ncs: error: --trace-usb {}: {e}", cli.trace_usb.as_deref().unwrap_or(Path::new("")).display());
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Info { graph, json } => info::run(&graph, json),
        Command::Run(args) => run::run(&args, tracer.as_ref()),
        Command::Preprocess(args) => preprocess::run(&args),
        Command::Verify(args) => verify::run(&args, tracer.as_ref()),
        Command::Bench(args) => bench::run(&args, tracer.as_ref()),
        Command::Classify(args) => classify::run(&args, tracer.as_ref()),
        Command::Profile(args) => profile::run(&args, tracer.as_ref()),
        Command::Devices(args) => sticks::devices(&args),
        Command::Boot(args) => sticks::boot_all(&args, tracer.as_ref()),
        Command::Compile(args) => compile::run(&args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
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
