//! What runs "on" a software stick once booted: the device side of the v1 link protocol, with
//! inference by the CPU reference in fp16 mode.
//!
//! It accepts exactly the sequence NCSDK's host sends (research/ncsdk_api.md §7): headers of
//! 64 bytes, a permit before every SET/GET payload, `input1`/`input2` staged and started by
//! `hostready`, results collected as `output` then `auxBuffer` (whose `hostready` releases the
//! staged input). Work happens synchronously inside the host's transfer calls; a read of data
//! that will never come fails at once with a timeout.

use std::collections::VecDeque;
use std::time::Duration;

use crate::fp16;

use crate::blob;
use crate::device::transport::UsbError;
use crate::device::wire::{aux, Buffer, Command, Config, Header, Status, HEADER_LEN, OPTIMIZATION_LIST_LEN, PERMIT};
use crate::reference::{Executor, Precision};

use super::{FaultKind, Step};

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

struct Loaded {
    executor: Executor,
    stages: usize,
    input_bytes: usize,
    output_elements: usize,
}

/// The device-side state of a booted stick.
pub struct Firmware {
    expect: Expect,
    outgoing: VecDeque<u8>,
    graph: Option<Loaded>,
    aux_len: usize,
    config: Config,
    staged: VecDeque<Vec<u8>>,
    results: VecDeque<(Vec<u8>, Vec<u8>)>,
    error: Option<String>,
    /// Why the last blob was refused, reported by every inference until a graph loads.
    load_error: Option<String>,
    inferences: u64,
    latency: Duration,
    miscompute: Option<usize>,
}

impl std::fmt::Debug for Firmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firmware").field("graph", &self.graph.is_some()).field("results", &self.results.len()).finish()
    }
}

