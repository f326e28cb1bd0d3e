//! What the stick reports beside each result: its auxBuffer (debug string, temperatures,
//! throttling level, per-stage times), decoded.

use super::wire::aux;

/// What the stick reported with the last result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Telemetry {
    /// Per-stage times, ms.
    pub stage_ms: Vec<f32>,
    /// 25 temperatures, °C.
    pub thermal: Vec<f32>,
    /// 0 none, 1 short back-off, 2 long back-off.
    pub throttling: i32,
    /// The debug string (empty when all is well).
    pub debug: String,
}

/// Decodes an auxBuffer.
pub fn parse_aux(bytes: &[u8], stages: usize) -> Telemetry {
    let f32_at = |at: usize| f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let debug = &bytes[aux::DEBUG];
    let end = debug.iter().position(|&b| b == 0).unwrap_or(debug.len());
    Telemetry {
        debug: String::from_utf8_lossy(&debug[..end]).into_owned(),
        thermal: (0..aux::THERMAL_COUNT).map(|i| f32_at(aux::THERMAL.start + 4 * i)).collect(),
        throttling: i32::from_le_bytes(bytes[aux::THROTTLING..aux::THROTTLING + 4].try_into().expect("4 bytes")),
        stage_ms: (0..stages).map(|i| f32_at(aux::TIMES + 4 * i)).collect(),
    }
}
