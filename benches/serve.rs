//! `ncs serve` under load: requests per second and client-side p50/p99 against 1, 2 and 4
//! software sticks with a modelled 100 ms inference, and the server's own overhead per
//! request: sequential requests through HTTP and the pool against the same decoding,
//! preprocessing and inference called directly on a worker.
//!
//! `cargo bench --bench serve` — prints the figures and checks the targets: throughput from 1
//! to 2 sticks ≥ 1.8×, median overhead ≤ 1 ms. Exit 1 when a target is missed.

#[path = "../tests/common/http.rs"]
mod http;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{agent, digit_pngs, post_raw, strict_profile, Setup};
use ncs::blob::GraphFile;
use ncs::device::emulator::{SoftBus, SOFT_FIRMWARE};
use ncs::device::{Bus, Firmware, OpenOptions};
use ncs::input::ImagePlan;
use ncs::preprocess::{self, Scheme};
use ncs::serve::{GraphInfo, StickWorker, Worker};

/// Modelled time of one inference on a stick (Inception-class networks take 0.1–0.4 s on NCS1).
const INFERENCE: Duration = Duration::from_millis(100);
/// Requests per stick in each throughput run (≈ 6 s each at 10 inferences/s per stick).
const PER_STICK: usize = 60;

/// The p-th percentile, nearest rank (as `ncs bench`): the sample at rank ⌈p·n/100⌉.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

struct Run {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `count` requests from `clients` closed-loop clients; latency is what each client saw.
fn run(base: &str, clients: usize, count: usize, images: &Arc<Vec<(String, Vec<u8>)>>) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (next, images, url) = (Arc::clone(&next), Arc::clone(images), format!("{base}/v1/classify"));
            std::thread::spawn(move || {
                let agent = agent();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return latencies;
                    }
                    let sent = Instant::now();
                    let reply = post_raw(&agent, &url, &images[i % images.len()].1);
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                }
            })
        })
        .collect();
    let mut latencies: Vec<f64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Run { per_second: count as f64 / wall, p50_ms: percentile(&latencies, 50.0), p99_ms: percentile(&latencies, 99.0) }
}

/// Sequential requests to the server: client-side latency per request, sorted.
fn through_the_server(base: &str, count: usize, images: &[(String, Vec<u8>)]) -> Vec<f64> {
    let agent = agent();
    let url = format!("{base}/v1/classify");
    let mut samples: Vec<f64> = (0..count)
        .map(|i| {
            let sent = Instant::now();
            let reply = post_raw(&agent, &url, &images[i % images.len()].1);
            let ms = sent.elapsed().as_secs_f64() * 1e3;
            assert_eq!(reply.status, 200, "{}", reply.body);
            ms
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples
}

/// The same work without the server: decode and preprocess the bytes as the server does, then
/// one inference through the same worker on the same kind of software stick. Time per image, sorted.
fn direct(graph: &Path, count: usize, images: &[(String, Vec<u8>)]) -> Vec<f64> {
    let file = Arc::new(GraphFile::read(graph).unwrap());
    let plan = ImagePlan::for_network(&GraphInfo::of("graph", &file).network, Some(Scheme::SlimEval), None).unwrap();
    let bus = SoftBus::with_profile(1, strict_profile());
    let firmware = Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software stick firmware").unwrap();
    let shared: Arc<dyn Bus> = Arc::new(bus.clone());
    let mut worker = StickWorker::open(shared, "1-1", "emulator", firmware, file, OpenOptions::default()).unwrap();
    let mut samples: Vec<f64> = (0..count)
        .map(|i| {
            let started = Instant::now();
            let input = plan.apply(&preprocess::decode(&images[i % images.len()].1, "upload").unwrap()).unwrap();
            worker.submit(&input, i as u64).unwrap();
            let collected = worker.collect().unwrap();
            assert_eq!(collected.tag, i as u64);
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    worker.close().unwrap();
    samples.sort_by(f64::total_cmp);
    samples
}

fn main() {
    let graph = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs/tiny_cnn.graph");
    let images = Arc::new(digit_pngs());
    println!("ncs serve: tiny_cnn.graph, 28x28 PNG digits (slim-eval to 16x16), software sticks");
    println!("modelled inference {} ms; two clients per stick (both slots busy)\n", INFERENCE.as_millis());
    println!("{:>6} {:>9} {:>9} {:>11} {:>9} {:>9}", "sticks", "requests", "req/s", "ideal req/s", "p50 ms", "p99 ms");
    let mut per_second = Vec::new();
    for sticks in [1, 2, 4] {
        let setup = Setup { sticks, latency: INFERENCE, queue: 256, ..Setup::new(&graph, 10, Scheme::SlimEval) };
        let (server, _bus) = setup.start();
        let base = format!("http://{}", server.addr);
        run(&base, sticks, 2 * sticks, &images); // warm-up: connections, first inferences
        let count = PER_STICK * sticks;
        let r = run(&base, 2 * sticks, count, &images);
        let ideal = sticks as f64 / INFERENCE.as_secs_f64();
        println!("{sticks:>6} {count:>9} {:>9.2} {ideal:>11.2} {:>9.1} {:>9.1}", r.per_second, r.p50_ms, r.p99_ms);
        per_second.push(r.per_second);
        server.stop().unwrap();
    }
    let scale_2 = per_second[1] / per_second[0];
    let scale_4 = per_second[2] / per_second[0];
    println!("\nscaling: 2 sticks {scale_2:.2}x, 4 sticks {scale_4:.2}x of 1 stick");

    // Overhead: the same images, one at a time, through HTTP and the pool versus straight to a
    // worker (each after a warm-up), interleaved in rounds so drift on a shared machine hits both.
    let setup = Setup { sticks: 1, ..Setup::new(&graph, 10, Scheme::SlimEval) };
    let (server, _bus) = setup.start();
    let base = format!("http://{}", server.addr);
    through_the_server(&base, 200, &images);
    direct(&graph, 200, &images);
    let (mut served, mut straight) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        served.extend(through_the_server(&base, 600, &images));
        straight.extend(direct(&graph, 600, &images));
    }
    server.stop().unwrap();
    served.sort_by(f64::total_cmp);
    straight.sort_by(f64::total_cmp);
    let (s50, s99, d50, d99) = (
        percentile(&served, 50.0),
        percentile(&served, 99.0),
        percentile(&straight, 50.0),
        percentile(&straight, 99.0),
    );
    let p50 = s50 - d50;
    println!("\n{} sequential requests, no modelled latency:", served.len());
    println!("  through the server: p50 {s50:.3} ms, p99 {s99:.3} ms");
    println!("  worker called directly (same decoding, preprocessing, inference): p50 {d50:.3} ms, p99 {d99:.3} ms");
    println!("  server overhead per request: p50 {p50:.3} ms ({:.2}x the direct call)", s50 / d50);

    let mut failed = false;
    if scale_2 < 1.8 {
        println!("FAIL: throughput from 1 to 2 sticks scaled {scale_2:.2}x < 1.8x");
        failed = true;
    }
    if p50 > 1.0 {
        println!("FAIL: median server overhead {p50:.3} ms > 1 ms");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    println!("targets met: scaling >= 1.8x, overhead <= 1 ms");
}
