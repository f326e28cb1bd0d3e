//! Everything the CLI prints goes through here, so that a closed pipe (`ncs run … | head`) ends
//! the output quietly instead of panicking, and `-q` silences the notes on stderr.
//!
//! After the reader of stdout goes away, further output is dropped; the command still finishes
//! (closing its stick cleanly) and exits 0, as Unix filters do when `head` has had enough.
//! Any other write error is kept and reported by [`take_error`] as an ordinary failure.

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static CLOSED: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);
static FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes to stdout (through the `outln!` and `out!` macros).
pub fn write(args: Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            FAILED.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
        }
    }
}

/// A write error other than a closed pipe, if one happened.
pub fn take_error() -> Option<std::io::Error> {
    FAILED.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Silences [`note`]s (`-q`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// One line on stderr telling the user something they did not ask for but should know
/// (e.g. which preprocessing was chosen), unless `-q`.
pub fn note(text: &str) {
    if !quiet() {
        let _ = writeln!(std::io::stderr().lock(), "ncs: {text}");
    }
}

/// `println!` to stdout through [`write`]: never panics on a closed pipe.
macro_rules! outln {
    () => { $crate::cli::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` to stdout through [`write`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::out::write(format_args!($($arg)*)) };
}
