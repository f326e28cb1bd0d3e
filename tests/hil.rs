//! Hardware-in-the-loop probes for the semantics the reference had to choose
//! (`ncs::reference::semantics::CHOICES`): tiny graphs whose output on a real stick confirms
//! or refutes each choice.
//!
//! In CI the probes run on the CPU reference and each is checked to be sensitive to its choice
//! (the alternative would give a different answer). The stick tests are `#[ignore]`d, so
//! without hardware they are reported as ignored, never as passed. On a real stick:
//! `NCS_HIL=1 NCS_FIRMWARE=/path/MvNCAPI.mvcmd cargo test --test hil -- --ignored`.

use ncs::blob::{Blob, BufferRef, GraphFile, Location, StageType};
use ncs::device::usb::UsbBus;
use ncs::device::{Bus, Device, Firmware, OpenOptions};
use ncs::graph::{Activation, ConvSpec, GraphBuilder, Padding};
use ncs::reference::{Executor, Precision};

struct Probe {
    /// The `hil_test` name in `semantics::CHOICES`.
    name: &'static str,
    blob: Blob,
    input: Vec<f32>,
    /// What the rejected alternative would output, to prove the probe discriminates.
    alternative: Vec<f32>,
}

fn reference(probe: &Probe) -> Vec<f32> {
    Executor::new(&probe.blob, Precision::Fp16).unwrap().run(&probe.input).unwrap().output
}

/// Average pooling 3×3/1 SAME over ones: TF divides by the cells inside (1.0 everywhere);
/// counting padding would give 4/9 in corners and 6/9 on edges.
fn avg_pool_divisor() -> Probe {
    let mut g = GraphBuilder::new("hil_avg_pool_divisor", [4, 4, 1]);
    let x = g.input();
    let y = g.avg_pool("avg", x, [3, 3], [1, 1], Padding::Same).unwrap();
    let alternative = (0..16)
        .map(|i| {
            let edge = |v: usize| if v == 0 || v == 3 { 2.0 } else { 3.0 };
            edge(i / 4) * edge(i % 4) / 9.0
        })
        .collect();
    Probe { name: "hil_avg_pool_divisor", blob: g.finish(y).unwrap(), input: vec![1.0; 16], alternative }
}

/// A 3×3/2 SAME convolution on 8×8 summing its window: TF pads (0 before, 1 after), so output
/// (0, 0) sums input rows/cols 0..2; a symmetric split would centre it on (0, 0).
fn tf_same_split() -> Probe {
    let mut g = GraphBuilder::new("hil_tf_same_split", [8, 8, 1]);
    let x = g.input();
    let y = g.conv("conv", x, ConvSpec::new([3, 3], &[1.0; 9]).stride([2, 2]).padding(Padding::Same)).unwrap();
    let input: Vec<f32> = (0..64).map(|i| (i % 7) as f32).collect();
    let window_sum = |oy: usize, ox: usize, before: isize| {
        let mut s = 0.0;
        for i in 0..3isize {
            for j in 0..3isize {
                let (r, c) = (oy as isize * 2 + i - before, ox as isize * 2 + j - before);
                if (0..8).contains(&r) && (0..8).contains(&c) {
                    s += input[(r * 8 + c) as usize];
                }
            }
        }
        s
    };
    let alternative = (0..16).map(|i| window_sum(i / 4, i % 4, 1)).collect();
    Probe { name: "hil_tf_same_split", blob: g.finish(y).unwrap(), input, alternative }
}

/// Max pooling 3×3/1 SAME over negative values: if padded zeros took part, the border would be 0.
fn max_pool_padding() -> Probe {
    let mut g = GraphBuilder::new("hil_max_pool_padding", [3, 3, 1]);
    let x = g.input();
    let y = g.max_pool("max", x, [3, 3], [1, 1], Padding::Same).unwrap();
    let input: Vec<f32> = (1..=9).map(|v| -(v as f32)).collect();
    let alternative = vec![0.0; 9];
    Probe { name: "hil_max_pool_padding", blob: g.finish(y).unwrap(), input, alternative }
}

/// A 4096-input dot product of 1.0 · 1.0 plus small terms: f32 accumulation gives ≈ 4096.5;
/// an fp16 accumulator stalls at 2048 (fp16 cannot add 1 to 2048).
fn fp16_accumulation() -> Probe {
    let mut g = GraphBuilder::new("hil_fp16_accumulation", [1, 1, 4096]);
    let x = g.input();
    let y = g.fully_connected("fc", x, &[1.0; 4096], None, Activation::None).unwrap();
    let input = vec![1.0; 4096];
    Probe { name: "hil_fp16_accumulation", blob: g.finish(y).unwrap(), input, alternative: vec![2048.0] }
}

