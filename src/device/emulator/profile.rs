//! How strictly a software stick behaves like a real NCS1: named profiles (`usb2`, `usb3`,
//! `ideal`) and the knobs they set.
//!
//! Each strict behaviour is one Intel's v1.12 host library is written to survive; the comment on
//! each knob names the evidence. Line numbers refer to `movidius/ncsdk` at tag `v1.12.01.01`
//! unless another tag is named. What is *inferred* rather than documented is said so: a real
//! stick may behave differently, and `tests/hil.rs` is where that gets settled.

use std::fmt;
use std::time::Duration;

/// The knobs of a software stick. Build one with [`Profile::usb2`], [`Profile::usb3`],
/// [`Profile::ideal`] or [`Profile::parse`], then adjust fields as a test needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `usb2`, `usb3`, `ideal`, or the spec it was parsed from.
    pub name: String,
    /// How long a stick is off the bus between its ROM taking the firmware and the booted
    /// firmware enumerating as 03e7:f63b. No published figure: Intel's host polls for up to 15 s
    /// (`mvnc_api.c` 52, 257–298) and NCSDK 2's Windows path sleeps 2 s before looking
    /// (`mvnc_api.c` 531–533 at `v2.08.01.02`). Default 1 s; tests choose shorter, non-zero values.
    pub boot_absence: Duration,
    /// How long a stick asked to reset still enumerates as f63b (its firmware no longer
    /// answering) before the ROM (03e7:2150) reappears. Intel sleeps 500 ms after the reset on
    /// close (`mvnc_api.c` 418) and NCSDK 2 says why: "device takes some time to re-enumerate,
    /// wait till it's back" (`mvnc_api.c` 253, 843 at `v2.08.01.02`). Default 500 ms.
    pub reset_linger: Duration,
    /// The booted firmware enumerates SuperSpeed on the USB 3 root hub: another bus number.
    /// "connects to the host machine as a USB 2.0 device … reconnects … as either a USB 2.0 or
    /// USB 3.0 device (depending on the host type)" (`docs/ncs.html`; `docs/ncs1arch.md` at
    /// `v1.10.00.03`). Intel's open loop matches the booted stick by port path *without* the bus,
    /// else takes any f63b stick it has not opened (`mvnc_api.c` 259–280): both cases are real.
    pub superspeed: bool,
    /// With `superspeed`: the booted stick's first port number is the ROM's plus this (companion
    /// ports on the two root hubs are numbered independently). 0 keeps the port path.
    pub port_shift: u8,
    /// wMaxPacketSize of the booted stick's bulk endpoints: 512 at high speed, 1024 at
    /// SuperSpeed (USB 2.0 §5.8.3, USB 3.x §8.6). The ROM is always high speed: 512.
    pub booted_packet: usize,
    /// USB framing: a transfer ends at a short packet, a reply whose length is an exact multiple
    /// of the packet size is followed by a zero-length packet (which ends the host's *next* read
    /// if it asked for exactly the reply's length), and a read that asks for less than the
    /// device sends gets an overflow. Intel's read loop carries on after a 0-byte transfer
    /// (`usb_link_vsc.c` 62–73).
    pub usb_framing: bool,
    /// Modelled compute time per stage: the firmware refuses the `output` permit until the
    /// inference's time has passed. Intel retries the output read every 1 ms for 15 s on any
    /// failure (`mvnc_api.c` 953–978). Default: Intel's published GoogLeNet profile, 88.66 ms for
    /// 75 stages ≈ 1.18 ms per stage (`docs/tools/profile.html`). Zero: results ready at once.
    pub stage_time: Duration,
    /// A fixed modelled inference time, overriding `stage_time` × stages (`latency=` in a spec).
    pub latency: Option<Duration>,
    /// One owner per stick: while a handle has the interface claimed, another open gets
    /// [`UsbError::Busy`](crate::device::UsbError::Busy), as usbfs answers a second claim.
    pub exclusive: bool,
    /// Opening checks bus, ports, vendor and product against the stick's *current*
    /// enumeration (a real `libusb_open` works on the device as enumerated now).
    pub strict_ids: bool,
    /// A transfer that cannot complete waits for its timeout before failing, as libusb's
    /// synchronous calls do, instead of failing at once.
    pub blocking_timeouts: bool,
    /// `config` is only accepted when nothing is in flight. Intel sends it once, before the
    /// first input (`mvnc_api.c` 883–889); whether the firmware accepts it mid-pipeline is
    /// unknown, so the strict stick refuses it (permit withheld by a non-permit word).
    pub config_when_idle: bool,
}

impl Profile {
    /// A stick on a USB 2.0 port (or a host without USB 3): booted at the same bus and port
    /// path, 512-byte packets, every strict behaviour on. The default for `--emulate N`.
    pub fn usb2() -> Self {
        Profile {
            name: "usb2".into(),
            boot_absence: Duration::from_secs(1),
            reset_linger: Duration::from_millis(500),
            superspeed: false,
            port_shift: 0,
            booted_packet: 512,
            usb_framing: true,
            stage_time: Duration::from_micros(1182),
            latency: None,
            exclusive: true,
            strict_ids: true,
            blocking_timeouts: true,
            config_when_idle: true,
        }
    }

