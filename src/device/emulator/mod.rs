//! The software stick: NCS1 sticks that exist only in memory, behind the same [`Bus`] and
//! [`Transport`] traits as real ones, so every driver path runs without hardware.
//!
//! A stick starts in its ROM (03e7:2150) and accepts any firmware image beginning with "MA2x";
//! when the host closes the ROM handle it "re-enumerates" as 03e7:f63b at the same port, and
//! then speaks the v1 link protocol ([`firmware`]). A reset request sends it back to the ROM.
//! Faults can be injected at any protocol step ([`Fault`]).

mod firmware;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::transport::{Bus, Transport, UsbError, UsbId};
use super::wire::{Buffer, Header, BOOTED_PRODUCT_ID, FIRMWARE_MAGIC, HEADER_LEN, ROM_PRODUCT_ID, VENDOR_ID};
use firmware::{Effect, Firmware};

/// A firmware image the software stick accepts (real sticks need Intel's).
pub const SOFT_FIRMWARE: &[u8] = b"MA2x ncs software stick: any image that starts with MA2x boots it";

/// Bulk packet size the software stick reports (USB 2.0 high speed).
const PACKET: usize = 512;
/// Largest firmware image the ROM accepts.
const MAX_FIRMWARE: usize = 16 << 20;

/// A protocol step at which a fault can fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The firmware transfer to the ROM.
    Boot,
    /// A status query.
    Status,
    /// A SET of a buffer.
    Set(Buffer),
    /// A GET of a buffer.
    Get(Buffer),
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The stick stops answering: the transfer times out.
    Timeout,
    /// Only half the bytes move, then nothing.
    ShortTransfer,
    /// The stick answers a SET/GET with a word other than the permit.
    BadPermit,
    /// The stick drops off the bus (until [`SoftStick::replug`]).
    Disconnect,
    /// The firmware reports this error string in auxBuffer.
    FirmwareError(String),
}

/// A fault that fires once, at the next occurrence of its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Where.
    pub step: Step,
    /// What.
    pub kind: FaultKind,
}

#[derive(Debug)]
enum Mode {
    Rom { received: Vec<u8> },
    Booted(Box<Firmware>),
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    /// Bumped on every re-enumeration; handles from older generations are dead.
    generation: u64,
    plugged: bool,
    faults: Vec<Fault>,
    latency: Duration,
    miscompute: Option<usize>,
}

impl Inner {
    fn take_fault(&mut self, step: Step) -> Option<FaultKind> {
        let at = self.faults.iter().position(|f| f.step == step)?;
        Some(self.faults.remove(at).kind)
    }

    fn reenumerate(&mut self, mode: Mode) {
        self.mode = mode;
        self.generation += 1;
    }
}

/// One software stick; clones share the same stick.
#[derive(Debug, Clone)]
pub struct SoftStick {
    id: UsbId,
    inner: Arc<Mutex<Inner>>,
}

