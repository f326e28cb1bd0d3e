//! The `ncs` command: parse the command line, call the library, print. See `docs/cli.md`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
