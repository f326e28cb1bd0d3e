//! `ncs compile MODEL.pb --input NAME --output NAME [--shaves N] [--input-shape H,W,C] -o OUT`,
//! also under mvNCCompile's spellings (`-in`, `-on`, `-s`, `-is W H`, `-o`) so old scripts and
//! Makefiles work unchanged.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use ncs::compile::{compile_file, CompileOptions};
use ncs::graph::GraphStats;

use super::Outcome;

/// Options of `ncs compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The frozen TensorFlow graph (binary GraphDef, `.pb`).
    model: PathBuf,
    /// Input placeholder name (mvNCCompile `-in`).
    #[arg(long, default_value = "input")]
    input: String,
    /// Output node name (mvNCCompile `-on`).
    #[arg(long, default_value = "output")]
    output: String,
    /// SHAVE cores the graph may use, 1 to 12 (mvNCCompile `-s`).
    #[arg(long, short = 's', default_value_t = 1)]
    shaves: u16,
    /// Input shape H,W,C for placeholders whose shape is not fully known.
    #[arg(long, value_name = "H,W,C", value_parser = parse_shape)]
    input_shape: Option<[u32; 3]>,
    /// mvNCCompile's `-is W H` (width first; 3 channels).
    #[arg(long = "mvnc-input-size", num_args = 2, value_names = ["W", "H"], hide = true)]
    mvnc_input_size: Option<Vec<u32>>,
    /// The graph file to write (mvNCCompile's default: `graph`).
    #[arg(short = 'o', long = "out", default_value = "graph")]
    out: PathBuf,
}

fn parse_shape(text: &str) -> Result<[u32; 3], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let dims: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).filter(|&d| d > 0).collect();
    match dims[..] {
        [h, w, c] if parts.len() == 3 => Ok([h, w, c]),
        _ => Err(format!("'{text}' is not H,W,C (three positive integers)")),
    }
}

/// Rewrites mvNCCompile's single-dash long options (`-in X`, `-in=X`, `-on`, `-is W H`) into
/// this command's spellings, so clap can parse them. Only arguments of `compile` change.
pub fn rewrite_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let args: Vec<OsString> = args.into_iter().collect();
    let Some(at) = args.iter().position(|a| a == "compile") else { return args };
    let mut out = args[..=at].to_vec();
    for arg in &args[at + 1..] {
        let text = arg.to_string_lossy();
        let mapped =
            [("-in", "--input"), ("-on", "--output"), ("-is", "--mvnc-input-size")].iter().find_map(|(short, long)| {
                if text == *short {
                    Some(OsString::from(*long))
                } else {
                    text.strip_prefix(&format!("{short}=")).map(|v| OsString::from(format!("{long}={v}")))
                }
            });
        out.push(mapped.unwrap_or_else(|| arg.clone()));
    }
    out
}

/// Compiles, then writes the graph file and prints its summary (as `ncs info`).
pub fn run(args: &CompileArgs) -> ncs::Result<Outcome> {
    let input_shape = match (&args.input_shape, &args.mvnc_input_size) {
        (Some(_), Some(_)) => {
            return Err(ncs::Error::Usage("give --input-shape or -is, not both".into()));
        }
        (Some(s), None) => Some(*s),
        (None, Some(wh)) => Some([wh[1], wh[0], 3]),
        (None, None) => None,
    };
    let options =
        CompileOptions { input: args.input.clone(), output: args.output.clone(), shaves: args.shaves, input_shape };
    let compiled = compile_file(&args.model, &options)?;
    // Everything that can refuse the graph runs before the output file is created: a refused
    // graph leaves no file, and a failed write leaves no partial one (it goes to a temporary
    // name beside the output, renamed into place when complete).
    let bytes = ncs::blob::write(&compiled.blob)?;
    let layout = compiled.blob.layout().map_err(|source| ncs::Error::Blob { path: Some(args.out.clone()), source })?;
    let stats = GraphStats::of(&compiled.blob);
    for warning in &compiled.warnings {
        // Not `eprintln!`: a closed stderr must not panic.
        let _ = writeln!(std::io::stderr().lock(), "ncs: warning: {warning}");
    }
    write_whole(&args.out, &bytes)?;
    out!("{}", super::info::to_text(Path::new(&args.out), &compiled.blob, &layout, &stats, bytes.len() as u64));
    Ok(Outcome::Success)
}

/// Writes `bytes` to `path` all or nothing: into a temporary file in the same directory, then
/// renamed over `path`.
fn write_whole(path: &Path, bytes: &[u8]) -> ncs::Result<()> {
    let mut name = path.file_name().map(OsString::from).unwrap_or_else(|| OsString::from("graph"));
    name.push(format!(".{}.partial", std::process::id()));
    let partial = path.with_file_name(name);
    let result = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    result.map_err(|source| {
        let _ = std::fs::remove_file(&partial);
        ncs::Error::Io { path: path.to_owned(), source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn mvnccompile_spellings_are_rewritten() {
        let got = rewrite_args(os(&[
            "ncs",
            "compile",
            "m.pb",
            "-s",
            "12",
            "-in=input",
            "-on",
            "a/b",
            "-is",
            "5",
            "7",
            "-o",
            "g",
        ]));
        assert_eq!(
            got,
            os(&[
                "ncs",
                "compile",
                "m.pb",
                "-s",
                "12",
                "--input=input",
                "--output",
                "a/b",
                "--mvnc-input-size",
                "5",
                "7",
                "-o",
                "g"
            ])
        );
        // Other commands keep their arguments.
        assert_eq!(rewrite_args(os(&["ncs", "info", "-in"])), os(&["ncs", "info", "-in"]));
    }

    #[test]
    fn shapes_parse() {
        assert_eq!(parse_shape("299, 299,3"), Ok([299, 299, 3]));
        assert!(parse_shape("299,299").is_err());
        assert!(parse_shape("0,1,1").is_err());
    }
}