impl SoftStick {
    fn new(bus: u8, port: u8) -> Self {
        let inner = Inner {
            mode: Mode::Rom { received: Vec::new() },
            generation: 0,
            plugged: true,
            faults: Vec::new(),
            latency: Duration::ZERO,
            miscompute: None,
        };
        SoftStick {
            id: UsbId { bus, ports: vec![port], vendor: VENDOR_ID, product: ROM_PRODUCT_ID },
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not make the stick unusable: take the state as it is.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stick's name (bus-ports).
    pub fn name(&self) -> String {
        self.id.name()
    }

    /// Arms a one-shot fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Removes armed faults that have not fired.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Adds a fixed compute latency to every inference (a crude model of the real stick).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Makes the firmware miscompute one stage from the next boot on (its weights are scaled
    /// by 1.5 when a graph is loaded), like a firmware bug in that layer — for testing
    /// `verify --bisect`. The stage must have weights in the blob.
    pub fn set_miscompute(&self, stage: Option<usize>) {
        self.lock().miscompute = stage;
    }

    /// Pulls the stick out: every handle fails with "device disconnected".
    pub fn unplug(&self) {
        self.lock().plugged = false;
    }

    /// Plugs it back in: it comes back in its ROM.
    pub fn replug(&self) {
        let mut inner = self.lock();
        inner.plugged = true;
        inner.reenumerate(Mode::Rom { received: Vec::new() });
    }

    /// True when the stick runs firmware (left booted, as after a crashed host process).
    pub fn is_booted(&self) -> bool {
        matches!(self.lock().mode, Mode::Booted(_))
    }

    fn current_id(&self) -> Option<UsbId> {
        let inner = self.lock();
        inner.plugged.then(|| {
            let product = match inner.mode {
                Mode::Rom { .. } => ROM_PRODUCT_ID,
                Mode::Booted(_) => BOOTED_PRODUCT_ID,
            };
            UsbId { product, ..self.id.clone() }
        })
    }
}

/// A bus of software sticks, on bus 1 at ports 1, 2, … .
#[derive(Debug, Clone)]
pub struct SoftBus {
    sticks: Vec<SoftStick>,
}

impl SoftBus {
    /// `count` sticks in their ROM.
    pub fn new(count: usize) -> Self {
        SoftBus { sticks: (0..count).map(|i| SoftStick::new(1, (i + 1).min(255) as u8)).collect() }
    }

    /// The sticks, in port order.
    pub fn sticks_mut(&self) -> &[SoftStick] {
        &self.sticks
    }

    /// One stick by index.
    pub fn stick(&self, index: usize) -> Option<&SoftStick> {
        self.sticks.get(index)
    }
}

impl Bus for SoftBus {
    fn sticks(&self) -> Result<Vec<UsbId>, UsbError> {
        Ok(self.sticks.iter().filter_map(SoftStick::current_id).collect())
    }

    fn open(&self, id: &UsbId) -> Result<Box<dyn Transport>, UsbError> {
        let stick =
            self.sticks.iter().find(|s| s.id.bus == id.bus && s.id.ports == id.ports).ok_or(UsbError::NotFound)?;
        let inner = stick.lock();
        if !inner.plugged {
            return Err(UsbError::NoDevice);
        }
        let generation = inner.generation;
        drop(inner);
        Ok(Box::new(SoftTransport { stick: stick.clone(), generation }))
    }

    fn describe(&self) -> String {
        format!("{} software stick(s)", self.sticks.len())
    }
}

/// An open handle on a software stick.
#[derive(Debug)]
struct SoftTransport {
    stick: SoftStick,
    generation: u64,
}

impl SoftTransport {
    fn live(&self) -> Result<MutexGuard<'_, Inner>, UsbError> {
        let inner = self.stick.lock();
        if !inner.plugged || inner.generation != self.generation {
            return Err(UsbError::NoDevice);
        }
        Ok(inner)
    }
}

impl Transport for SoftTransport {
    fn write(&mut self, data: &[u8], _timeout: Duration) -> Result<usize, UsbError> {
        let mut guard = self.live()?;
        let inner = &mut *guard;
        let step = match &inner.mode {
            Mode::Rom { received } => received.is_empty().then_some(Step::Boot),
            Mode::Booted(fw) => <&[u8; HEADER_LEN]>::try_from(data)
                .ok()
                .filter(|_| fw.expects_header())
                .and_then(|bytes| Firmware::step_of(&Header::decode(bytes))),
        };
        let fault = step.and_then(|step| inner.take_fault(step));
        match &mut inner.mode {
            Mode::Rom { received } => {
                match fault {
                    Some(FaultKind::Timeout) => return Err(UsbError::Timeout),
                    Some(FaultKind::ShortTransfer) => {
                        received.extend_from_slice(&data[..data.len() / 2]);
                        return Ok(data.len() / 2);
                    }
                    Some(FaultKind::Disconnect) => {
                        inner.plugged = false;
                        return Err(UsbError::NoDevice);
                    }
                    _ => {}
                }
                if received.len() + data.len() > MAX_FIRMWARE {
                    return Err(UsbError::Pipe);
                }
                received.extend_from_slice(data);
                Ok(data.len())
            }
            Mode::Booted(fw) => {
                let (result, effect) = fw.write(data, fault);
                match effect {
                    Effect::None => {}
                    Effect::Reset => inner.reenumerate(Mode::Rom { received: Vec::new() }),
                    Effect::Disconnect => inner.plugged = false,
                }
                result
            }
        }
    }

    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, UsbError> {
        let mut inner = self.live()?;
        match &mut inner.mode {
            Mode::Booted(fw) => fw.read(buf),
            Mode::Rom { .. } => Err(UsbError::Timeout),
        }
    }

    fn max_packet_size(&self) -> usize {
        PACKET
    }

    /// Modelled as a power cycle: the stick comes back in its ROM. (Whether a port reset
    /// reboots a real NCS1 is for the hardware-in-the-loop tests to confirm.)
    fn reset_port(&mut self) -> Result<(), UsbError> {
        let mut inner = self.live()?;
        inner.reenumerate(Mode::Rom { received: Vec::new() });
        Ok(())
    }
}

impl Drop for SoftTransport {
    /// Closing the ROM handle after a complete image boots the stick, which re-enumerates.
    fn drop(&mut self) {
        let Ok(mut inner) = self.live() else { return };
        if let Mode::Rom { received } = &inner.mode {
            if received.starts_with(FIRMWARE_MAGIC) {
                let (latency, miscompute) = (inner.latency, inner.miscompute);
                inner.reenumerate(Mode::Booted(Box::new(Firmware::new(latency, miscompute))));
            } else if !received.is_empty() {
                // Not firmware: the ROM discards it and keeps waiting.
                inner.mode = Mode::Rom { received: Vec::new() };
            }
        }
    }
}
