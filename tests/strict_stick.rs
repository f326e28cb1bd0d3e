//! The strict software stick (profiles `usb2`, `usb3`) behaves as the real-stick behaviours
//! Intel's host code is written to survive, and the driver's boot and link layers survive them.
//!
//! Re-enumeration absences and reset lingers are shortened here (tens of ms instead of the
//! profiles' 1 s and 500 ms) to keep the suite fast; every behaviour under test only needs them
//! non-zero. Each driver test here failed on the driver before these fixes (noted per test).

mod common;

use std::time::{Duration, Instant};

use half::f16;
use ncs::blob::GraphFile;
use ncs::device::boot::{self, Firmware};
use ncs::device::emulator::{Enumeration, Profile, SoftBus, NOT_NOW, SOFT_FIRMWARE};
use ncs::device::wire::{Buffer, Command, Header, Status, PERMIT};
use ncs::device::{Device, OpenOptions, Place, StickState, Transport, UsbError, UsbId};
use ncs::graph::samples::Weights;
use ncs::graph::{Activation, GraphBuilder};

const ABSENCE: Duration = Duration::from_millis(60);
const LINGER: Duration = Duration::from_millis(60);
const WAIT: Duration = Duration::from_secs(3);
const IO: Duration = Duration::from_millis(200);

/// A strict profile with short (non-zero) delays and results ready at once.
fn quick(base: Profile) -> Profile {
    Profile { boot_absence: ABSENCE, reset_linger: LINGER, stage_time: Duration::ZERO, ..base }
}

fn firmware() -> Firmware {
    Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software firmware").unwrap()
}

fn options() -> OpenOptions {
    OpenOptions { link_timeout: Duration::from_secs(2), boot_wait: WAIT, ..OpenOptions::default() }
}

/// Boots stick 0 through raw transfers; returns its booted enumeration once it shows.
fn boot_raw(bus: &SoftBus) -> Enumeration {
    let rom = bus.enumerate().into_iter().find(|e| e.index == 0).unwrap();
    let mut t = bus.open_enumeration(&rom).unwrap();
    assert_eq!(t.write(SOFT_FIRMWARE, IO), Ok(SOFT_FIRMWARE.len()));
    drop(t);
    await_booted(bus)
}

