//! Per-inference cost of the driver + software-stick protocol, excluding the compute.
//!
//! Runs a tiny graph (so protocol work dominates) for many pipelined inferences and subtracts
//! the compute time the stick reports per inference (its auxBuffer stage times). What remains is
//! host driver + link + the emulated device's own bookkeeping: an upper bound on host overhead.
//! Issue target: ≤ 20 µs. Run: `cargo bench --bench stick_overhead`.

use std::time::{Duration, Instant};

use half::f16;
use ncs::blob::GraphFile;
use ncs::device::emulator::{SoftBus, SOFT_FIRMWARE};
use ncs::device::{Device, Firmware, OpenOptions};
use ncs::graph::samples::Weights;
use ncs::graph::{Activation, GraphBuilder};

fn main() {
    let mut w = Weights::new(9);
    let mut g = GraphBuilder::new("overhead", [1, 1, 16]);
    let x = g.input();
    let y = g.fully_connected("fc", x, &w.uniform(16 * 16, 0.5), None, Activation::None).unwrap();
    let graph = GraphFile::from_blob(g.finish(y).unwrap()).unwrap();

    let bus = SoftBus::new(1);
    let firmware = Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software firmware").unwrap();
    let mut device = Device::open(&bus, "1-1", &firmware, &OpenOptions::default()).unwrap();
    device.allocate_graph(&graph).unwrap();
    let input = vec![f16::from_f32(0.5); 16];

    let runs = 200_000;
    let mut compute = Duration::ZERO;
    device.load_tensor(&input, 0).unwrap();
    let started = Instant::now();
    for i in 0..runs {
        device.load_tensor(&input, i + 1).unwrap();
        device.get_result().unwrap();
        compute +=
            Duration::from_secs_f64(device.telemetry().stage_ms.iter().map(|&ms| f64::from(ms)).sum::<f64>() / 1e3);
    }
    let total = started.elapsed();
    let per = total.as_secs_f64() / runs as f64 * 1e6;
    let compute_per = compute.as_secs_f64() / runs as f64 * 1e6;
    println!("{runs} pipelined inferences on a software stick: {per:.2} µs each, of which compute {compute_per:.2} µs");
    println!("overhead (driver + link + emulated device) {:.2} µs per inference (target <= 20)", per - compute_per);
}
