//! The native driver against software sticks: full flow, pipelining, user parameters,
//! recovery, and many sticks from many threads.

mod common;

use half::f16;
use ncs::blob::{Blob, BlobErrorKind, GraphFile};
use ncs::device::emulator::{SoftBus, SOFT_FIRMWARE};
use ncs::device::{Device, DeviceError, Firmware, GraphOptions, OpenOptions};
use ncs::fp16;
use ncs::graph::samples::Weights;
use ncs::reference::{Executor, Precision};

fn firmware() -> Firmware {
    Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software firmware").unwrap()
}

fn graph(file: &str) -> GraphFile {
    GraphFile::read(&common::own_graphs().join(file)).unwrap()
}

/// fp16 inputs and the CPU reference's fp16 outputs for them.
fn cases(graph: &GraphFile, count: usize, seed: u64) -> Vec<(Vec<f16>, Vec<f16>)> {
    let mut exec = Executor::new(graph.blob(), Precision::Fp16).unwrap();
    let len = exec.input_shape().iter().product::<u32>() as usize;
    let mut w = Weights::new(seed);
    (0..count)
        .map(|_| {
            let input = fp16::halves_from_f32(&w.uniform(len, 1.0));
            let out = fp16::halves_from_f32(&exec.run(&fp16::halves_to_f32(&input)).unwrap().output);
            (input, out)
        })
        .collect()
}

#[test]
fn boot_allocate_and_pipeline_100_inferences() {
    let bus = SoftBus::new(1);
    let name = bus.stick(0).unwrap().name();
    let mut device = Device::open(&bus, &name, &firmware(), &OpenOptions::default()).unwrap();
    assert!(bus.stick(0).unwrap().is_booted());
    let tiny = graph("tiny_cnn.graph");
    device.allocate_graph(&tiny).unwrap();
    let work = cases(&tiny, 100, 1);
    // Keep two in flight, as a throughput-minded host does.
    device.load_tensor(&work[0].0, 0).unwrap();
    device.load_tensor(&work[1].0, 1).unwrap();
    assert!(matches!(device.load_tensor(&work[2].0, 2), Err(DeviceError::Busy)));
    for i in 0..100 {
        let (output, user) = device.get_result().unwrap();
        assert_eq!(user, i as u64, "results come back in FIFO order");
        assert_eq!(output, work[i].1, "inference {i} differs from the CPU reference");
        if i + 2 < 100 {
            device.load_tensor(&work[i + 2].0, (i + 2) as u64).unwrap();
        }
    }
    assert!(matches!(device.get_result(), Err(DeviceError::NoData)));
    let t = device.telemetry();
    assert_eq!(t.stage_ms.len(), 6);
    assert!(t.stage_ms.iter().all(|&ms| ms >= 0.0) && t.stage_ms.iter().sum::<f32>() > 0.0);
    assert_eq!(t.thermal.len(), 25);
    assert!(t.thermal.iter().all(|&c| (20.0..100.0).contains(&c)));
    device.close().unwrap();
    assert!(!bus.stick(0).unwrap().is_booted(), "close resets the stick to its ROM");
}

#[test]
fn one_graph_per_stick_and_input_sizes_are_enforced() {
    let bus = SoftBus::new(1);
    let name = bus.stick(0).unwrap().name();
    let mut device = Device::open(&bus, &name, &firmware(), &OpenOptions::default()).unwrap();
    assert!(matches!(device.load_tensor(&[f16::ZERO; 4], 0), Err(DeviceError::Usage(_))));
    device.allocate_graph(&graph("tiny_cnn.graph")).unwrap();
    let err = device.allocate_graph(&graph("op_zoo.graph")).unwrap_err();
    assert!(err.to_string().contains("already allocated"), "{err}");
    let err = device.load_tensor(&[f16::ZERO; 5], 0).unwrap_err();
    assert!(err.to_string().contains("takes 768"), "{err}");
    device.set_graph_options(GraphOptions { dont_block: true, ..GraphOptions::default() }).unwrap();
    assert!(matches!(device.get_result(), Err(DeviceError::NoData)));
    // A malformed graph never reaches a stick: allocation takes a parsed graph.
    let mut not_a_graph = graph("tiny_cnn.graph").to_bytes();
    not_a_graph.truncate(400);
    let err = GraphFile::parse(not_a_graph).unwrap_err();
    assert_eq!(err.kind, BlobErrorKind::Truncated, "{err}");
}

#[test]
fn a_stick_left_booted_by_a_crashed_process_is_recovered() {
    let bus = SoftBus::new(1);
    let name = bus.stick(0).unwrap().name();
    let device = Device::open(&bus, &name, &firmware(), &OpenOptions::default()).unwrap();
    std::mem::forget(device); // the "crash": no close, the stick stays booted
    assert!(bus.stick(0).unwrap().is_booted());
    let mut device = Device::open(&bus, &name, &firmware(), &OpenOptions::default()).unwrap();
    let block = graph("inception_block.graph");
    device.allocate_graph(&block).unwrap();
    let work = cases(&block, 1, 2);
    device.load_tensor(&work[0].0, 7).unwrap();
    assert_eq!(device.get_result().unwrap(), (work[0].1.clone(), 7));
}

#[test]
fn eight_sticks_from_eight_threads_never_mix_results() {
    let bus = SoftBus::new(8);
    let block = graph("inception_block.graph");
    let per_thread = 1000;
    std::thread::scope(|scope| {
        for (index, stick) in bus.sticks_mut().iter().enumerate() {
            let (bus, block) = (&bus, &block);
            scope.spawn(move || {
                let work = cases(block, 16, 100 + index as u64);
                let mut device = Device::open(bus, &stick.name(), &firmware(), &OpenOptions::default()).unwrap();
                device.allocate_graph(block).unwrap();
                let tag = |i: usize| ((index as u64) << 32) | i as u64;
                device.load_tensor(&work[0].0, tag(0)).unwrap();
                for i in 0..per_thread {
                    if i + 1 < per_thread {
                        device.load_tensor(&work[(i + 1) % work.len()].0, tag(i + 1)).unwrap();
                    }
                    let (out, user) = device.get_result().unwrap();
                    assert_eq!(user, tag(i), "stick {index}: user parameter out of order");
                    assert_eq!(out, work[i % work.len()].1, "stick {index}: result {i} mixed up");
                }
                device.close().unwrap();
            });
        }
    });
}

#[test]
fn the_blob_sent_is_the_blob_run() {
    // A sanity check on the wire: the stick executes exactly the bytes we allocate.
    let blob: Blob = Blob::read(&common::shared_graphs().join("hsinm_mnist.graph")).unwrap();
    let bus = SoftBus::new(1);
    let mut device = Device::open(&bus, &bus.stick(0).unwrap().name(), &firmware(), &OpenOptions::default()).unwrap();
    device.allocate_graph(&GraphFile::from_blob(blob).unwrap()).unwrap();
    let digit =
        ncs::npy::read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits/w2.6_s0.00_3.npy"))
            .unwrap();
    let input = fp16::halves_from_f32(&digit.values);
    device.load_tensor(&input, 3).unwrap();
    let (out, _) = device.get_result().unwrap();
    let best = (0..10).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
    assert_eq!(best, 3);
}
