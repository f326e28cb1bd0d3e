//! The v1 link protocol's wire types, shared by the host driver and the software stick
//! (docs/usb_protocol.md §6–§12): the 64-byte header, commands, statuses, buffer names,
//! the permit, and the config and auxBuffer layouts.

/// Booted-stick USB identity (03e7:f63b) and the ROM's (03e7:2150).
pub const VENDOR_ID: u16 = 0x03e7;
/// Product ID of a stick in its boot ROM, waiting for firmware.
pub const ROM_PRODUCT_ID: u16 = 0x2150;
/// Product ID of a stick running the v1 firmware.
pub const BOOTED_PRODUCT_ID: u16 = 0xf63b;
/// Bulk OUT endpoint of the booted stick.
pub const ENDPOINT_OUT: u8 = 0x01;
/// Bulk IN endpoint of the booted stick.
pub const ENDPOINT_IN: u8 = 0x81;
/// Header length in bytes.
pub const HEADER_LEN: usize = 64;
/// The device's "go ahead" answer to SET and GET.
pub const PERMIT: u32 = 0x0000_ABCD;
/// Largest single bulk transfer the host makes.
pub const MAX_TRANSFER: usize = 10 << 20;
/// Length of the name field.
pub const NAME_LEN: usize = 52;
/// Firmware images start with this magic.
pub const FIRMWARE_MAGIC: &[u8; 4] = b"MA2x";

/// What a header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Reply with the 4-byte status.
    Status = 0,
    /// Reboot into the ROM; no reply.
    Reset = 1,
    /// Host sends a named buffer.
    SetData = 2,
    /// Host reads a named buffer.
    GetData = 3,
}

impl Command {
    /// Decodes the command byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Command::Status,
            1 => Command::Reset,
            2 => Command::SetData,
            3 => Command::GetData,
            _ => return None,
        })
    }

    /// Lower-case name, for traces.
    pub fn name(self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Reset => "reset",
            Command::SetData => "set",
            Command::GetData => "get",
        }
    }
}

/// The firmware's state as the status reply reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0x00.
    NotInit,
    /// 0x11.
    Initialized,
    /// 0x22: idle, ready for a graph or input.
    Waiting,
    /// 0x33.
    Running,
    /// 0x44.
    Finished,
    /// 0x55.
    Pending,
    /// Anything else.
    Unknown(u32),
}

impl Status {
    /// Decodes the reply.
    pub fn from_u32(v: u32) -> Self {
        match v {
            0x00 => Status::NotInit,
            0x11 => Status::Initialized,
            0x22 => Status::Waiting,
            0x33 => Status::Running,
            0x44 => Status::Finished,
            0x55 => Status::Pending,
            other => Status::Unknown(other),
        }
    }

    /// Encodes the reply.
    pub fn to_u32(self) -> u32 {
        match self {
            Status::NotInit => 0x00,
            Status::Initialized => 0x11,
            Status::Waiting => 0x22,
            Status::Running => 0x33,
            Status::Finished => 0x44,
            Status::Pending => 0x55,
            Status::Unknown(v) => v,
        }
    }
}

/// The seven buffers the v1 firmware knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// The graph file.
    BlobFile,
    /// Debug string, thermals, throttling level, stage times.
    AuxBuffer,
    /// 10 × i32 run options.
    Config,
    /// First input slot.
    Input1,
    /// Second input slot.
    Input2,
    /// The network output.
    Output,
    /// The 2000-byte optimisation list.
    OptimizationList,
}

impl Buffer {
    /// Every buffer.
    pub const ALL: [Buffer; 7] = [
        Buffer::BlobFile,
        Buffer::AuxBuffer,
        Buffer::Config,
        Buffer::Input1,
        Buffer::Input2,
        Buffer::Output,
        Buffer::OptimizationList,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Buffer::BlobFile => "blobFile",
            Buffer::AuxBuffer => "auxBuffer",
            Buffer::Config => "config",
            Buffer::Input1 => "input1",
            Buffer::Input2 => "input2",
            Buffer::Output => "output",
            Buffer::OptimizationList => "optimizationList",
        }
    }

    /// Looks a wire name up.
    pub fn from_name(name: &str) -> Option<Self> {
        Buffer::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The 64-byte link header (little-endian, NUL-padded name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Command byte (kept raw so a device can report unknown ones).
    pub cmd: u8,
    /// Starts an inference (SET inputN) or releases a staged one (GET auxBuffer).
    pub hostready: u8,
    /// Payload bytes.
    pub data_length: u32,
    /// Read offset (always 0 from the host).
    pub offset: u32,
    /// Buffer name.
    pub name: String,
}

impl Header {
    /// A header with a command and no buffer.
    pub fn bare(cmd: Command) -> Self {
        Header { cmd: cmd as u8, hostready: 0, data_length: 0, offset: 0, name: String::new() }
    }

    /// A SET or GET of a buffer.
    pub fn data(cmd: Command, buffer: Buffer, hostready: bool, len: usize) -> Self {
        Header {
            cmd: cmd as u8,
            hostready: u8::from(hostready),
            data_length: len as u32,
            offset: 0,
            name: buffer.name().into(),
        }
    }

    /// Encodes to 64 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = self.cmd;
        out[1] = self.hostready;
        out[4..8].copy_from_slice(&self.data_length.to_le_bytes());
        out[8..12].copy_from_slice(&self.offset.to_le_bytes());
        let name = self.name.as_bytes();
        let len = name.len().min(NAME_LEN - 1);
        out[12..12 + len].copy_from_slice(&name[..len]);
        out
    }

    /// Decodes 64 bytes.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Self {
        let name_field = &bytes[12..12 + NAME_LEN];
        let end = name_field.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        Header {
            cmd: bytes[0],
            hostready: bytes[1],
            data_length: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            offset: u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            name: String::from_utf8_lossy(&name_field[..end]).into_owned(),
        }
    }
}