fn await_booted(bus: &SoftBus) -> Enumeration {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(e) = bus.stick(0).unwrap().enumeration() {
            if e.id.state() == Some(StickState::Booted) {
                return e;
            }
        }
        assert!(Instant::now() < deadline, "the stick never came back booted");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn send_header(t: &mut dyn Transport, cmd: Command, buffer: Option<Buffer>, hostready: bool, len: usize) {
    let header = match buffer {
        Some(b) => Header::data(cmd, b, hostready, len),
        None => Header::bare(cmd),
    };
    assert_eq!(t.write(&header.encode(), IO), Ok(64));
}

fn word(t: &mut dyn Transport) -> Result<u32, UsbError> {
    let mut w = [0u8; 4];
    let n = t.read(&mut w, IO)?;
    assert_eq!(n, 4, "a 4-byte reply");
    Ok(u32::from_le_bytes(w))
}

fn set(t: &mut dyn Transport, buffer: Buffer, hostready: bool, data: &[u8]) {
    send_header(t, Command::SetData, Some(buffer), hostready, data.len());
    assert_eq!(word(t), Ok(PERMIT), "SET {}", buffer.name());
    assert_eq!(t.write(data, IO), Ok(data.len()));
}

/// A one-stage graph whose output is `outputs` fp16 values.
fn fc_graph(outputs: usize) -> GraphFile {
    let mut g = GraphBuilder::new("fc", [1, 1, 16]);
    let x = g.input();
    let y = g.fully_connected("fc", x, &Weights::new(5).uniform(16 * outputs, 0.5), None, Activation::None).unwrap();
    GraphFile::from_blob(g.finish(y).unwrap()).unwrap()
}

fn tiny_cnn() -> GraphFile {
    GraphFile::read(&common::own_graphs().join("tiny_cnn.graph")).unwrap()
}

#[test]
fn usb3_firmware_leaves_the_bus_and_returns_on_the_usb3_hub_with_1024_byte_packets() {
    let bus = SoftBus::with_profile(1, quick(Profile::usb3()));
    let rom = bus.enumerate()[0].clone();
    assert_eq!((rom.id.name(), rom.id.product, rom.packet), ("1-1".to_owned(), 0x2150, 512));
    let mut t = bus.open_enumeration(&rom).unwrap();
    t.write(SOFT_FIRMWARE, IO).unwrap();
    drop(t);
    let booted_at = Instant::now();
    assert!(bus.enumerate().is_empty(), "off the bus while the firmware starts");
    let booted = await_booted(&bus);
    assert!(booted_at.elapsed() >= ABSENCE);
    assert_eq!((booted.id.name(), booted.id.product, booted.packet), ("2-17".to_owned(), 0xf63b, 1024));
    assert_ne!(booted.address, rom.address, "a new enumeration gets a new address");
    assert_eq!(bus.open_enumeration(&rom).err(), Some(UsbError::NoDevice), "the ROM's enumeration is gone");
}

#[test]
fn opening_checks_the_current_enumeration_and_one_handle_owns_a_stick() {
    let bus = SoftBus::with_profile(1, quick(Profile::usb2()));
    let rom = UsbId { bus: 1, ports: vec![1], vendor: 0x03e7, product: 0x2150 };
    let stale = UsbId { product: 0xf63b, ..rom.clone() };
    assert_eq!(ncs::device::Bus::open(&bus, &stale).err(), Some(UsbError::NotFound), "it is a ROM now");
    let first = ncs::device::Bus::open(&bus, &rom).unwrap();
    assert_eq!(ncs::device::Bus::open(&bus, &rom).err(), Some(UsbError::Busy));
    drop(first);
    let mut held = ncs::device::Bus::open(&bus, &rom).unwrap();
    // The owning process dies: the kernel closes its handles, the stick is free.
    bus.stick(0).unwrap().close_handles();
    assert_eq!(held.write(b"MA2x", IO), Err(UsbError::NoDevice));
    assert!(ncs::device::Bus::open(&bus, &rom).is_ok());
}

#[test]
fn a_reset_stick_lingers_as_booted_before_its_rom_returns() {
    let bus = SoftBus::with_profile(1, quick(Profile::usb2()));
    let booted = boot_raw(&bus);
    let mut t = bus.open_enumeration(&booted).unwrap();
    send_header(t.as_mut(), Command::Reset, None, false, 0);
    let reset_at = Instant::now();
    drop(t);
    let lingering = bus.enumerate();
    assert_eq!(lingering[0].id.product, 0xf63b, "the old identity is still listed right after the reset");
    let mut again = bus.open_enumeration(&lingering[0]).unwrap();
    send_header_err(again.as_mut(), UsbError::NoDevice);
    drop(again);
    while bus.stick(0).unwrap().state() != Some(StickState::Rom) {
        assert!(reset_at.elapsed() < WAIT);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(reset_at.elapsed() >= LINGER);
}

fn send_header_err(t: &mut dyn Transport, want: UsbError) {
    assert_eq!(t.write(&Header::bare(Command::Status).encode(), IO), Err(want));
}

#[test]
fn exact_packet_multiples_end_with_a_zero_length_packet_and_results_wait_for_the_modelled_time() {
    let latency = Duration::from_millis(80);
    let bus = SoftBus::with_profile(1, Profile { latency: Some(latency), ..quick(Profile::usb2()) });
    let booted = boot_raw(&bus);
    let mut t = bus.open_enumeration(&booted).unwrap();
    let t = t.as_mut();
    send_header(t, Command::Status, None, false, 0);
    assert_eq!(word(t), Ok(Status::Waiting.to_u32()));
    let graph = fc_graph(512);
    set(t, Buffer::BlobFile, false, &graph.to_bytes());
    set(t, Buffer::AuxBuffer, false, &[0; 228]);
    set(t, Buffer::Input1, true, &[0; 32]);
    let started = Instant::now();
    // Still computing: the output permit is refused.
    send_header(t, Command::GetData, Some(Buffer::Output), false, 1024);
    assert_eq!(word(t), Ok(NOT_NOW));
    // Config while an inference is in flight is refused too.
    send_header(t, Command::SetData, Some(Buffer::Config), false, 40);
    assert_eq!(word(t), Ok(NOT_NOW));
    std::thread::sleep(latency.saturating_sub(started.elapsed()) + Duration::from_millis(5));
    send_header(t, Command::GetData, Some(Buffer::Output), false, 1024);
    assert_eq!(word(t), Ok(PERMIT));
    let mut output = vec![0u8; 1024];
    assert_eq!(t.read(&mut output, IO), Ok(1024));
    // 1024 bytes = two full packets: the next read gets the zero-length packet first.
    send_header(t, Command::GetData, Some(Buffer::AuxBuffer), false, 228);
    let mut w = [0u8; 4];
    assert_eq!(t.read(&mut w, IO), Ok(0), "the zero-length packet");
    assert_eq!(word(t), Ok(PERMIT));
}

#[test]
fn the_driver_finds_usb3_firmware_on_another_bus_by_port_path_or_as_the_only_unopened_stick() {
    // Failed before: the driver waited 15 s for f63b at the ROM's bus and ports.
    let graph = tiny_cnn();
    for (ports, booted_name) in [("same", "2-1"), ("shift:16", "2-17")] {
        let profile = Profile::parse(&format!("usb3,absence=60ms,linger=60ms,stage=0ms,ports={ports}")).unwrap();
        let bus = SoftBus::with_profile(1, profile);
        let mut device = Device::open(&bus, "1-1", &firmware(), &options()).unwrap();
        assert_eq!(bus.stick(0).unwrap().enumeration().unwrap().id.name(), booted_name);
        device.allocate_graph(&graph).unwrap();
        device.load_tensor(&vec![f16::from_f32(0.5); 768], 9).unwrap();
        assert_eq!(device.get_result().unwrap().1, 9, "ports={ports}");
    }
}

#[test]
fn the_link_reads_past_zero_length_packets() {
    // Failed before: the read after a 1024-byte output got 0 bytes, reported as a short transfer.
    let graph = fc_graph(512);
    let bus = SoftBus::with_profile(1, quick(Profile::usb2()));
    let mut device = Device::open(&bus, "1-1", &firmware(), &options()).unwrap();
    device.allocate_graph(&graph).unwrap();
    let input: Vec<f16> = (0..16).map(|i| f16::from_f32(i as f32 / 16.0)).collect();
    for i in 0..3 {
        device.load_tensor(&input, i).unwrap();
        let (output, user) = device.get_result().unwrap();
        assert_eq!((output.len(), user), (512, i));
    }
}

#[test]
fn a_stick_left_booted_on_a_usb2_port_is_reset_and_booted_again() {
    // Failed before: after the reset the driver opened the ROM with the booted stick's ids,
    // which a strict stick (like libusb) refuses: "not found".
    let bus = SoftBus::with_profile(1, quick(Profile::usb2()));
    let rom = bus.enumerate()[0].id.clone();
    boot::send_firmware(&bus, &rom, &firmware(), None).unwrap();
    let (at, link) = boot::wait_for_booted(&bus, &rom, None, WAIT, None, IO).unwrap();
    drop(link); // `ncs boot` leaves it like this
    assert_eq!(at.name(), "1-1");
    let mut device = Device::open(&bus, "1-1", &firmware(), &options()).unwrap();
    device.allocate_graph(&tiny_cnn()).unwrap();
    device.load_tensor(&vec![f16::ZERO; 768], 1).unwrap();
    assert_eq!(device.get_result().unwrap().1, 1);
}

#[test]
fn a_named_booted_place_is_the_only_one_taken() {
    let bus = SoftBus::with_profile(1, quick(Profile::usb3()));
    let rom = bus.enumerate()[0].id.clone();
    boot::send_firmware(&bus, &rom, &firmware(), None).unwrap();
    let wrong = Place::parse("2-1").unwrap();
    let err = boot::wait_for_booted(&bus, &rom, Some(&wrong), Duration::from_millis(300), None, IO).unwrap_err();
    assert!(err.to_string().contains("waited") && err.to_string().starts_with("1-1:"), "{err}");
    let right = Place::parse("2-17").unwrap();
    let (at, _link) = boot::wait_for_booted(&bus, &rom, Some(&right), WAIT, None, IO).unwrap();
    assert_eq!(at.name(), "2-17");
}

#[test]
fn booting_a_stick_that_is_not_in_its_rom_fails_at_once_naming_what_is_there() {
    let bus = SoftBus::with_profile(1, quick(Profile::usb2()));
    boot_raw(&bus);
    let rom = UsbId { bus: 1, ports: vec![1], vendor: 0x03e7, product: 0x2150 };
    let started = Instant::now();
    let err = boot::send_firmware(&bus, &rom, &firmware(), None).unwrap_err().to_string();
    assert!(err.contains("no stick waiting for firmware there (it shows as 03e7:f63b)"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}
