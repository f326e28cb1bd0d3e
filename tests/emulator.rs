//! The native driver against software sticks: full flow, pipelining, user parameters,
//! recovery, and many sticks from many threads.

mod common;

use std::time::Duration;

use half::f16;
use ncs::blob::{Blob, BlobErrorKind, GraphFile};
use ncs::device::emulator::{Profile, SoftBus, SOFT_FIRMWARE};
use ncs::device::{Device, DeviceError, Firmware, GraphOptions, OpenOptions};
use ncs::fp16;
use ncs::graph::samples::Weights;
use ncs::reference::{Executor, Precision};

fn firmware() -> Firmware {
    Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software firmware").unwrap()
}

/// The forgiving stick and both strict ones (re-enumeration delays shortened to 60 ms, from
/// 1 s and 500 ms, closing settling 100 ms; results still wait for their modelled time).
fn profiles() -> [Profile; 3] {
    let quick = |base: Profile| Profile {
        boot_absence: Duration::from_millis(60),
        reset_linger: Duration::from_millis(60),
        ..base
    };
    [Profile::ideal(), quick(Profile::usb2()), quick(Profile::usb3())]
}

fn options() -> OpenOptions {
    OpenOptions { close_settle: Duration::from_millis(100), ..OpenOptions::default() }
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
    for profile in profiles() {
        pipeline_100(&SoftBus::with_profile(1, profile));
    }
}

fn pipeline_100(bus: &SoftBus) {
    let name = bus.stick(0).unwrap().name();
    let mut device = Device::open(bus, &name, &firmware(), &options()).unwrap();
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
fn one_graph_per_stick_and_inputs_of_any_length_are_sent() {
    let bus = SoftBus::new(1);
    let name = bus.stick(0).unwrap().name();
    let mut device = Device::open(&bus, &name, &firmware(), &OpenOptions::default()).unwrap();
    assert!(matches!(device.load_tensor(&[f16::ZERO; 4], 0), Err(DeviceError::Usage(_))));
    device.allocate_graph(&graph("tiny_cnn.graph")).unwrap();
    let err = device.allocate_graph(&graph("op_zoo.graph")).unwrap_err();
    assert!(err.to_string().contains("already allocated"), "{err}");
    // Any length of 2 bytes or more is sent as given, as NCSDK does; the stick computes on its
    // input buffer with the bytes sent in front and what the buffer held (zeros) behind.
    let short: Vec<f16> = (1..=5).map(|i| f16::from_f32(i as f32 / 5.0)).collect();
    device.load_tensor(&short, 0).unwrap();
    let mut padded = short.clone();
    padded.resize(768, f16::ZERO);
    let mut exec = Executor::new(graph("tiny_cnn.graph").blob(), Precision::Fp16).unwrap();
    let expected = fp16::halves_from_f32(&exec.run(&fp16::halves_to_f32(&padded)).unwrap().output);
    assert_eq!(device.get_result().unwrap(), (expected, 0));
    let err = device.load_tensor_bytes(&[0], 0).unwrap_err();
    assert!(matches!(err, DeviceError::Usage(_)) && err.to_string().contains("at least one fp16 value"), "{err}");
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
    for (profile, per_thread) in profiles().into_iter().zip([1000, 100, 100]) {
        eight_threads(&SoftBus::with_profile(8, profile), per_thread);
    }
}

fn eight_threads(bus: &SoftBus, per_thread: usize) {
    let block = graph("inception_block.graph");
    std::thread::scope(|scope| {
        for (index, stick) in bus.sticks_mut().iter().enumerate() {
            let block = &block;
            scope.spawn(move || {
                let work = cases(block, 16, 100 + index as u64);
                let mut device = Device::open(bus, &stick.name(), &firmware(), &options()).unwrap();
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
    let file = GraphFile::from_blob(blob).unwrap();
    for profile in profiles() {
        let bus = SoftBus::with_profile(1, profile);
        let mut device = Device::open(&bus, &bus.stick(0).unwrap().name(), &firmware(), &options()).unwrap();
        device.allocate_graph(&file).unwrap();
        let digit = ncs::npy::read(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits/w2.6_s0.00_3.npy"),
        )
        .unwrap();
        let input = fp16::halves_from_f32(&digit.values);
        device.load_tensor(&input, 3).unwrap();
        let (out, _) = device.get_result().unwrap();
        let best = (0..10).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
        assert_eq!(best, 3, "{}", bus.profile());
    }
}