/// Appends an operation-parameter buffer to a blob's data section (64-byte aligned).
fn add_params(blob: &mut Blob, bytes: &[u8]) -> BufferRef {
    let pointer = blob.data.len() as u32;
    blob.data.extend_from_slice(bytes);
    blob.data.resize(blob.data.len().next_multiple_of(64), 0);
    BufferRef { location: Location::Blob, pointer }
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n).map(|i| i as f32 * 0.25).collect()
}

/// HWC values in channel-major order.
fn to_chw(v: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
    (0..c).flat_map(|ch| (0..h * w).map(move |p| v[p * c + ch])).collect()
}

/// toplanemajor on 2×3×2: the reference flattens HWC → CHW; the alternative keeps HWC order.
fn toplanemajor_order() -> Probe {
    let mut g = GraphBuilder::new("hil_toplanemajor_order", [2, 3, 2]);
    let x = g.input();
    let y = g.unary("flatten", StageType::Copy, x).unwrap();
    let mut blob = g.finish(y).unwrap();
    blob.stages[0].op = StageType::ToPlaneMajor;
    let input = ramp(12);
    Probe { name: "hil_toplanemajor_order", blob, alternative: input.clone(), input }
}

/// reshape on 2×3×2: the reference writes the HWC values in order; the alternative (Caffe's
/// CHW view) would reorder them.
fn reshape_order() -> Probe {
    let mut g = GraphBuilder::new("hil_reshape_order", [2, 3, 2]);
    let x = g.input();
    let y = g.unary("reshape", StageType::Copy, x).unwrap();
    let mut blob = g.finish(y).unwrap();
    blob.stages[0].op = StageType::Reshape;
    let input = ramp(12);
    Probe { name: "hil_reshape_order", blob, alternative: to_chw(&input, 2, 3, 2), input }
}

