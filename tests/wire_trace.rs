//! The driver's wire sequence, read back from its USB trace, follows what Intel's v1.12
//! library sends (docs/usb_protocol.md §4, §8–§10): boot in packet-size chunks, status polls, SET
//! blobFile in one transfer, SET auxBuffer of 224 + 4·stages zeros, config once with NCSDK's
//! defaults, input1/input2 alternating with hostready only when nothing is queued, GET output
//! always with hostready 0, GET auxBuffer with hostready 1 only when two were queued, and a
//! bare reset header on close.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use half::f16;
use ncs::blob::GraphFile;
use ncs::device::emulator::{SoftBus, SOFT_FIRMWARE};
use ncs::device::trace::Tracer;
use ncs::device::{Device, Firmware, OpenOptions};
use serde_json::Value;

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Header writes as (cmd, hostready, name, data_length).
fn headers(lines: &[Value]) -> Vec<(u64, u64, String, u64)> {
    lines
        .iter()
        .filter(|l| l["kind"] == "header")
        .map(|l| {
            (
                l["cmd"].as_u64().unwrap(),
                l["hostready"].as_u64().unwrap(),
                l["name"].as_str().unwrap().to_owned(),
                l["data_length"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_full_session_follows_the_observed_ncsdk_sequence() {
    let sink = Sink::default();
    let tracer = Tracer::new(Box::new(sink.clone()));
    let bus = SoftBus::new(1);
    let firmware = Firmware::from_bytes([SOFT_FIRMWARE, &[0u8; 1200]].concat(), "test firmware").unwrap();
    let options = OpenOptions { tracer: Some(tracer), ..OpenOptions::default() };
    let mut device = Device::open(&bus, "1-1", &firmware, &options).unwrap();
    let graph = GraphFile::read(&common::own_graphs().join("tiny_cnn.graph")).unwrap();
    device.allocate_graph(&graph).unwrap();
    let graph = graph.to_bytes();
    let input = vec![f16::from_f32(0.25); 768];
    device.load_tensor(&input, 1).unwrap();
    device.load_tensor(&input, 2).unwrap();
    device.get_result().unwrap();
    device.get_result().unwrap();
    device.load_tensor(&input, 3).unwrap();
    device.get_result().unwrap();
    device.close().unwrap();

    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Boot: the whole image in 512-byte writes, 2000 ms each.
    let chunks: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "boot_chunk").collect();
    assert_eq!(chunks.iter().map(|c| c["actual"].as_u64().unwrap()).collect::<Vec<_>>(), [512, 512, 241]);
    assert!(chunks.iter().all(|c| c["timeout_ms"] == 2000 && c["endpoint"] == "0x01"));
    assert!(lines.iter().any(|l| l["kind"] == "enumerated" && l["product"] == "f63b"));

    let aux_len = 224 + 4 * 6;
    let want: Vec<(u64, u64, String, u64)> = [
        (0, 0, "", 0),                   // status after re-enumeration (must be WAITING)
        (0, 0, "", 0),                   // allocate: status poll
        (2, 0, "blobFile", graph.len()), // the whole file
        (2, 0, "auxBuffer", aux_len),
        (2, 0, "config", 40),
        (2, 1, "input1", 1536), // nothing queued: start now
        (2, 0, "input2", 1536), // one queued: staged
        (3, 0, "output", 20),
        (3, 1, "auxBuffer", aux_len), // two were queued: release input2
        (3, 0, "output", 20),
        (3, 0, "auxBuffer", aux_len),
        (2, 1, "input1", 1536),
        (3, 0, "output", 20),
        (3, 0, "auxBuffer", aux_len),
        (1, 0, "", 0), // close: reset
    ]
    .into_iter()
    .map(|(c, h, n, l)| (c, h, n.to_owned(), l as u64))
    .collect();
    assert_eq!(headers(&lines), want);

    // blobFile went in one transfer; config carried NCSDK's defaults; all link timeouts 10 s.
    let blob_payload: Vec<&Value> =
        lines.iter().filter(|l| l["kind"] == "payload" && l["requested"] == graph.len() as u64).collect();
    assert_eq!(blob_payload.len(), 1);
    let config_payload = lines.iter().find(|l| l["kind"] == "payload" && l["requested"] == 40).unwrap();
    let defaults: Vec<u8> = [1i32, 0, 1, 95, 85, 0, 100, 10000, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let digest: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&defaults).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(config_payload["sha256"], digest.as_str());
    assert!(lines.iter().filter(|l| l["kind"] == "header").all(|l| l["timeout_ms"] == 10000 && l["offset"] == 0));
}

#[test]
fn changed_options_are_resent_and_the_optimisation_query_is_followed_by_the_real_settings() {
    let sink = Sink::default();
    let bus = SoftBus::new(1);
    let options = OpenOptions { tracer: Some(Tracer::new(Box::new(sink.clone()))), ..OpenOptions::default() };
    let firmware = Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "fw").unwrap();
    let mut device = Device::open(&bus, "1-1", &firmware, &options).unwrap();
    device.allocate_graph(&GraphFile::read(&common::own_graphs().join("tiny_cnn.graph")).unwrap()).unwrap();
    let input = vec![f16::ZERO; 768];
    device.load_tensor(&input, 0).unwrap();
    device.get_result().unwrap();
    let list = device.optimisation_list().unwrap();
    assert!(!list.is_empty());
    let mut thermal = device.thermal_options();
    thermal.backoff_high = 250;
    device.set_thermal_options(thermal);
    device.load_tensor(&input, 1).unwrap();
    device.get_result().unwrap();

    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let configs: Vec<(u64, u64)> =
        headers(&lines).into_iter().filter(|h| h.2 == "config").map(|h| (h.0, h.1)).collect();
    // First input; the query (hostready 1); the real, changed options before input 2 (the
    // restore after the query waits for the next input rather than costing a transfer now).
    assert_eq!(configs, [(2, 0), (2, 1), (2, 0)]);
    let payload_hashes: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "payload" && l["requested"] == 40)
        .map(|l| l["sha256"].as_str().unwrap())
        .collect();
    let zeros_query = {
        use sha2::Digest;
        let bytes = ncs::device::wire::Config::optimisation_query().encode();
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(payload_hashes[1], zeros_query, "the query is sent as Intel sends it: settings zero");
    assert_ne!(payload_hashes[0], payload_hashes[2], "the changed back-off is sent");
}