impl Firmware {
    /// A freshly booted stick, idle; `miscompute` scales one stage's weights (fault injection).
    pub fn new(latency: Duration, miscompute: Option<usize>) -> Self {
        Firmware {
            expect: Expect::Header,
            outgoing: VecDeque::new(),
            graph: None,
            aux_len: aux::len(0),
            config: Config::default(),
            staged: VecDeque::new(),
            results: VecDeque::new(),
            error: None,
            load_error: None,
            inferences: 0,
            latency,
            miscompute,
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
        if self.outgoing.is_empty() {
            return Err(UsbError::Timeout);
        }
        let n = buf.len().min(self.outgoing.len());
        for (dst, src) in buf.iter_mut().zip(self.outgoing.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }

    fn push_word(&mut self, word: u32) {
        self.outgoing.extend(word.to_le_bytes());
    }

    fn on_header(&mut self, header: Header, fault: Option<FaultKind>) -> Effect {
        let Some(cmd) = Command::from_u8(header.cmd) else { return Effect::None };
        match cmd {
            Command::Reset => return Effect::Reset,
            Command::Status => match fault {
                Some(FaultKind::Timeout) => {}
                Some(FaultKind::ShortTransfer) => self.outgoing.extend([0x22, 0]),
                Some(FaultKind::BadPermit) => self.push_word(Status::Running.to_u32()),
                _ => self.push_word(Status::Waiting.to_u32()),
            },
            Command::SetData => {
                let Some(buffer) = Buffer::from_name(&header.name) else {
                    self.push_word(0);
                    return Effect::None;
                };
                let want = header.data_length as usize;
                match fault {
                    Some(FaultKind::Timeout) => return Effect::None,
                    Some(FaultKind::BadPermit) => {
                        self.push_word(0xDEAD_BEEF);
                        return Effect::None;
                    }
                    Some(FaultKind::FirmwareError(ref message)) => self.error = Some(message.clone()),
                    _ => {}
                }
                self.push_word(PERMIT);
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
            Command::GetData => {
                let Some(buffer) = Buffer::from_name(&header.name) else {
                    self.push_word(0);
                    return Effect::None;
                };
                if let Some(FaultKind::FirmwareError(message)) = &fault {
                    self.error = Some(message.clone());
                }
                let Some(mut data) = self.data_for(buffer, header.hostready != 0) else {
                    // Nothing to give: the real stick withholds the permit.
                    return Effect::None;
                };
                match fault {
                    Some(FaultKind::Timeout) => return Effect::None,
                    Some(FaultKind::BadPermit) => {
                        self.push_word(0xDEAD_BEEF);
                        return Effect::None;
                    }
                    _ => {}
                }
                data.resize(header.data_length as usize, 0);
                if fault == Some(FaultKind::ShortTransfer) {
                    data.truncate(data.len() / 2);
                }
                self.push_word(PERMIT);
                self.outgoing.extend(data);
            }
        }
        Effect::None
    }

    /// The bytes a GET of `buffer` returns, or `None` when the stick has none to give.
    fn data_for(&mut self, buffer: Buffer, hostready: bool) -> Option<Vec<u8>> {
        match buffer {
            Buffer::Output => self.results.front().map(|(output, _)| output.clone()),
            Buffer::AuxBuffer => {
                let (_, aux_bytes) = self.results.pop_front()?;
                if hostready {
                    if let Some(next) = self.staged.pop_front() {
                        self.infer(next);
                    }
                }
                Some(aux_bytes)
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
                match load(&data, self.miscompute) {
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
                if hostready {
                    self.infer(data);
                } else {
                    self.staged.push_back(data);
                }
            }
            Buffer::Output | Buffer::OptimizationList => {}
        }
    }

    /// Runs one inference and queues its output and auxBuffer.
    fn infer(&mut self, input: Vec<u8>) {
        let stages = self.graph.as_ref().map_or(0, |g| g.stages);
        let mut aux_bytes = vec![0u8; self.aux_len.max(aux::len(stages))];
        let mut output = Vec::new();
        let outcome = match self.graph.as_mut() {
            None => Err(self.load_error.clone().unwrap_or_else(|| "MYRIAD_ERROR: no graph allocated".to_owned())),
            Some(g) if input.len() != g.input_bytes => {
                Err(format!("MYRIAD_ERROR: input of {} bytes, the graph takes {}", input.len(), g.input_bytes))
            }
            Some(g) => {
                let values = fp16::decode(&input);
                match g.executor.run(&values) {
                    Ok(result) => {
                        output = fp16::encode(&result.output);
                        output.resize(g.output_elements * 2, 0);
                        for (i, t) in result.stage_times.iter().enumerate() {
                            let at = aux::TIMES + 4 * i;
                            aux_bytes[at..at + 4].copy_from_slice(&((t.as_secs_f64() * 1e3) as f32).to_le_bytes());
                        }
                        Ok(())
                    }
                    Err(e) => Err(format!("MYRIAD_ERROR: {e}")),
                }
            }
        };
        if !self.latency.is_zero() {
            std::thread::sleep(self.latency);
        }
        self.inferences += 1;
        if let Some(message) = outcome.err().or_else(|| self.error.take()) {
            let bytes = message.as_bytes();
            let len = bytes.len().min(aux::DEBUG.len() - 1);
            aux_bytes[..len].copy_from_slice(&bytes[..len]);
        }
        // Plausible thermals: warming slowly with use, sensors a little apart.
        let base = 38.0 + 20.0 * (1.0 - (-(self.inferences as f32) / 5000.0).exp());
        for i in 0..aux::THERMAL_COUNT {
            let at = aux::THERMAL.start + 4 * i;
            aux_bytes[at..at + 4].copy_from_slice(&(base + 0.1 * i as f32).to_le_bytes());
        }
        let level: i32 = if base >= self.config.temp_lim_upper as f32 {
            2
        } else if base >= self.config.temp_lim_lower as f32 {
            1
        } else {
            0
        };
        aux_bytes[aux::THROTTLING..aux::THROTTLING + 4].copy_from_slice(&level.to_le_bytes());
        self.results.push_back((output, aux_bytes));
    }
}

fn load(bytes: &[u8], miscompute: Option<usize>) -> Result<Loaded, String> {
    let mut parsed = blob::parse(bytes).map_err(|e| format!("MYRIAD_ERROR: graph rejected: {e}"))?;
    if let Some(stage) = miscompute.and_then(|k| parsed.stages.get(k).cloned()) {
        if stage.taps.location == blob::Location::Blob {
            let start = stage.taps.pointer as usize;
            let end = (start + blob::operand_len(&stage, blob::Slot::Taps) as usize).min(parsed.data.len());
            let end = start + (end - start) / 2 * 2;
            let scaled: Vec<f32> = fp16::decode(&parsed.data[start..end]).iter().map(|v| v * 1.5).collect();
            fp16::encode_into(&scaled, &mut parsed.data[start..end]);
        }
    }
    let layout = parsed.layout().map_err(|e| format!("MYRIAD_ERROR: {e}"))?;
    let executor = Executor::new(&parsed, Precision::Fp16).map_err(|e| format!("MYRIAD_ERROR: {e}"))?;
    let input_bytes = parsed.network_input().map_or(0, |t| t.dims.product() as usize * 2);
    Ok(Loaded { executor, stages: parsed.stages.len(), input_bytes, output_elements: layout.output_elements as usize })
}
