//! Parse + validate throughput against reading the same file from the page cache.
//!
//! Issue target: parsing a 50 MB blob costs no more than about twice reading it.
//! Run: `cargo bench --bench parse` (prints medians over 30 runs and the ratio).

use std::time::{Duration, Instant};

use ncs::blob;
use ncs::graph::samples::Weights;
use ncs::graph::{Activation, GraphBuilder};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // A 5000×5000 fully connected layer: 50 MB of fp16 weights.
    let mut weights = Weights::new(7);
    let mut g = GraphBuilder::new("bench_fc", [1, 1, 5000]);
    let x = g.input();
    let fc = g
        .fully_connected(
            "fc",
            x,
            &weights.uniform(5000 * 5000, 0.01),
            Some(&weights.uniform(5000, 0.1)),
            Activation::None,
        )
        .expect("build");
    let bytes = blob::write(&g.finish(fc).expect("finish")).expect("write");
    let path = std::env::temp_dir().join(format!("ncs-bench-parse-{}.graph", std::process::id()));
    std::fs::write(&path, &bytes).expect("write temp graph");

    let runs = 30;
    let mut read = Vec::with_capacity(runs);
    let mut parse = Vec::with_capacity(runs);
    let mut read_and_parse = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let data = std::fs::read(&path).expect("read");
        read.push(t.elapsed());
        let t = Instant::now();
        let parsed = blob::parse(&data).expect("parse");
        parse.push(t.elapsed());
        std::hint::black_box(parsed);
        let t = Instant::now();
        let parsed = blob::Blob::read(&path).expect("read+parse");
        read_and_parse.push(t.elapsed());
        std::hint::black_box(parsed);
    }
    let _ = std::fs::remove_file(&path);
    let (read, parse, both) = (median(read), median(parse), median(read_and_parse));
    let mb = bytes.len() as f64 / 1e6;
    println!("blob: {mb:.1} MB, {runs} runs, medians");
    println!("read from page cache : {:8.2} ms ({:.0} MB/s)", ms(read), mb / read.as_secs_f64());
    println!("parse + validate     : {:8.2} ms ({:.0} MB/s)", ms(parse), mb / parse.as_secs_f64());
    println!("read + parse (total) : {:8.2} ms", ms(both));
    println!("parse / read ratio   : {:8.2} (target <= ~2)", parse.as_secs_f64() / read.as_secs_f64());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
