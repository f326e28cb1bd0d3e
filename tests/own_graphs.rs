//! The bundled sample graphs are what the builder writes today, and round-trip.
//! This test only compares; regenerating the files is a separate, explicit step:
//! `cargo run --example write_samples` (then review the diff).

mod common;

use ncs::blob;
use ncs::graph::samples::SAMPLES;

#[test]
fn committed_samples_match_the_builder() {
    for sample in SAMPLES {
        let blob = (sample.build)().unwrap_or_else(|e| panic!("{}: {e}", sample.file));
        let bytes = blob::write(&blob).unwrap();
        let path = common::own_graphs().join(sample.file);
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (create it with `cargo run --example write_samples`)", path.display()));
        assert!(
            committed == bytes,
            "{} differs from the builder's output; if the change is intended, run `cargo run --example write_samples`",
            sample.file
        );
        let parsed = blob::parse(&committed).unwrap();
        assert_eq!(parsed, blob, "{}: parse(write(g)) != g", sample.file);
    }
}
