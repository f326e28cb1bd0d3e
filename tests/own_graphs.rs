//! The bundled sample graphs are what the builder writes today, and round-trip.
//! Regenerate them with `NCS_UPDATE_GRAPHS=1 cargo test --test own_graphs`.

mod common;

use ncs::blob;
use ncs::graph::samples::SAMPLES;

#[test]
fn committed_samples_match_the_builder() {
    let update = std::env::var_os("NCS_UPDATE_GRAPHS").is_some();
    for sample in SAMPLES {
        let blob = (sample.build)().unwrap_or_else(|e| panic!("{}: {e}", sample.file));
        let bytes = blob::write(&blob).unwrap();
        let path = common::own_graphs().join(sample.file);
        if update {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with NCS_UPDATE_GRAPHS=1 to create it)", path.display()));
        assert!(committed == bytes, "{} differs from the builder's output; regenerate it", sample.file);
        let parsed = blob::parse(&committed).unwrap();
        assert_eq!(parsed, blob, "{}: parse(write(g)) != g", sample.file);
    }
}
