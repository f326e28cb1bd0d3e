//! `NCS_TRACE_USB=FILE` for programs using the drop-in: every bulk transfer in ncs's trace
//! format (`README.md`, "USB trace format"), classified by following the v1 link protocol
//! the way the stick sees it, so a trace of Intel's libmvnc reads like a trace of ncs's driver.

use ncs::device::trace::{Tracer, Transfer};
use ncs::device::transport::UsbError;
use ncs::device::wire::{Command, Header, HEADER_LEN, PERMIT};
use std::time::Duration;

/// What the next transfer on a handle is, by the protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Expect {
    /// A 64-byte header (OUT).
    #[default]
    Header,
    /// The 4-byte status reply (IN).
    Status,
    /// The permit of a SET or GET announcing `length` payload bytes.
    Permit { length: u32 },
    /// Payload bytes still to move.
    Payload { remaining: u64 },
}

/// One transfer as the C caller made it.
pub struct Bulk<'a> {
    /// Stick name (bus-ports).
    pub stick: &'a str,
    /// True for the ROM (2150): everything sent is firmware.
    pub rom: bool,
    /// Endpoint address.
    pub endpoint: u8,
    /// The bytes moved (written, or read into the buffer).
    pub bytes: &'a [u8],
    /// Bytes asked for.
    pub requested: usize,
    /// Timeout given.
    pub timeout: Duration,
    /// Outcome.
    pub result: Result<(), &'a UsbError>,
}

/// Records one transfer and advances the handle's protocol position.
pub fn record(tracer: Option<&Tracer>, expect: &mut Expect, t: &Bulk<'_>) {
    let out = t.endpoint & 0x80 == 0;
    let header = (out && !t.rom && *expect == Expect::Header && t.bytes.len() == HEADER_LEN)
        .then(|| <&[u8; HEADER_LEN]>::try_from(t.bytes).ok().map(Header::decode))
        .flatten();
    let kind = match (t.rom, *expect) {
        (true, _) => "boot_chunk",
        (false, Expect::Header) if header.is_some() => "header",
        (false, Expect::Status) => "status",
        (false, Expect::Permit { .. }) => "permit",
        _ => "payload",
    };
    if let Some(tracer) = tracer {
        tracer.transfer(&Transfer {
            stick: t.stick,
            op: if out { "write" } else { "read" },
            endpoint: t.endpoint,
            kind,
            requested: t.requested,
            actual: t.bytes.len(),
            timeout: t.timeout,
            result: t.result,
            header: header.as_ref(),
            payload: (kind == "payload").then_some(t.bytes),
        });
    }
    if t.rom || t.result.is_err() {
        return;
    }
    *expect = advance(*expect, header.as_ref(), t.bytes);
}

fn advance(expect: Expect, header: Option<&Header>, bytes: &[u8]) -> Expect {
    match expect {
        Expect::Header => match header.and_then(|h| Command::from_u8(h.cmd).map(|c| (c, h.data_length))) {
            Some((Command::Status, _)) => Expect::Status,
            Some((Command::SetData | Command::GetData, length)) => Expect::Permit { length },
            _ => Expect::Header,
        },
        // A zero-length packet moves nothing; wait for the word itself.
        Expect::Status | Expect::Permit { .. } if bytes.is_empty() => expect,
        Expect::Status => Expect::Header,
        Expect::Permit { length, .. } => {
            let word = bytes.get(..4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            if word == Some(PERMIT) && length > 0 {
                Expect::Payload { remaining: u64::from(length) }
            } else {
                Expect::Header
            }
        }
        Expect::Payload { remaining } => match remaining.saturating_sub(bytes.len() as u64) {
            0 => Expect::Header,
            left => Expect::Payload { remaining: left },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ncs::device::wire::Buffer;

    #[test]
    fn the_protocol_position_follows_set_get_and_status() {
        let set = Header::data(Command::SetData, Buffer::Input1, true, 10).encode();
        let mut at = advance(Expect::Header, Some(&Header::decode(&set)), &set);
        assert_eq!(at, Expect::Permit { length: 10 });
        at = advance(at, None, &[]);
        assert_eq!(at, Expect::Permit { length: 10 }, "a ZLP changes nothing");
        at = advance(at, None, &PERMIT.to_le_bytes());
        assert_eq!(at, Expect::Payload { remaining: 10 });
        at = advance(at, None, &[0; 6]);
        assert_eq!(advance(at, None, &[0; 4]), Expect::Header);
        let get = Header::data(Command::GetData, Buffer::Output, false, 8).encode();
        at = advance(Expect::Header, Some(&Header::decode(&get)), &get);
        assert_eq!(advance(at, None, &0u32.to_le_bytes()), Expect::Header, "a refused permit");
        let status = Header::bare(Command::Status).encode();
        assert_eq!(advance(Expect::Header, Some(&Header::decode(&status)), &status), Expect::Status);
    }
}
