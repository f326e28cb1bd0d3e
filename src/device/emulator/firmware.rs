//! What runs "on" a software stick once booted: the device side of the v1 link protocol.
//!
//! It accepts exactly the sequence NCSDK's host sends (`docs/usb_protocol.md` §6–§13): headers
//! of 64 bytes, a permit before every SET/GET payload, `input1`/`input2` staged and started by
//! `hostready`, results collected as `output` then `auxBuffer` (whose `hostready` releases the
//! staged input). Compute happens synchronously inside the host's transfer call; the *modelled*
//! inference time ([`Profile::inference_time`]) decides when the result may be collected.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::compute::{aux_buffer, Loaded};
use super::outgoing::Outgoing;
use super::profile::Profile;
use super::{FaultKind, Step};
use crate::device::transport::UsbError;
use crate::device::wire::{aux, Buffer, Command, Config, Header, Status, HEADER_LEN, OPTIMIZATION_LIST_LEN, PERMIT};
use crate::reference::Limits;

/// The word a strict stick answers a GET `output` with while the inference is still running,
/// or a SET `config` while inferences are in flight: anything but the permit fails Intel's
/// `usblink_getdata` (`usb_link_vsc.c` 205–206), which its `mvncGetResult` retries. The value
/// itself is not known from any source; what matters is that it is not 0xABCD.
pub const NOT_NOW: u32 = 0;

/// What a write did to the stick as a whole.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing beyond the protocol.
    None,
    /// The host asked for a reset: reboot into the ROM.
    Reset,
    /// An injected disconnect.
    Disconnect,
}

#[derive(Debug)]
enum Expect {
    Header,
    Payload { buffer: Buffer, hostready: bool, want: usize, data: Vec<u8>, accept_until: Option<usize> },
}

/// One inference's result, collectable once `ready_at` has passed.
struct Pending {
    output: Vec<u8>,
    aux: Vec<u8>,
    ready_at: Instant,
}

/// The device-side state of a booted stick.
pub struct Firmware {
    expect: Expect,
    outgoing: Outgoing,
    graph: Option<Loaded>,
    aux_len: usize,
    config: Config,
    staged: VecDeque<Vec<u8>>,
    results: VecDeque<Pending>,
    error: Option<String>,
    /// Why the last blob was refused, reported by every inference until a graph loads.
    load_error: Option<String>,
    inferences: u64,
    profile: Profile,
    miscompute: Option<usize>,
    limits: Limits,
}

impl std::fmt::Debug for Firmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firmware").field("graph", &self.graph.is_some()).field("results", &self.results.len()).finish()
    }
}

impl Firmware {
    /// A freshly booted stick, idle; `miscompute` scales one stage's weights (fault injection);
    /// a graph past `limits` is refused as the CPU reference refuses it.
    pub fn new(profile: &Profile, miscompute: Option<usize>, limits: Limits) -> Self {
        Firmware {
            expect: Expect::Header,
            outgoing: Outgoing::new(profile.booted_packet, profile.usb_framing),
            graph: None,
            aux_len: aux::len(0),
            config: Config::default(),
            staged: VecDeque::new(),
            results: VecDeque::new(),
            error: None,
            load_error: None,
            inferences: 0,
            profile: profile.clone(),
            miscompute,
            limits,
        }
    }

    /// The step a header addresses (for fault matching).
    pub fn step_of(header: &Header) -> Option<Step> {
        match Command::from_u8(header.cmd)? {
            Command::Status => Some(Step::Status),
            Command::Reset => None,
            Command::SetData => Buffer::from_name(&header.name).map(Step::Set),
            Command::GetData => Buffer::from_name(&header.name).map(Step::Get),
        }
    }

    /// True when the next write must be a header.
    pub fn expects_header(&self) -> bool {
        matches!(self.expect, Expect::Header)
    }

    /// Handles a host write, with an optional fault firing at this step.
    pub fn write(&mut self, data: &[u8], fault: Option<FaultKind>) -> (Result<usize, UsbError>, Effect) {
        match &mut self.expect {
            Expect::Header => {
                let Ok(bytes) = <&[u8; HEADER_LEN]>::try_from(data) else {
                    return (Err(UsbError::Pipe), Effect::None);
                };
                let header = Header::decode(bytes);
                if fault == Some(FaultKind::Disconnect) {
                    return (Err(UsbError::NoDevice), Effect::Disconnect);
                }
                (Ok(HEADER_LEN), self.on_header(header, fault))
            }
            Expect::Payload { want, data: received, accept_until, .. } => {
                let limit = accept_until.unwrap_or(*want);
                let room = limit.saturating_sub(received.len());
                if room == 0 {
                    return (Err(UsbError::Timeout), Effect::None);
                }
                let take = room.min(data.len());
                received.extend_from_slice(&data[..take]);
                if received.len() == *want {
                    let Expect::Payload { buffer, hostready, data, .. } =
                        std::mem::replace(&mut self.expect, Expect::Header)
                    else {
                        unreachable!("matched above")
                    };
                    self.on_set(buffer, hostready, data);
                }
                (Ok(take), Effect::None)
            }
        }
    }

