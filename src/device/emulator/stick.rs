//! One software stick: where it is on the bus and what it enumerates as, over time.
//!
//! ```text
//!  ROM 2150 ──image, handle closed──▶ (off the bus: boot_absence) ──▶ booted f63b
//!     ▲                                                                  │ reset request
//!     └──────────── (still f63b, firmware gone: reset_linger) ◀──────────┘
//! ```
//!
//! Time only moves when someone looks ([`Inner::settle`]): there are no background threads.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::firmware::Firmware;
use super::handle::SoftTransport;
use super::profile::Profile;
use super::{Fault, FaultKind, Step};
use crate::device::transport::{StickState, UsbError, UsbId};
use crate::device::wire::{BOOTED_PRODUCT_ID, ROM_PRODUCT_ID, VENDOR_ID};
use crate::reference::Limits;

/// wMaxPacketSize of the boot ROM's bulk endpoints: it is always a USB 2.0 high-speed device
/// ("boots from the internal ROM and connects to the host machine as a USB 2.0 device",
/// NCSDK `docs/ncs.html`).
pub const ROM_PACKET: usize = 512;

/// What the stick is running.
#[derive(Debug)]
pub(super) enum Mode {
    /// The boot ROM, collecting an image.
    Rom { received: Vec<u8> },
    /// The v1 firmware.
    Booted(Box<Firmware>),
    /// A reset was requested: still enumerated as f63b, the firmware no longer answers.
    Rebooting { until: Instant },
}

/// The shared state of one stick.
#[derive(Debug)]
pub(super) struct Inner {
    pub mode: Mode,
    /// Bumped whenever the stick leaves the bus; handles of older generations are dead.
    pub generation: u64,
    pub plugged: bool,
    /// Off the bus (re-enumerating) until then.
    pub hidden_until: Option<Instant>,
    /// The handle that has the interface claimed (exclusive profiles).
    pub claim: Option<u64>,
    pub next_serial: u64,
    pub faults: Vec<Fault>,
    pub miscompute: Option<usize>,
    /// What the firmware's executor may take on for one graph (the CPU reference's limits).
    pub limits: Limits,
    pub profile: Profile,
}

impl Inner {
    /// Applies the transitions whose time has come.
    pub fn settle(&mut self) {
        let now = Instant::now();
        if let Mode::Rebooting { until } = self.mode {
            if now >= until {
                self.reenumerate(Mode::Rom { received: Vec::new() }, Duration::ZERO);
            }
        }
        if self.hidden_until.is_some_and(|t| now >= t) {
            self.hidden_until = None;
        }
    }

    /// Leaves the bus and comes back as `mode` after `absent`: every open handle dies.
    pub fn reenumerate(&mut self, mode: Mode, absent: Duration) {
        self.mode = mode;
        self.generation += 1;
        self.claim = None;
        self.hidden_until = (!absent.is_zero()).then(|| Instant::now() + absent);
    }

    /// The firmware asked to reboot: linger as f63b, then the ROM.
    pub fn reboot(&mut self) {
        let linger = self.profile.reset_linger;
        if linger.is_zero() {
            self.reenumerate(Mode::Rom { received: Vec::new() }, Duration::ZERO);
        } else {
            self.mode = Mode::Rebooting { until: Instant::now() + linger };
        }
    }

    /// The ROM handle closed with a complete image: off the bus, then booted.
    pub fn boot(&mut self) {
        let firmware = Firmware::new(&self.profile, self.miscompute, self.limits);
        let absent = self.profile.boot_absence;
        self.reenumerate(Mode::Booted(Box::new(firmware)), absent);
    }

    pub fn take_fault(&mut self, step: Step) -> Option<FaultKind> {
        let at = self.faults.iter().position(|f| f.step == step)?;
        Some(self.faults.remove(at).kind)
    }

    fn visible(&self) -> bool {
        self.plugged && self.hidden_until.is_none()
    }

    fn runs_firmware(&self) -> bool {
        !matches!(self.mode, Mode::Rom { .. })
    }

    /// wMaxPacketSize of the current enumeration.
    pub fn packet(&self) -> usize {
        if self.runs_firmware() {
            self.profile.booted_packet
        } else {
            ROM_PACKET
        }
    }
}

/// A stick as it is enumerated right now: a `libusb_device` in a device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumeration {
    /// Which stick of its bus.
    pub index: usize,
    /// Bus, ports and the identity it reports now.
    pub id: UsbId,
    /// Changes every time the stick leaves the bus; an enumeration of an older generation
    /// can no longer be opened.
    pub generation: u64,
    /// wMaxPacketSize of its bulk endpoints.
    pub packet: usize,
    /// USB device address (new on every enumeration, as a hub assigns them).
    pub address: u8,
}

/// One software stick; clones share the same stick.
#[derive(Debug, Clone)]
pub struct SoftStick {
    index: usize,
    rom_bus: u8,
    rom_ports: Vec<u8>,
    inner: Arc<Mutex<Inner>>,
}

