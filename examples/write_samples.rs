//! Rewrites the bundled sample graphs in `graphs/` from the builder (`ncs::graph::samples`).
//!
//! `tests/own_graphs.rs` only compares the committed files with the builder's output; when a
//! change to the writer or a sample is intended, run this and review the diff:
//!
//! ```sh
//! cargo run --example write_samples
//! ```

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs");
    for sample in ncs::graph::samples::SAMPLES {
        let bytes = ncs::blob::write(&(sample.build)()?)?;
        let path = dir.join(sample.file);
        let changed = std::fs::read(&path).map(|old| old != bytes).unwrap_or(true);
        std::fs::write(&path, &bytes)?;
        println!("{} {} ({} bytes)", if changed { "wrote" } else { "unchanged" }, path.display(), bytes.len());
    }
    Ok(())
}
