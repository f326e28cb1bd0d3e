//! The software stick: NCS1 sticks that exist only in memory, behind the same [`Bus`] and
//! [`Transport`] traits as real ones, so every driver path runs without hardware.
//!
//! A stick starts in its ROM (03e7:2150) and accepts any firmware image beginning with "MA2x";
//! when the host closes the ROM handle it leaves the bus and re-enumerates as 03e7:f63b, then
//! speaks the v1 link protocol ([`firmware`]). A reset request sends it back to the ROM.
//! How strictly it behaves like a real stick — re-enumeration delays and places, packet sizes
//! and zero-length packets, results refused until computed, one owner at a time — is its
//! [`Profile`]. Faults can be injected at any protocol step ([`Fault`]).

mod compute;
mod firmware;
mod handle;
mod outgoing;
mod profile;
mod stick;

use super::transport::{Bus, Transport, UsbError, UsbId};
use super::wire::Buffer;
pub use firmware::NOT_NOW;
pub use profile::Profile;
pub use stick::{Enumeration, SoftStick, ROM_PACKET};

/// A firmware image the software stick accepts (real sticks need Intel's).
pub const SOFT_FIRMWARE: &[u8] = b"MA2x ncs software stick: any image that starts with MA2x boots it";

/// Most software sticks one bus holds (port numbers are one byte, and shifted ones must fit).
pub const MAX_STICKS: usize = 64;

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

/// A bus of software sticks, in their ROMs on bus 1 at ports 1, 2, … .
#[derive(Debug, Clone)]
pub struct SoftBus {
    sticks: Vec<SoftStick>,
    profile: Profile,
}

impl SoftBus {
    /// `count` forgiving ([`Profile::ideal`]) sticks, for quick unit tests.
    pub fn new(count: usize) -> Self {
        SoftBus::with_profile(count, Profile::ideal())
    }

    /// `count` sticks (at most [`MAX_STICKS`]) behaving as `profile` says.
    pub fn with_profile(count: usize, profile: Profile) -> Self {
        let sticks = (0..count.min(MAX_STICKS)).map(|i| SoftStick::new(i, 1, (i + 1) as u8, profile.clone())).collect();
        SoftBus { sticks, profile }
    }

    /// The profile the sticks were made with.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The sticks, in port order.
    pub fn sticks_mut(&self) -> &[SoftStick] {
        &self.sticks
    }

    /// One stick by index.
    pub fn stick(&self, index: usize) -> Option<&SoftStick> {
        self.sticks.get(index)
    }

    /// Every stick on the bus now, as a USB device list has them (sorted by bus and ports).
    pub fn enumerate(&self) -> Vec<Enumeration> {
        let mut found: Vec<Enumeration> = self.sticks.iter().filter_map(SoftStick::enumeration).collect();
        found.sort_by(|a, b| (a.id.bus, &a.id.ports).cmp(&(b.id.bus, &b.id.ports)));
        found
    }

    /// Opens one enumeration and claims its interface: [`UsbError::NoDevice`] once the stick
    /// has left the bus since, [`UsbError::Busy`] while another handle owns it.
    pub fn open_enumeration(&self, found: &Enumeration) -> Result<Box<dyn Transport>, UsbError> {
        let stick = self.sticks.get(found.index).ok_or(UsbError::NotFound)?;
        Ok(Box::new(stick.open(Some(found.generation))?))
    }
}

impl Bus for SoftBus {
    fn sticks(&self) -> Result<Vec<UsbId>, UsbError> {
        Ok(self.enumerate().into_iter().map(|e| e.id).collect())
    }

    /// Strict profiles open what is at `id`'s bus and ports *now* and only if it still
    /// reports `id`'s vendor and product; `ideal` finds the stick by place alone.
    fn open(&self, id: &UsbId) -> Result<Box<dyn Transport>, UsbError> {
        let place = |e: &Enumeration| e.id.bus == id.bus && e.id.ports == id.ports;
        for stick in &self.sticks {
            let Some(now) = stick.enumeration() else { continue };
            if !place(&now) {
                continue;
            }
            if stick.profile().strict_ids && (now.id.vendor, now.id.product) != (id.vendor, id.product) {
                return Err(UsbError::NotFound);
            }
            return Ok(Box::new(stick.open(Some(now.generation))?));
        }
        Err(UsbError::NotFound)
    }

    fn describe(&self) -> String {
        format!("{} software stick(s) ({})", self.sticks.len(), self.profile)
    }
}