/// The `config` payload: 10 little-endian i32 (docs/usb_protocol.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// 1 asks for the optimisation list instead of configuring.
    pub query: i32,
    /// Iterations per input (1).
    pub iterations: i32,
    /// Upper temperature limit, °C, truncated (95).
    pub temp_lim_upper: i32,
    /// Lower temperature limit, °C, truncated (85).
    pub temp_lim_lower: i32,
    /// Back-off below the lower limit, ms (0).
    pub backoff_normal: i32,
    /// Back-off above the lower limit, ms (100).
    pub backoff_high: i32,
    /// Back-off above the upper limit, ms (10000).
    pub backoff_critical: i32,
    /// Stop on critical temperature (0).
    pub temperature_debug: i32,
    /// Measure temperature once per inference rather than per layer (1).
    pub network_throttle: i32,
}

impl Default for Config {
    /// NCSDK 1.12's defaults, as it sends them.
    fn default() -> Self {
        Config {
            query: 0,
            iterations: 1,
            temp_lim_upper: 95,
            temp_lim_lower: 85,
            backoff_normal: 0,
            backoff_high: 100,
            backoff_critical: 10000,
            temperature_debug: 0,
            network_throttle: 1,
        }
    }
}

impl Config {
    /// Payload length.
    pub const LEN: usize = 40;

    /// The optimisation-list query as Intel sends it: version 1, query 1 and every other
    /// field zero (`mvnc_api.c` 738–741) — not the current settings with the query flag set.
    pub fn optimisation_query() -> Config {
        Config {
            query: 1,
            iterations: 0,
            temp_lim_upper: 0,
            temp_lim_lower: 0,
            backoff_normal: 0,
            backoff_high: 0,
            backoff_critical: 0,
            temperature_debug: 0,
            network_throttle: 0,
        }
    }

    /// Encodes, with version 1 first.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let fields = [
            1,
            self.query,
            self.iterations,
            self.temp_lim_upper,
            self.temp_lim_lower,
            self.backoff_normal,
            self.backoff_high,
            self.backoff_critical,
            self.temperature_debug,
            self.network_throttle,
        ];
        let mut out = [0u8; Self::LEN];
        for (chunk, v) in out.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Decodes a payload (None unless it is 40 bytes with version 1).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        let f: Vec<i32> = bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        (f[0] == 1).then_some(Config {
            query: f[1],
            iterations: f[2],
            temp_lim_upper: f[3],
            temp_lim_lower: f[4],
            backoff_normal: f[5],
            backoff_high: f[6],
            backoff_critical: f[7],
            temperature_debug: f[8],
            network_throttle: f[9],
        })
    }
}

/// Byte layout of `auxBuffer` (docs/usb_protocol.md §12).
pub mod aux {
    /// Debug string (NUL-terminated; non-empty means a firmware error).
    pub const DEBUG: std::ops::Range<usize> = 0..120;
    /// 25 × f32 temperatures, °C.
    pub const THERMAL: std::ops::Range<usize> = 120..220;
    /// i32 throttling level 0/1/2.
    pub const THROTTLING: usize = 220;
    /// f32 per-stage times (ms) start here.
    pub const TIMES: usize = 224;
    /// Number of thermal readings.
    pub const THERMAL_COUNT: usize = 25;

    /// Length for a graph of `stages` stages.
    pub fn len(stages: usize) -> usize {
        TIMES + 4 * stages
    }
}

/// The optimisation list's size.
pub const OPTIMIZATION_LIST_LEN: usize = 2000;
/// Bytes per optimisation-list entry: the list is 40 entries of 50 bytes.
pub const OPTIMIZATION_ENTRY_LEN: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_matches_the_documented_layout() {
        let h = Header::data(Command::SetData, Buffer::Input1, true, 24_576);
        let bytes = h.encode();
        assert_eq!(bytes[0], 2);
        assert_eq!(bytes[1], 1);
        assert_eq!(&bytes[4..8], &24_576u32.to_le_bytes());
        assert_eq!(&bytes[12..18], b"input1");
        assert!(bytes[18..].iter().all(|&b| b == 0));
        assert_eq!(Header::decode(&bytes), h);
        assert_eq!(Header::bare(Command::Status).encode(), [0u8; 64]);
    }

    #[test]
    fn config_defaults_are_what_ncsdk_sends() {
        // docs/usb_protocol.md §11: [1,0,1,95,85,0,100,10000,0,1].
        let want: Vec<u8> = [1i32, 0, 1, 95, 85, 0, 100, 10000, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(Config::default().encode().to_vec(), want);
        assert_eq!(Config::decode(&want), Some(Config::default()));
        let query: Vec<u8> = [1i32, 1, 0, 0, 0, 0, 0, 0, 0, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(Config::optimisation_query().encode().to_vec(), query);
        assert_eq!(Buffer::from_name("optimizationList"), Some(Buffer::OptimizationList));
        assert_eq!(Status::from_u32(0x22), Status::Waiting);
    }
}
