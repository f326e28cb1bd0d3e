//! The logger behind the library's `log` calls (boot, re-enumeration, retries, firmware and
//! backend choice): env_logger on stderr, its level from `-v`/`-q`, overridden by `RUST_LOG`.

/// Installs the logger: warnings by default, `-v` info, `-vv` debug, `-vvv` trace, `-q` errors
/// only; `RUST_LOG` (env_logger's syntax, e.g. `ncs::device=debug`) wins where set.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Warn,
        (false, 1) => log::LevelFilter::Info,
        (false, 2) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .parse_env("RUST_LOG")
        .format_timestamp(None)
        .format_target(true)
        .init();
}
