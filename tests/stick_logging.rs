//! What the driver logs for someone debugging a stick (issue 13, "Also"): the boot (firmware and
//! size), where the booted stick re-enumerated, one line per burst of result retries, the
//! recovery of a stick left booted, and failed or slow transfers with endpoint, length and error.
//! A logger of our own captures the records; everything runs in one test so no other test's
//! sticks write into the capture.

mod common;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ncs::blob::GraphFile;
use ncs::device::emulator::{Fault, FaultKind, Profile, SoftBus, Step, SOFT_FIRMWARE};
use ncs::device::trace::{log_transfer, Transfer};
use ncs::device::wire::Buffer;
use ncs::device::{Device, Firmware, OpenOptions, UsbError};

/// Every record at debug level and above, as `LEVEL message`.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(format!("{} {}", record.level(), record.args()));
        }
    }

    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(capture).expect("the only logger of this test binary");
        log::set_max_level(log::LevelFilter::Debug);
        capture
    })
}

/// The records logged since the last call.
fn taken() -> Vec<String> {
    std::mem::take(&mut *capture().0.lock().unwrap())
}

fn has(lines: &[String], level: &str, parts: &[&str]) -> bool {
    lines.iter().any(|l| l.starts_with(level) && parts.iter().all(|p| l.contains(p)))
}

#[test]
fn the_driver_logs_what_a_stick_debugger_needs() {
    capture();
    let firmware = Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "test firmware").unwrap();
    let options = OpenOptions {
        link_timeout: Duration::from_millis(300),
        boot_wait: Duration::from_secs(3),
        close_settle: Duration::from_millis(100),
        ..OpenOptions::default()
    };
    // A USB 3 stick: it comes back on another bus. Results take 1 s, so the first GET output
    // is refused and retried even if this thread is descheduled between input and GET on a
    // loaded machine (at 40 ms it could miss the refusal).
    let profile = Profile {
        boot_absence: Duration::from_millis(60),
        reset_linger: Duration::from_millis(60),
        latency: Some(Duration::from_secs(1)),
        ..Profile::usb3()
    };
    let bus = SoftBus::with_profile(1, profile);
    let graph = GraphFile::read(&common::own_graphs().join("tiny_cnn.graph")).unwrap();
    let input = vec![half::f16::ZERO; graph.blob().input_shape().iter().product::<u32>() as usize];

    let mut device = Device::open(&bus, "1-1", &firmware, &options).unwrap();
    let booted = device.booted_name();
    assert_ne!(booted, "1-1", "a usb3 stick re-enumerates elsewhere");
    let lines = taken();
    let size = format!("({} bytes", SOFT_FIRMWARE.len());
    assert!(has(&lines, "INFO", &["1-1: booting with test firmware", &size]), "{lines:#?}");
    assert!(has(&lines, "INFO", &["1-1: booted firmware re-enumerated at", &booted, "bus 2"]), "{lines:#?}");

    device.allocate_graph(&graph).unwrap();
    device.load_tensor(&input, 1).unwrap();
    device.get_result().unwrap();
    let lines = taken();
    let bursts: Vec<&String> = lines.iter().filter(|l| l.contains("output read after")).collect();
    assert_eq!(bursts.len(), 1, "one line for the whole burst: {lines:#?}");
    assert!(bursts[0].starts_with("DEBUG 1-1: output read after"), "{}", bursts[0]);
    let refusals: u32 = bursts[0].split("after ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(refusals >= 1, "{}", bursts[0]);

    // A process that dies leaves its stick booted (the kernel closes its handles); the next
    // open says so and recovers it.
    std::mem::forget(device);
    bus.stick(0).unwrap().close_handles();
    let mut device = Device::open(&bus, "1-1", &firmware, &options).unwrap();
    let lines = taken();
    assert!(has(&lines, "INFO", &["1-1: not in its ROM", &booted]), "{lines:#?}");
    assert!(has(&lines, "INFO", &["1-1: recovered: back in its ROM at 1-1 after"]), "{lines:#?}");

    // A transfer the stick never answers: logged with its endpoint, length and error.
    device.allocate_graph(&graph).unwrap();
    bus.stick(0).unwrap().inject(Fault { step: Step::Set(Buffer::Input1), kind: FaultKind::Timeout });
    assert!(device.load_tensor(&input, 2).is_err());
    let lines = taken();
    assert!(has(&lines, "INFO", &["USB transfer failed: 1-1:", "bytes in", "timed out"]), "{lines:#?}");
    let failed = lines.iter().find(|l| l.contains("USB transfer failed")).unwrap();
    assert!(failed.contains(" 0x01 ") || failed.contains(" 0x81 "), "the endpoint: {failed}");
    drop(device);

    // Slow transfers are named as such; quick successful ones stay below debug level.
    let transfer = |requested| Transfer {
        stick: "9-9",
        op: "read",
        endpoint: 0x81,
        kind: "payload",
        requested,
        actual: requested,
        timeout: Duration::from_secs(10),
        result: Ok(()),
        header: None,
        payload: None,
    };
    taken();
    log_transfer(&transfer(4096), Duration::from_millis(1500));
    log_transfer(&transfer(64), Duration::from_millis(2));
    let lines = taken();
    assert_eq!(lines, ["INFO slow USB transfer: 9-9: read 0x81 (payload), 4096 of 4096 bytes in 1500 ms"]);
    let error = UsbError::Pipe;
    log_transfer(&Transfer { actual: 0, result: Err(&error), ..transfer(64) }, Duration::from_millis(3));
    assert_eq!(
        taken(),
        ["INFO USB transfer failed: 9-9: read 0x81 (payload), 0 of 64 bytes in 3 ms: endpoint stalled"]
    );
}
