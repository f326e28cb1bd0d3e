//! `--trace-usb FILE`: every transport operation of the driver as one JSON object per line.
//!
//! Fields: `t_ms` (since the trace began), `stick`, `op` (`write`/`read`/`event`), `endpoint`,
//! `kind` (`header`, `payload`, `permit`, `status`, `boot_chunk`, …), `requested`, `actual`,
//! `timeout_ms`, `result` (`ok` or the error), and for headers the decoded `cmd`, `hostready`,
//! `data_length`, `offset`, `name`; for payloads `sha256`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::transport::UsbError;
use super::wire::Header;

/// A shared JSON-lines sink; cloning shares the file.
#[derive(Clone)]
pub struct Tracer {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
    started: Instant,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tracer")
    }
}

/// One transfer to record.
#[derive(Debug)]
pub struct Transfer<'a> {
    /// Stick name.
    pub stick: &'a str,
    /// `write` or `read`.
    pub op: &'static str,
    /// Endpoint address.
    pub endpoint: u8,
    /// What the bytes are.
    pub kind: &'static str,
    /// Bytes asked for.
    pub requested: usize,
    /// Bytes moved.
    pub actual: usize,
    /// Timeout used.
    pub timeout: Duration,
    /// Outcome.
    pub result: Result<(), &'a UsbError>,
    /// Decoded link header, if the bytes are one.
    pub header: Option<&'a Header>,
    /// The payload bytes, hashed.
    pub payload: Option<&'a [u8]>,
}

impl Tracer {
    /// Traces into any writer.
    pub fn new(sink: Box<dyn Write + Send>) -> Self {
        Tracer { sink: Arc::new(Mutex::new(sink)), started: Instant::now() }
    }

    /// Traces into a new file.
    pub fn to_file(path: &std::path::Path) -> std::io::Result<Self> {
        Ok(Tracer::new(Box::new(std::io::BufWriter::new(std::fs::File::create(path)?))))
    }

    /// Records a transfer.
    pub fn transfer(&self, t: &Transfer<'_>) {
        let mut line = Map::new();
        line.insert("stick".into(), json!(t.stick));
        line.insert("op".into(), json!(t.op));
        line.insert("endpoint".into(), json!(format!("0x{:02x}", t.endpoint)));
        line.insert("kind".into(), json!(t.kind));
        line.insert("requested".into(), json!(t.requested));
        line.insert("actual".into(), json!(t.actual));
        line.insert("timeout_ms".into(), json!(t.timeout.as_millis() as u64));
        line.insert("result".into(), json!(t.result.map_or_else(|e| e.to_string(), |()| "ok".into())));
        if let Some(h) = t.header {
            line.insert("cmd".into(), json!(h.cmd));
            line.insert("hostready".into(), json!(h.hostready));
            line.insert("data_length".into(), json!(h.data_length));
            line.insert("offset".into(), json!(h.offset));
            line.insert("name".into(), json!(h.name));
        }
        if let Some(bytes) = t.payload {
            line.insert("sha256".into(), json!(hex(&Sha256::digest(bytes))));
        }
        self.emit(line);
    }

    /// Records an event (boot, re-enumeration, reset) with extra fields.
    pub fn event(&self, stick: &str, kind: &str, fields: Value) {
        let mut line = Map::new();
        line.insert("stick".into(), json!(stick));
        line.insert("op".into(), json!("event"));
        line.insert("kind".into(), json!(kind));
        if let Value::Object(extra) = fields {
            line.extend(extra);
        }
        self.emit(line);
    }

    fn emit(&self, mut line: Map<String, Value>) {
        line.insert("t_ms".into(), json!(self.started.elapsed().as_secs_f64() * 1e3));
        if let Ok(mut sink) = self.sink.lock() {
            // A trace that cannot be written must not stop the driver.
            let _ = writeln!(sink, "{}", Value::Object(line));
            let _ = sink.flush();
        }
    }
}

/// A transfer taking longer than this is logged (at info) as slow: real transfers of the
/// largest buffer (a 10 MiB chunk at USB 2's ≈ 35 MB/s) take ≈ 0.3 s.
pub const SLOW_TRANSFER: Duration = Duration::from_secs(1);

/// Logs a transfer someone debugging a stick needs to see: one that failed (its endpoint,
/// length and the USB error) or that took longer than [`SLOW_TRANSFER`]. Others are logged at
/// trace level only.
pub fn log_transfer(t: &Transfer<'_>, took: Duration) {
    let level = match t.result {
        Err(_) => log::Level::Info,
        Ok(()) if took > SLOW_TRANSFER => log::Level::Info,
        Ok(()) => log::Level::Trace,
    };
    // Formatted only when it will be printed: this runs for every transfer.
    if !log::log_enabled!(level) {
        return;
    }
    let what = format!(
        "{}: {} {:#04x} ({}), {} of {} bytes in {:.0} ms",
        t.stick,
        t.op,
        t.endpoint,
        t.kind,
        t.actual,
        t.requested,
        took.as_secs_f64() * 1e3
    );
    match t.result {
        Err(e) => log::log!(level, "USB transfer failed: {what}: {e}"),
        Ok(()) if level == log::Level::Info => log::log!(level, "slow USB transfer: {what}"),
        Ok(()) => log::log!(level, "USB transfer: {what}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