    /// A stick on a USB 3 port: as `usb2`, but the booted firmware comes back on the next bus
    /// (the USB 3 root hub) with its first port number shifted by 16 and 1024-byte packets.
    pub fn usb3() -> Self {
        Profile { name: "usb3".into(), superspeed: true, port_shift: 16, booted_packet: 1024, ..Profile::usb2() }
    }

    /// The forgiving stick for quick unit tests: boots and resets instantly at the same place,
    /// results ready at once, no framing, no ownership, failures at once.
    pub fn ideal() -> Self {
        Profile {
            name: "ideal".into(),
            boot_absence: Duration::ZERO,
            reset_linger: Duration::ZERO,
            superspeed: false,
            port_shift: 0,
            booted_packet: 512,
            usb_framing: false,
            stage_time: Duration::ZERO,
            latency: None,
            exclusive: false,
            strict_ids: false,
            blocking_timeouts: false,
            config_when_idle: false,
        }
    }

    /// Parses `usb2`, `usb3` or `ideal`, optionally followed by comma-separated overrides:
    /// `absence=DUR`, `linger=DUR`, `stage=DUR`, `latency=DUR`, `ports=same|shift:N`, with
    /// durations like `250ms`, `1.5s` or `800us`. E.g. `usb3,absence=200ms,latency=5ms`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = spec.split(',').map(str::trim);
        let base = parts.next().unwrap_or_default();
        let mut profile = match base {
            "usb2" => Profile::usb2(),
            "usb3" => Profile::usb3(),
            "ideal" => Profile::ideal(),
            other => return Err(format!("unknown software-stick profile '{other}': use usb2, usb3 or ideal")),
        };
        for part in parts {
            let (key, value) =
                part.split_once('=').ok_or_else(|| format!("profile option '{part}' is not KEY=VALUE"))?;
            match key {
                "absence" => profile.boot_absence = duration(value)?,
                "linger" => profile.reset_linger = duration(value)?,
                "stage" => profile.stage_time = duration(value)?,
                "latency" => profile.latency = Some(duration(value)?),
                "ports" if value == "same" => profile.port_shift = 0,
                "ports" => {
                    let shift = value.strip_prefix("shift:").and_then(|n| n.parse().ok());
                    profile.port_shift = shift.ok_or_else(|| format!("ports={value}: use same or shift:N"))?;
                }
                other => {
                    return Err(format!("unknown profile option '{other}' (absence, linger, stage, latency, ports)"))
                }
            }
        }
        profile.name = spec.to_owned();
        Ok(profile)
    }

    /// `$NCS_EMULATE_PROFILE`, else `usb2`.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("NCS_EMULATE_PROFILE") {
            Ok(spec) if !spec.trim().is_empty() => {
                Profile::parse(&spec).map_err(|e| format!("NCS_EMULATE_PROFILE: {e}"))
            }
            _ => Ok(Profile::usb2()),
        }
    }

    /// The modelled time of one inference of a graph with `stages` stages.
    pub fn inference_time(&self, stages: usize) -> Duration {
        self.latency.unwrap_or(self.stage_time * u32::try_from(stages).unwrap_or(u32::MAX))
    }
}

impl Default for Profile {
    /// `usb2`, as real sticks on most hosts.
    fn default() -> Self {
        Profile::usb2()
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Longest duration a profile option accepts: beyond Intel's 15 s waits nothing can be tested.
const MAX_KNOB: Duration = Duration::from_secs(60);

fn duration(text: &str) -> Result<Duration, String> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(format!("'{text}': give a unit (ms, us or s)"));
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("'{text}' is not a duration"))?;
    if !(0.0..=MAX_KNOB.as_secs_f64()).contains(&(value * scale)) {
        return Err(format!("'{text}' is outside 0 s ..= {} s", MAX_KNOB.as_secs()));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_profiles_and_overrides_parse() {
        assert_eq!(Profile::parse("usb2").unwrap(), Profile { name: "usb2".into(), ..Profile::usb2() });
        let p = Profile::parse("usb3, absence=200ms,linger=50ms,stage=0.1ms,latency=2.5ms,ports=same").unwrap();
        assert_eq!(p.boot_absence, Duration::from_millis(200));
        assert_eq!(p.reset_linger, Duration::from_millis(50));
        assert_eq!(p.stage_time, Duration::from_micros(100));
        assert_eq!(p.inference_time(1000), Duration::from_micros(2500));
        assert_eq!((p.superspeed, p.port_shift, p.booted_packet), (true, 0, 1024));
        assert_eq!(Profile::parse("usb3,ports=shift:3").unwrap().port_shift, 3);
        assert_eq!(Profile::usb2().inference_time(75), Duration::from_micros(88_650));
        for bad in ["usb4", "usb2,absence", "usb2,absence=3", "usb2,linger=-1ms", "usb2,stage=99s", "usb2,x=1s"] {
            assert!(Profile::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Profile::parse("usb2,ports=left").unwrap_err().contains("same or shift"));
    }
}
