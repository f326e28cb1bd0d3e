//! The compute side of a booted software stick: the loaded graph, its input buffers, and one
//! inference by the CPU reference in fp16 mode, reported as the firmware's `auxBuffer` is.

use crate::blob;
use crate::device::wire::{aux, Config};
use crate::fp16;
use crate::reference::{Executor, Limits, Precision};

/// A graph loaded from `blobFile`.
pub struct Loaded {
    executor: Executor,
    /// Stages in the blob.
    pub stages: usize,
    output_elements: usize,
    /// The two input buffers (`input1`, `input2`), sized from the blob.
    slots: [Vec<u8>; 2],
}

impl Loaded {
    /// Parses a blob as the firmware would run it; `miscompute` scales one stage's weights; a
    /// graph past `limits` is refused as the CPU reference refuses it.
    pub fn load(bytes: &[u8], miscompute: Option<usize>, limits: &Limits) -> Result<Loaded, String> {
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
        let executor =
            Executor::with_limits(&parsed, Precision::Fp16, limits).map_err(|e| format!("MYRIAD_ERROR: {e}"))?;
        let input_bytes = parsed.network_input().map_or(0, |t| t.dims.product() as usize * 2);
        Ok(Loaded {
            executor,
            stages: parsed.stages.len(),
            output_elements: layout.output_elements as usize,
            slots: [vec![0; input_bytes], vec![0; input_bytes]],
        })
    }

    /// What input slot `slot` holds after the host sent `data` into it. The buffer is sized
    /// from the blob, as the firmware's would be: a shorter input overwrites only its own
    /// bytes (the rest keeps what the slot held before — zeros for a fresh graph), a longer
    /// one has its excess received and dropped. Intel's host sends any length of at least
    /// 2 bytes (`mvnc_api.c` 873), so the stick has to cope with both.
    pub fn receive_input(&mut self, slot: usize, data: &[u8]) -> Vec<u8> {
        let buffer = &mut self.slots[slot.min(1)];
        let n = data.len().min(buffer.len());
        buffer[..n].copy_from_slice(&data[..n]);
        buffer.clone()
    }

    /// One inference: (fp16 output bytes, per-stage ms) or the debug string.
    pub fn run(&mut self, input: &[u8]) -> Result<(Vec<u8>, Vec<f32>), String> {
        let values = fp16::decode(input);
        let result = self.executor.run(&values).map_err(|e| format!("MYRIAD_ERROR: {e}"))?;
        let mut output = fp16::encode(&result.output);
        output.resize(self.output_elements * 2, 0);
        let times = result.stage_times.iter().map(|t| (t.as_secs_f64() * 1e3) as f32).collect();
        Ok((output, times))
    }
}

/// An `auxBuffer` of `len` bytes: debug string, thermals, throttling level, stage times.
/// Thermals are plausible, not measured: warming slowly with use, sensors a little apart.
pub fn aux_buffer(len: usize, error: Option<&str>, stage_ms: &[f32], inferences: u64, config: &Config) -> Vec<u8> {
    let mut bytes = vec![0u8; len.max(aux::len(stage_ms.len()))];
    if let Some(message) = error {
        let text = message.as_bytes();
        let n = text.len().min(aux::DEBUG.len() - 1);
        bytes[..n].copy_from_slice(&text[..n]);
    }
    let base = 38.0 + 20.0 * (1.0 - (-(inferences as f32) / 5000.0).exp());
    for i in 0..aux::THERMAL_COUNT {
        let at = aux::THERMAL.start + 4 * i;
        bytes[at..at + 4].copy_from_slice(&(base + 0.1 * i as f32).to_le_bytes());
    }
    let level: i32 = if base >= config.temp_lim_upper as f32 {
        2
    } else if base >= config.temp_lim_lower as f32 {
        1
    } else {
        0
    };
    bytes[aux::THROTTLING..aux::THROTTLING + 4].copy_from_slice(&level.to_le_bytes());
    for (i, ms) in stage_ms.iter().enumerate() {
        let at = aux::TIMES + 4 * i;
        bytes[at..at + 4].copy_from_slice(&ms.to_le_bytes());
    }
    bytes
}
