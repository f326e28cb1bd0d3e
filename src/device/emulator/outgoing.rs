//! What the firmware has queued on its bulk IN endpoint, delivered as USB delivers it.
//!
//! With framing (strict profiles) each reply is its own transfer: a read ends at the reply's
//! end (its short packet), a reply whose length is an exact multiple of the packet size is
//! followed by a zero-length packet — which ends the host's *next* read with 0 bytes when the
//! host asked for exactly the reply's length — and a read into a buffer that is not a multiple
//! of the packet size overflows when the reply is longer. Without framing (`ideal`) replies are
//! one byte stream.

use std::collections::VecDeque;

use crate::device::transport::UsbError;

#[derive(Debug)]
struct Reply {
    bytes: Vec<u8>,
    sent: usize,
    zero_length_packet: bool,
}

/// The IN endpoint's queue.
#[derive(Debug)]
pub struct Outgoing {
    queue: VecDeque<Reply>,
    packet: usize,
    framing: bool,
}

impl Outgoing {
    /// An empty queue for an endpoint of `packet` bytes.
    pub fn new(packet: usize, framing: bool) -> Self {
        Outgoing { queue: VecDeque::new(), packet: packet.max(1), framing }
    }

    /// Queues one reply.
    pub fn push(&mut self, bytes: Vec<u8>) {
        let zero_length_packet = self.framing && !bytes.is_empty() && bytes.len() % self.packet == 0;
        self.queue.push_back(Reply { bytes, sent: 0, zero_length_packet });
    }

    /// Queues a 4-byte little-endian word (status, permit).
    pub fn push_word(&mut self, word: u32) {
        self.push(word.to_le_bytes().to_vec());
    }

    /// One bulk IN transfer into `buf`; a timeout when nothing is queued.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, UsbError> {
        if !self.framing {
            return self.read_stream(buf);
        }
        let Some(front) = self.queue.front_mut() else { return Err(UsbError::Timeout) };
        let remaining = front.bytes.len() - front.sent;
        if remaining == 0 {
            // Only its zero-length packet is left: it ends this transfer with nothing.
            self.queue.pop_front();
            return Ok(0);
        }
        if remaining > buf.len() && buf.len() % self.packet != 0 {
            // A full packet arrives where less than a packet of room is left (babble).
            self.queue.pop_front();
            return Err(UsbError::Overflow);
        }
        let n = remaining.min(buf.len());
        buf[..n].copy_from_slice(&front.bytes[front.sent..front.sent + n]);
        front.sent += n;
        // A buffer filled exactly leaves the zero-length packet for the next transfer.
        if front.sent == front.bytes.len() && (!front.zero_length_packet || n < buf.len()) {
            self.queue.pop_front();
        }
        Ok(n)
    }

    fn read_stream(&mut self, buf: &mut [u8]) -> Result<usize, UsbError> {
        let mut n = 0;
        while n < buf.len() {
            let Some(front) = self.queue.front_mut() else { break };
            let take = (front.bytes.len() - front.sent).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&front.bytes[front.sent..front.sent + take]);
            front.sent += take;
            n += take;
            if front.sent == front.bytes.len() {
                self.queue.pop_front();
            }
        }
        if n == 0 && !buf.is_empty() {
            return Err(UsbError::Timeout);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_follows_usb_packet_rules() {
        let mut out = Outgoing::new(512, true);
        out.push_word(0xABCD);
        out.push(vec![7; 1024]);
        out.push_word(0x22);
        let mut buf = [0u8; 1024];
        // A reply ends the transfer even when the buffer has room for more.
        assert_eq!(out.read(&mut buf[..8]), Ok(4));
        // Exactly 1024 bytes asked: filled, and the ZLP waits for the next read.
        assert_eq!(out.read(&mut buf), Ok(1024));
        assert_eq!(out.read(&mut buf[..4]), Ok(0));
        assert_eq!(out.read(&mut buf[..4]), Ok(4));
        assert_eq!(out.read(&mut buf[..4]), Err(UsbError::Timeout));
        // Asked for more than the reply: the ZLP ends this very transfer.
        out.push(vec![1; 512]);
        assert_eq!(out.read(&mut buf), Ok(512));
        assert_eq!(out.read(&mut buf), Err(UsbError::Timeout));
        // Less than a packet of room for a longer reply: overflow.
        out.push(vec![1; 600]);
        assert_eq!(out.read(&mut buf[..100]), Err(UsbError::Overflow));
        // Multiples of the packet size may take a long reply in pieces.
        out.push(vec![2; 1500]);
        assert_eq!(out.read(&mut buf[..512]), Ok(512));
        assert_eq!(out.read(&mut buf), Ok(988));
    }

    #[test]
    fn without_framing_replies_are_one_stream() {
        let mut out = Outgoing::new(512, false);
        out.push_word(1);
        out.push(vec![9; 512]);
        let mut buf = [0u8; 8];
        assert_eq!(out.read(&mut buf), Ok(8));
        assert_eq!(&buf, &[1, 0, 0, 0, 9, 9, 9, 9]);
        let mut rest = [0u8; 1000];
        assert_eq!(out.read(&mut rest), Ok(508));
        assert_eq!(out.read(&mut rest), Err(UsbError::Timeout));
    }
}
