//! An open handle on a software stick: bulk transfers into the ROM or the firmware.

use std::sync::MutexGuard;
use std::time::Duration;

use super::firmware::{Effect, Firmware};
use super::stick::{Inner, Mode, SoftStick};
use super::{FaultKind, Step};
use crate::device::transport::{Transport, UsbError};
use crate::device::wire::{Header, FIRMWARE_MAGIC, HEADER_LEN};

/// Largest firmware image the ROM accepts.
const MAX_FIRMWARE: usize = 16 << 20;

/// A claimed interface on one enumeration of a stick.
#[derive(Debug)]
pub struct SoftTransport {
    stick: SoftStick,
    generation: u64,
    serial: u64,
    packet: usize,
}

impl SoftTransport {
    pub(super) fn new(stick: SoftStick, generation: u64, serial: u64, packet: usize) -> Self {
        SoftTransport { stick, generation, serial, packet }
    }

    /// The stick's state, if this handle still reaches it.
    fn live(&self) -> Result<MutexGuard<'_, Inner>, UsbError> {
        let inner = self.stick.lock();
        let owned = !inner.profile.exclusive || inner.claim == Some(self.serial);
        if !inner.plugged || inner.generation != self.generation || !owned {
            return Err(UsbError::NoDevice);
        }
        if let Mode::Rebooting { .. } = inner.mode {
            // The firmware has gone; the host has not yet seen the stick leave.
            return Err(UsbError::NoDevice);
        }
        Ok(inner)
    }

    /// A transfer that cannot complete: fails at once, or (strict profiles) after its timeout
    /// as libusb's synchronous calls do. The stick's lock is released while waiting.
    fn timed_out<T>(inner: MutexGuard<'_, Inner>, timeout: Duration) -> Result<T, UsbError> {
        let blocking = inner.profile.blocking_timeouts;
        drop(inner);
        if blocking {
            std::thread::sleep(timeout);
        }
        Err(UsbError::Timeout)
    }
}

impl Transport for SoftTransport {
    fn write(&mut self, data: &[u8], timeout: Duration) -> Result<usize, UsbError> {
        let mut guard = self.live()?;
        let inner = &mut *guard;
        let step = match &inner.mode {
            Mode::Rom { received } => received.is_empty().then_some(Step::Boot),
            Mode::Booted(fw) => <&[u8; HEADER_LEN]>::try_from(data)
                .ok()
                .filter(|_| fw.expects_header())
                .and_then(|bytes| Firmware::step_of(&Header::decode(bytes))),
            Mode::Rebooting { .. } => None,
        };
        let fault = step.and_then(|step| inner.take_fault(step));
        let result = match &mut inner.mode {
            Mode::Rom { received } => match fault {
                Some(FaultKind::Timeout) => Err(UsbError::Timeout),
                Some(FaultKind::ShortTransfer) => {
                    received.extend_from_slice(&data[..data.len() / 2]);
                    Ok(data.len() / 2)
                }
                Some(FaultKind::Disconnect) => {
                    inner.plugged = false;
                    Err(UsbError::NoDevice)
                }
                _ if received.len() + data.len() > MAX_FIRMWARE => Err(UsbError::Pipe),
                _ => {
                    received.extend_from_slice(data);
                    Ok(data.len())
                }
            },
            Mode::Booted(fw) => {
                let (result, effect) = fw.write(data, fault);
                match effect {
                    Effect::None => {}
                    Effect::Reset => inner.reboot(),
                    Effect::Disconnect => inner.plugged = false,
                }
                result
            }
            Mode::Rebooting { .. } => Err(UsbError::NoDevice),
        };
        match result {
            Err(UsbError::Timeout) => Self::timed_out(guard, timeout),
            other => other,
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, UsbError> {
        let mut inner = self.live()?;
        let result = match &mut inner.mode {
            Mode::Booted(fw) => fw.read(buf),
            // The ROM never sends anything.
            Mode::Rom { .. } | Mode::Rebooting { .. } => Err(UsbError::Timeout),
        };
        match result {
            Err(UsbError::Timeout) => Self::timed_out(inner, timeout),
            other => other,
        }
    }

    fn max_packet_size(&self) -> usize {
        self.packet
    }

    /// Modelled as a power cycle: the stick leaves the bus and its ROM comes back after the
    /// profile's reset linger. (Whether a port reset reboots a real NCS1 is for the
    /// hardware-in-the-loop tests to confirm.)
    fn reset_port(&mut self) -> Result<(), UsbError> {
        let mut inner = self.live()?;
        let linger = inner.profile.reset_linger;
        inner.reenumerate(Mode::Rom { received: Vec::new() }, linger);
        Ok(())
    }
}

impl Drop for SoftTransport {
    /// Releases the interface. Closing the ROM handle after a complete image boots the stick,
    /// which leaves the bus and re-enumerates as booted firmware.
    fn drop(&mut self) {
        let mut inner = self.stick.lock();
        let owned = !inner.profile.exclusive || inner.claim == Some(self.serial);
        if inner.generation != self.generation || !owned {
            return;
        }
        inner.claim = None;
        if !inner.plugged {
            return;
        }
        if let Mode::Rom { received } = &inner.mode {
            if received.starts_with(FIRMWARE_MAGIC) {
                inner.boot();
            } else if !received.is_empty() {
                // Not firmware: the ROM discards it and keeps waiting.
                inner.mode = Mode::Rom { received: Vec::new() };
            }
        }
    }
}
