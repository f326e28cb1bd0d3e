//! The host side of the v1 link protocol: 64-byte headers, permits, named buffers
//! (`docs/usb_protocol.md` §6), over any [`Transport`].

use std::time::{Duration, Instant};

use super::error::DeviceError;
use super::trace::{log_transfer, Tracer, Transfer};
use super::transport::{Transport, UsbError};
use super::wire::{Buffer, Command, Header, Status, ENDPOINT_IN, ENDPOINT_OUT, HEADER_LEN, MAX_TRANSFER, PERMIT};

/// Timeout of every link transfer, as NCSDK uses (`usb_link_vsc.c` 41).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after each status poll of a waiting loop (`mvnc_api.c` 479).
pub const STATUS_POLL_PAUSE: Duration = Duration::from_millis(10);

/// An open link to a booted stick.
pub struct Link {
    transport: Box<dyn Transport>,
    stick: String,
    timeout: Duration,
    tracer: Option<Tracer>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("stick", &self.stick).field("timeout", &self.timeout).finish()
    }
}

impl Link {
    /// Wraps an opened transport.
    pub fn new(transport: Box<dyn Transport>, stick: &str, timeout: Duration, tracer: Option<Tracer>) -> Self {
        Link { transport, stick: stick.to_owned(), timeout, tracer }
    }

    /// The stick's name.
    pub fn stick(&self) -> &str {
        &self.stick
    }

    /// The per-transfer timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Asks for the firmware status.
    pub fn status(&mut self) -> Result<Status, DeviceError> {
        self.send_header(&Header::bare(Command::Status), "status header")?;
        let mut word = [0u8; 4];
        self.read_exact(&mut word, "status", "status reply", false)?;
        Ok(Status::from_u32(u32::from_le_bytes(word)))
    }

    /// Asks for the status, then pauses 10 ms, as Intel's waiting loops do after every poll,
    /// the first included (`mvnc_api.c` 474–480, 745–750): the firmware is never sent a command
    /// straight on the heels of a status reply.
    pub fn poll_status(&mut self) -> Result<Status, DeviceError> {
        let status = self.status();
        std::thread::sleep(STATUS_POLL_PAUSE);
        status
    }

    /// Asks the firmware to reboot into the ROM (no reply).
    pub fn reset(&mut self) -> Result<(), DeviceError> {
        self.send_header(&Header::bare(Command::Reset), "reset header")
    }

    /// Resets the USB port, for a stick that no longer follows the protocol.
    pub fn reset_port(&mut self) -> Result<(), DeviceError> {
        let result = self.transport.reset_port();
        if let Some(t) = &self.tracer {
            t.event(
                &self.stick,
                "port_reset",
                serde_json::json!({ "result": result.as_ref().map_or_else(|e| e.to_string(), |()| "ok".into()) }),
            );
        }
        result.map_err(|e| DeviceError::usb(&self.stick, "USB port reset", e))
    }

    /// Sends a named buffer.
    pub fn set(&mut self, buffer: Buffer, hostready: bool, data: &[u8]) -> Result<(), DeviceError> {
        let what = format!("SET {}", buffer.name());
        self.send_header(&Header::data(Command::SetData, buffer, hostready, data.len()), &format!("{what} header"))?;
        self.permit(&what)?;
        self.write_all(data, "payload", &format!("{what} payload"))
    }

    /// Reads a named buffer of exactly `out.len()` bytes.
    pub fn get(&mut self, buffer: Buffer, hostready: bool, out: &mut [u8]) -> Result<(), DeviceError> {
        let what = format!("GET {}", buffer.name());
        self.send_header(&Header::data(Command::GetData, buffer, hostready, out.len()), &format!("{what} header"))?;
        self.permit(&what)?;
        self.read_exact(out, "payload", &format!("{what} payload"), true)
    }

    fn permit(&mut self, what: &str) -> Result<(), DeviceError> {
        let mut word = [0u8; 4];
        self.read_exact(&mut word, "permit", &format!("{what} permit"), false)?;
        let got = u32::from_le_bytes(word);
        if got != PERMIT {
            return Err(DeviceError::Permit { stick: self.stick.clone(), step: format!("{what} permit"), got });
        }
        Ok(())
    }