impl SoftStick {
    pub(super) fn new(index: usize, bus: u8, port: u8, profile: Profile) -> Self {
        let inner = Inner {
            mode: Mode::Rom { received: Vec::new() },
            generation: 0,
            plugged: true,
            hidden_until: None,
            claim: None,
            next_serial: 0,
            faults: Vec::new(),
            miscompute: None,
            limits: Limits::default(),
            profile,
        };
        SoftStick { index, rom_bus: bus, rom_ports: vec![port], inner: Arc::new(Mutex::new(inner)) }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not make the stick unusable: take the state as it is.
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.settle();
        inner
    }

    /// The name of its ROM enumeration (bus-ports), as `ncs devices` lists it before boot.
    pub fn name(&self) -> String {
        UsbId { bus: self.rom_bus, ports: self.rom_ports.clone(), vendor: VENDOR_ID, product: ROM_PRODUCT_ID }.name()
    }

    /// Its knobs.
    pub fn profile(&self) -> Profile {
        self.lock().profile.clone()
    }

    /// Changes its knobs; the firmware takes them at its next boot.
    pub fn set_profile(&self, profile: Profile) {
        self.lock().profile = profile;
    }

    /// Arms a one-shot fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Removes armed faults that have not fired.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Makes the firmware refuse, from the next boot on, a graph past `limits` as the CPU
    /// reference would (`--max-macs` on `--backend emulator`), with a `MYRIAD_ERROR`.
    pub fn set_limits(&self, limits: Limits) {
        self.lock().limits = limits;
    }

    /// Makes the firmware miscompute one stage from the next boot on (its weights are scaled
    /// by 1.5 when a graph is loaded), like a firmware bug in that layer — for testing
    /// `verify --bisect`. The stage must have weights in the blob.
    pub fn set_miscompute(&self, stage: Option<usize>) {
        self.lock().miscompute = stage;
    }

    /// Pulls the stick out: every handle fails with "device disconnected".
    pub fn unplug(&self) {
        let mut inner = self.lock();
        inner.plugged = false;
        inner.claim = None;
    }

    /// Plugs it back in: it comes back in its ROM.
    pub fn replug(&self) {
        let mut inner = self.lock();
        inner.plugged = true;
        inner.reenumerate(Mode::Rom { received: Vec::new() }, Duration::ZERO);
    }

    /// What the kernel does when the process holding the stick dies: its handles are closed
    /// (later use of them fails as disconnected) and the interface is free again. The stick
    /// itself keeps running whatever it ran — typically firmware, mid-inference.
    pub fn close_handles(&self) {
        let mut inner = self.lock();
        inner.claim = None;
    }

    /// True when the firmware runs and answers (left booted, as after a crashed host process).
    pub fn is_booted(&self) -> bool {
        matches!(self.lock().mode, Mode::Booted(_))
    }

    /// What it enumerates as now, `None` while it is off the bus.
    pub fn state(&self) -> Option<StickState> {
        self.enumeration().and_then(|e| e.id.state())
    }

    /// Its current enumeration, `None` while it is off the bus.
    pub fn enumeration(&self) -> Option<Enumeration> {
        let inner = self.lock();
        if !inner.visible() {
            return None;
        }
        let booted = inner.runs_firmware();
        let (bus, ports) = self.location(&inner.profile, booted);
        let product = if booted { BOOTED_PRODUCT_ID } else { ROM_PRODUCT_ID };
        let address = 1 + ((self.index as u64 + 64 * (inner.generation % 2)) % 127) as u8;
        Some(Enumeration {
            index: self.index,
            id: UsbId { bus, ports, vendor: VENDOR_ID, product },
            generation: inner.generation,
            packet: inner.packet(),
            address,
        })
    }

    /// Where it enumerates: the ROM's place, or for booted SuperSpeed firmware the next bus
    /// (the USB 3 root hub) with the first port shifted.
    fn location(&self, profile: &Profile, booted: bool) -> (u8, Vec<u8>) {
        if booted && profile.superspeed {
            let mut ports = self.rom_ports.clone();
            ports[0] = ports[0].saturating_add(profile.port_shift);
            (self.rom_bus.saturating_add(1), ports)
        } else {
            (self.rom_bus, self.rom_ports.clone())
        }
    }

    /// Opens the stick as enumerated in `generation` (the current one when `None`) and claims
    /// its interface.
    pub(super) fn open(&self, generation: Option<u64>) -> Result<SoftTransport, UsbError> {
        let mut inner = self.lock();
        if !inner.plugged || generation.is_some_and(|g| g != inner.generation) {
            return Err(UsbError::NoDevice);
        }
        if !inner.visible() {
            return Err(UsbError::NotFound);
        }
        if inner.profile.exclusive && inner.claim.is_some() {
            return Err(UsbError::Busy);
        }
        inner.next_serial += 1;
        let serial = inner.next_serial;
        if inner.profile.exclusive {
            inner.claim = Some(serial);
        }
        let packet = inner.packet();
        let generation = inner.generation;
        drop(inner);
        Ok(SoftTransport::new(self.clone(), generation, serial, packet))
    }
}