    /// Handles a host read: whatever the stick has queued for it.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, UsbError> {
        self.outgoing.read(buf)
    }

    fn on_header(&mut self, header: Header, fault: Option<FaultKind>) -> Effect {
        let Some(cmd) = Command::from_u8(header.cmd) else { return Effect::None };
        match cmd {
            Command::Reset => return Effect::Reset,
            Command::Status => match fault {
                Some(FaultKind::Timeout) => {}
                Some(FaultKind::ShortTransfer) => self.outgoing.push(vec![0x22, 0]),
                Some(FaultKind::BadPermit) => self.outgoing.push_word(Status::Running.to_u32()),
                _ => self.outgoing.push_word(Status::Waiting.to_u32()),
            },
            Command::SetData => self.on_set_header(&header, fault),
            Command::GetData => self.on_get_header(&header, fault),
        }
        Effect::None
    }

    fn on_set_header(&mut self, header: &Header, fault: Option<FaultKind>) {
        let Some(buffer) = Buffer::from_name(&header.name) else {
            self.outgoing.push_word(0);
            return;
        };
        let want = header.data_length as usize;
        match fault {
            Some(FaultKind::Timeout) => return,
            Some(FaultKind::BadPermit) => return self.outgoing.push_word(0xDEAD_BEEF),
            Some(FaultKind::FirmwareError(ref message)) => self.error = Some(message.clone()),
            _ => {}
        }
        let in_flight = !self.staged.is_empty() || !self.results.is_empty();
        if buffer == Buffer::Config && in_flight && self.profile.config_when_idle {
            return self.outgoing.push_word(NOT_NOW);
        }
        self.outgoing.push_word(PERMIT);
        let accept_until = (fault == Some(FaultKind::ShortTransfer)).then_some(want / 2);
        if want == 0 {
            self.on_set(buffer, header.hostready != 0, Vec::new());
        } else {
            self.expect = Expect::Payload {
                buffer,
                hostready: header.hostready != 0,
                want,
                data: Vec::with_capacity(want.min(64 << 20)),
                accept_until,
            };
        }
    }

    fn on_get_header(&mut self, header: &Header, fault: Option<FaultKind>) {
        let Some(buffer) = Buffer::from_name(&header.name) else {
            self.outgoing.push_word(0);
            return;
        };
        if let Some(FaultKind::FirmwareError(message)) = &fault {
            self.error = Some(message.clone());
        }
        let result_due = matches!(buffer, Buffer::Output | Buffer::AuxBuffer);
        if result_due && self.results.front().is_some_and(|r| Instant::now() < r.ready_at) {
            // Still computing: the permit is refused until the modelled time has passed.
            return self.outgoing.push_word(NOT_NOW);
        }
        let Some(mut data) = self.data_for(buffer, header.hostready != 0) else {
            // Nothing to give: the stick withholds the permit.
            return;
        };
        match fault {
            Some(FaultKind::Timeout) => return,
            Some(FaultKind::BadPermit) => return self.outgoing.push_word(0xDEAD_BEEF),
            _ => {}
        }
        data.resize(header.data_length as usize, 0);
        if fault == Some(FaultKind::ShortTransfer) {
            data.truncate(data.len() / 2);
        }
        self.outgoing.push_word(PERMIT);
        self.outgoing.push(data);
    }

    /// The bytes a GET of `buffer` returns, or `None` when the stick has none to give.
    fn data_for(&mut self, buffer: Buffer, hostready: bool) -> Option<Vec<u8>> {
        match buffer {
            Buffer::Output => self.results.front().map(|r| r.output.clone()),
            Buffer::AuxBuffer => {
                let done = self.results.pop_front()?;
                if hostready {
                    if let Some(next) = self.staged.pop_front() {
                        self.start(next);
                    }
                }
                Some(done.aux)
            }
            Buffer::OptimizationList => {
                let mut list = b"im2col~generic~1x1_conv~3x3_conv~".to_vec();
                list.resize(OPTIMIZATION_LIST_LEN, 0);
                Some(list)
            }
            _ => None,
        }
    }

    fn on_set(&mut self, buffer: Buffer, hostready: bool, data: Vec<u8>) {
        match buffer {
            Buffer::BlobFile => {
                self.graph = None;
                self.results.clear();
                self.staged.clear();
                match Loaded::load(&data, self.miscompute, &self.limits) {
                    Ok(loaded) => (self.graph, self.load_error) = (Some(loaded), None),
                    Err(message) => self.load_error = Some(message),
                }
            }
            Buffer::AuxBuffer => self.aux_len = data.len().max(aux::len(0)),
            Buffer::Config => {
                if let Some(config) = Config::decode(&data) {
                    if config.query == 0 {
                        self.config = config;
                    }
                }
            }
            Buffer::Input1 | Buffer::Input2 => {
                let slot = usize::from(buffer == Buffer::Input2);
                let input = match self.graph.as_mut() {
                    Some(graph) => graph.receive_input(slot, &data),
                    None => data,
                };
                if hostready {
                    self.start(input);
                } else {
                    self.staged.push_back(input);
                }
            }
            Buffer::Output | Buffer::OptimizationList => {}
        }
    }

    /// Runs one inference now; its result may be collected after the modelled time.
    fn start(&mut self, input: Vec<u8>) {
        let (outcome, stages) = match self.graph.as_mut() {
            None => (Err(self.load_error.clone().unwrap_or_else(|| "MYRIAD_ERROR: no graph allocated".to_owned())), 0),
            Some(graph) => (graph.run(&input), graph.stages),
        };
        let (output, stage_ms, failure) = match outcome {
            Ok((output, times)) => (output, times, None),
            Err(message) => (Vec::new(), vec![0.0; stages], Some(message)),
        };
        self.inferences += 1;
        let error = failure.or_else(|| self.error.take());
        let aux = aux_buffer(self.aux_len, error.as_deref(), &stage_ms, self.inferences, &self.config);
        let ready_at = Instant::now() + self.modelled_time(stages);
        self.results.push_back(Pending { output, aux, ready_at });
    }

    fn modelled_time(&self, stages: usize) -> Duration {
        self.profile.inference_time(stages)
    }
}