/// crop of 4×5×3 to 2×2×3 at opParams [1, 2, 0]: the reference reads them as
/// [rows, columns, channels]; the alternative as [columns, rows, channels].
fn crop_offsets() -> Probe {
    let mut g = GraphBuilder::new("hil_crop_offsets", [4, 5, 3]);
    let x = g.input();
    let y = g.avg_pool("crop", x, [3, 4], [1, 1], Padding::Valid).unwrap(); // 2×2×3 output
    let mut blob = g.finish(y).unwrap();
    let params: Vec<u8> = [1u32, 2, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    blob.stages[0].op_params = add_params(&mut blob, &params);
    blob.stages[0].op = StageType::Crop;
    let input = ramp(60);
    let at = |r: usize, c: usize, ch: usize| input[(r * 5 + c) * 3 + ch];
    let alternative = (0..12).map(|i| at(i / 6 + 2, (i / 3) % 2 + 1, i % 3)).collect();
    Probe { name: "hil_crop_offsets", blob, input, alternative }
}

/// LRN with an even window n = 4 over 6 channels: the reference sums channels
/// c−1 … c+2; the alternative c−2 … c+1.
fn lrn_even_window() -> Probe {
    let mut g = GraphBuilder::new("hil_lrn_even_window", [1, 1, 6]);
    let x = g.input();
    let y = g.lrn("lrn", x, 1, 1.0, 0.5, 0.75).unwrap();
    let mut blob = g.finish(y).unwrap();
    blob.stages[0].kernel_x = 4;
    let input: Vec<f32> = vec![1.0, 2.0, 3.0, 0.5, 3.0, 1.0];
    // Stored α' = 0.5·3 (from depth_radius 1), so α'/n = 1.5/4 with n = 4.
    let alternative = (0..6)
        .map(|c: usize| {
            let sum: f32 = (c.saturating_sub(2)..=(c + 1).min(5)).map(|d| input[d] * input[d]).sum();
            input[c] / (1.0 + 1.5 / 4.0 * sum).powf(0.75)
        })
        .collect();
    Probe { name: "hil_lrn_even_window", blob, input, alternative }
}

/// TF quirk 2: a sigmoid whose record claims 3 output channels from a 1-channel input. The
/// reference reads the input through its strides with the output's dims (overlapping reads);
/// the alternative would repeat each pixel's value in all three channels.
fn quirk_dims() -> Probe {
    let mut g = GraphBuilder::new("hil_quirk_dims", [4, 4, 1]);
    let x = g.input();
    let a = g.unary("copy", StageType::Copy, x).unwrap();
    let y = g.unary("sigmoid", StageType::Sigmoid, a).unwrap();
    let mut blob = g.finish(y).unwrap();
    let out = &mut blob.stages[1].output;
    out.dims.z = 3;
    out.strides = out.dims.hwc_strides();
    let input = ramp(16);
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    let alternative = (0..48).map(|i| sigmoid(input[i / 3])).collect();
    Probe { name: "hil_quirk_dims", blob, input, alternative }
}

/// max_with_const with three constants for three channels: the reference takes one per
/// channel; the alternative would broadcast the first.
fn const_operands() -> Probe {
    let mut g = GraphBuilder::new("hil_const_operands", [1, 2, 3]);
    let x = g.input();
    let y = g.scale("max", x, &[0.5, 2.0, -1.0], None, Activation::None).unwrap();
    let mut blob = g.finish(y).unwrap();
    blob.stages[0].op = StageType::MaxWithConst;
    let input = vec![0.0, 1.0, 0.0, 3.0, 0.0, -2.0];
    let alternative = input.iter().map(|v: &f32| v.max(0.5)).collect();
    Probe { name: "hil_const_operands", blob, input, alternative }
}

fn probes() -> Vec<Probe> {
    vec![
        avg_pool_divisor(),
        tf_same_split(),
        max_pool_padding(),
        fp16_accumulation(),
        toplanemajor_order(),
        reshape_order(),
        crop_offsets(),
        lrn_even_window(),
        quirk_dims(),
        const_operands(),
    ]
}

#[test]
fn probes_run_on_the_reference_and_discriminate() {
    let listed: Vec<&str> = ncs::reference::semantics::CHOICES.iter().map(|c| c.hil_test).collect();
    let probes = probes();
    for choice in &listed {
        assert!(probes.iter().any(|p| p.name == *choice), "no probe settles {choice}");
    }
    for probe in probes {
        // Probes are written and parsed like any graph sent to a stick.
        let bytes = ncs::blob::write(&probe.blob).unwrap();
        assert_eq!(ncs::blob::parse(&bytes).unwrap(), probe.blob, "{}", probe.name);
        assert!(listed.contains(&probe.name), "{} is not in semantics::CHOICES", probe.name);
        let out = reference(&probe);
        assert_eq!(out.len(), probe.alternative.len(), "{}", probe.name);
        let differs = out.iter().zip(&probe.alternative).any(|(a, b)| (a - b).abs() > 0.02 * b.abs().max(1.0));
        assert!(differs, "{}: the reference agrees with the alternative, so the probe settles nothing", probe.name);
    }
}

/// The first real stick, booted, or a panic saying what is missing.
fn real_stick() -> Device {
    assert_eq!(std::env::var("NCS_HIL").as_deref(), Ok("1"), "set NCS_HIL=1 with a stick attached");
    let bus = UsbBus::new().expect("a USB subsystem");
    let first = bus.sticks().expect("enumerate").into_iter().next().expect("an NCS1 stick on the bus");
    let firmware = Firmware::locate(None).expect("NCS_FIRMWARE pointing at MvNCAPI.mvcmd");
    Device::open(&bus, &first.name(), &firmware, &OpenOptions::default()).expect("boot the stick")
}

fn on_stick(device: &mut Device, blob: &Blob, input: &[f32]) -> Vec<f32> {
    device.allocate_graph(&GraphFile::from_blob(blob.clone()).unwrap()).unwrap();
    device.load_tensor(&ncs::fp16::halves_from_f32(input), 0).unwrap();
    let (out, _) = device.get_result().unwrap();
    device.deallocate_graph();
    ncs::fp16::halves_to_f32(&out)
}

#[test]
#[ignore = "needs a real NCS1 stick: NCS_HIL=1 NCS_FIRMWARE=... cargo test --test hil -- --ignored"]
fn probes_match_a_real_stick() {
    let mut device = real_stick();
    let mut refuted = Vec::new();
    for probe in probes() {
        let stick = on_stick(&mut device, &probe.blob, &probe.input);
        let reference = reference(&probe);
        let scale = reference.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let worst = stick.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        if worst > 0.02 * scale {
            refuted.push(format!("{}: stick {stick:?} vs reference {reference:?}", probe.name));
        }
    }
    assert!(refuted.is_empty(), "the stick contradicts these choices: {refuted:#?}");
}

#[test]
#[ignore = "needs a real NCS1 stick: NCS_HIL=1 NCS_FIRMWARE=... cargo test --test hil -- --ignored"]
fn full_flow_on_a_real_stick_agrees_with_the_reference() {
    let mut device = real_stick();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs/tiny_cnn.graph");
    let graph = GraphFile::read(&path).unwrap();
    let input = ncs::npy::read(&path.with_file_name("tiny_cnn.input.npy")).unwrap().values;
    let want = Executor::new(graph.blob(), Precision::Fp16).unwrap().run(&input).unwrap().output;
    device.allocate_graph(&graph).unwrap();
    let halves = ncs::fp16::halves_from_f32(&input);
    device.load_tensor(&halves, 0).unwrap();
    for i in 0..100u64 {
        device.load_tensor(&halves, i + 1).unwrap();
        let (out, user) = device.get_result().unwrap();
        assert_eq!(user, i);
        for (a, b) in out.iter().zip(&want) {
            assert!((a.to_f32() - b).abs() <= 0.02, "inference {i}: {} vs {b}", a.to_f32());
        }
    }
    device.get_result().unwrap();
    device.close().unwrap();
}
