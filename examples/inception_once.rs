//! Writes the seeded Inception V3 blob (≈ 47.6 MB) and its test input to files, for measuring
//! `ncs run` on it: `cargo run --release --example inception_once -- DIR`, then
//! `/usr/bin/time -v target/release/ncs run DIR/inception_v3.graph --input DIR/input.npy`.

use ncs::blob;
use ncs::graph::networks::inception_v3::{inception_v3, inception_v3_input, INPUT_SIZE};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let bytes = blob::write(&inception_v3(1011).expect("build")).expect("write");
    std::fs::write(dir.join("inception_v3.graph"), bytes).expect("save graph");
    let n = INPUT_SIZE as usize;
    ncs::npy::write_f32(&dir.join("input.npy"), &[n, n, 3], &inception_v3_input(1011)).expect("save input");
    println!("wrote {0}/inception_v3.graph and {0}/input.npy", dir.display());
}