    fn send_header(&mut self, header: &Header, step: &str) -> Result<(), DeviceError> {
        let bytes = header.encode();
        let started = Instant::now();
        let result = self.transport.write(&bytes, self.timeout);
        let actual = *result.as_ref().unwrap_or(&0);
        let moved = Moved { requested: HEADER_LEN, actual, error: result.as_ref().err(), took: started.elapsed() };
        self.trace("write", ENDPOINT_OUT, "header", &moved, Some(header), None);
        match result {
            Ok(HEADER_LEN) => Ok(()),
            Ok(n) => Err(self.short(step, HEADER_LEN, n)),
            Err(e) => Err(DeviceError::usb(&self.stick, step, e)),
        }
    }

    /// Writes everything, in transfers of at most 10 MiB, continuing after partial progress.
    fn write_all(&mut self, data: &[u8], kind: &'static str, step: &str) -> Result<(), DeviceError> {
        let mut done = 0;
        while done < data.len() {
            let chunk = &data[done..(done + MAX_TRANSFER).min(data.len())];
            let started = Instant::now();
            let result = self.transport.write(chunk, self.timeout);
            let actual = *result.as_ref().unwrap_or(&0);
            let moved = Moved { requested: chunk.len(), actual, error: result.as_ref().err(), took: started.elapsed() };
            self.trace("write", ENDPOINT_OUT, kind, &moved, None, Some(&chunk[..actual]));
            match result {
                Ok(0) if !chunk.is_empty() => return Err(self.short(step, data.len(), done)),
                Ok(n) => done += n,
                Err(e) => return Err(self.partial(step, e, done, data.len())),
            }
        }
        Ok(())
    }

    /// Reads exactly `buf.len()` bytes, continuing after partial progress and after
    /// zero-length packets: a device ends a reply whose length is a multiple of the packet size
    /// with one, and it arrives as the next read's 0 bytes (Intel's loop carries on the same way,
    /// `usb_link_vsc.c` 62–73). A device sending nothing but those for the whole transfer
    /// timeout is a timeout.
    fn read_exact(&mut self, buf: &mut [u8], kind: &'static str, step: &str, hash: bool) -> Result<(), DeviceError> {
        let mut done = 0;
        let mut empty_since: Option<Instant> = None;
        while done < buf.len() {
            let end = (done + MAX_TRANSFER).min(buf.len());
            let started = Instant::now();
            let result = self.transport.read(&mut buf[done..end], self.timeout);
            let actual = *result.as_ref().unwrap_or(&0);
            let payload = hash.then_some(&buf[done..done + actual]);
            let moved = Moved { requested: end - done, actual, error: result.as_ref().err(), took: started.elapsed() };
            self.trace("read", ENDPOINT_IN, kind, &moved, None, payload);
            match result {
                Ok(0) => {
                    let since = *empty_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.timeout {
                        return Err(self.partial(step, UsbError::Timeout, done, buf.len()));
                    }
                }
                Ok(n) => {
                    done += n;
                    empty_since = None;
                }
                Err(e) => return Err(self.partial(step, e, done, buf.len())),
            }
        }
        Ok(())
    }

    fn short(&self, step: &str, expected: usize, actual: usize) -> DeviceError {
        DeviceError::usb(&self.stick, step, UsbError::Other(format!("short transfer: {actual} of {expected} bytes")))
    }

    fn partial(&self, step: &str, e: UsbError, done: usize, total: usize) -> DeviceError {
        let step = if done > 0 { format!("{step} (after {done} of {total} bytes)") } else { step.to_owned() };
        DeviceError::usb(&self.stick, step, e)
    }

    /// Records a transfer in the USB trace, if any, and in the log when it failed or was slow.
    fn trace(
        &self,
        op: &'static str,
        endpoint: u8,
        kind: &'static str,
        moved: &Moved<'_>,
        header: Option<&Header>,
        payload: Option<&[u8]>,
    ) {
        let transfer = Transfer {
            stick: &self.stick,
            op,
            endpoint,
            kind,
            requested: moved.requested,
            actual: moved.actual,
            timeout: self.timeout,
            result: moved.error.map_or(Ok(()), Err),
            header,
            payload,
        };
        log_transfer(&transfer, moved.took);
        if let Some(t) = &self.tracer {
            t.transfer(&transfer);
        }
    }
}

/// What one bulk transfer moved, and how long it took.
struct Moved<'a> {
    requested: usize,
    actual: usize,
    error: Option<&'a UsbError>,
    took: Duration,
}
