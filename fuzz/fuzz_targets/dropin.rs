//! Fuzzes the drop-in libmvnc's 13 C entry points with random call sequences and arguments over
//! software sticks (`NCS_EMULATE=2`): NULL or valid pointers, live, stale and made-up handles,
//! any option number and length, sample graphs, mutated graphs and raw bytes. Every call must
//! return an NCSDK status; a stale or made-up handle must be `MVNC_INVALID_PARAMETERS`.
//!
//! The C contract is kept where NCSDK puts it on the caller: buffers are as long as the lengths
//! passed, output buffers hold a pointer, and a blocking `mvncGetResult` is only called with an
//! inference in flight (NCSDK, too, waits for one).
#![no_main]

use std::ffi::{c_void, CString};
use std::os::raw::{c_char, c_uint};
use std::ptr::{null, null_mut};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use mvnc::options::*;
use mvnc::*;
use ncs::sdk::Status;

const SAMPLES: [&[u8]; 3] = [
    include_bytes!("../../graphs/tiny_cnn.graph"),
    include_bytes!("../../graphs/op_zoo.graph"),
    include_bytes!("../../graphs/inception_block.graph"),
];

/// Which handle a call gets.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pick {
    Live(u8),
    Stale(u8),
    MadeUp(u32),
    Null,
}

#[derive(Arbitrary, Debug)]
enum Graph {
    Sample(u8),
    Mutated { sample: u8, at: u16, value: u8 },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Call {
    GetDeviceName { index: i8, size: u8, null: bool },
    Open { listed: Option<u8>, raw: Vec<u8>, null_name: bool, null_out: bool },
    Close { device: Pick },
    Allocate { device: Pick, graph: Graph, cut: u16, null_out: bool, null_file: bool },
    Deallocate { graph: Pick },
    Load { graph: Pick, exact: bool, length: u16, null: bool, user: u8 },
    GetResult { graph: Pick, null_output: bool, null_length: bool, null_user: bool },
    SetGraphOption { graph: Pick, option: i16, value: i32, length: u8, null: bool },
    GetGraphOption { graph: Pick, option: i16, null_data: bool, null_length: bool },
    SetDeviceOption { device: Pick, option: i16, value: i32, length: u8, null: bool },
    GetDeviceOption { device: Pick, option: i16, null_data: bool, null_length: bool },
    SetGlobalOption { option: i16, value: i32, length: u8, null: bool },
    GetGlobalOption { option: i16, null_data: bool, null_length: bool },
}

struct GraphState {
    handle: usize,
    device: usize,
    live: bool,
    in_flight: usize,
    dont_block: bool,
    input_bytes: usize,
}

#[derive(Default)]
struct State {
    devices: Vec<(usize, bool)>,
    graphs: Vec<GraphState>,
}

impl State {
    /// The handle for a pick; `expect_invalid` when it cannot name a live object.
    fn device(&self, pick: Pick) -> (usize, bool) {
        pick_handle(pick, self.devices.iter().map(|d| (d.0, d.1)))
    }

    fn graph(&self, pick: Pick) -> (usize, bool) {
        pick_handle(pick, self.graphs.iter().map(|g| (g.handle, g.live)))
    }

    fn graph_mut(&mut self, handle: usize) -> Option<&mut GraphState> {
        self.graphs.iter_mut().find(|g| g.live && g.handle == handle)
    }
}

/// (handle, certainly invalid) for a pick among (handle, live) pairs.
fn pick_handle(pick: Pick, all: impl Iterator<Item = (usize, bool)>) -> (usize, bool) {
    let all: Vec<_> = all.collect();
    let of = |live: bool, i: u8| {
        let matching: Vec<_> = all.iter().filter(|h| h.1 == live).collect();
        (!matching.is_empty()).then(|| matching[usize::from(i) % matching.len()].0)
    };
    match pick {
        Pick::Live(i) => of(true, i).map_or((0xdead_0000, true), |h| (h, false)),
        Pick::Stale(i) => of(false, i).map_or((0xdead_0000, true), |h| (h, true)),
        // Handles the library issues are 0x1000 + 16·n; anything else is made up.
        Pick::MadeUp(v) => {
            let v = v as usize;
            (v, !all.iter().any(|h| h.0 == v && h.1))
        }
        Pick::Null => (0, true),
    }
}

/// The status `code` names; panics on a number the header does not declare, and on
/// OUT_OF_MEMORY, which the drop-in never reports (a failed allocation aborts a Rust program).
fn status(code: i32, what: &str) -> Status {
    match Status::from_code(code) {
        Some(Status::OutOfMemory) | None => panic!("{what}: {code} is not an mvncStatus the drop-in returns"),
        Some(status) => status,
    }
}

fn expect_invalid(code: Status, invalid: bool, what: &str) {
    if invalid {
        assert_eq!(code, Status::InvalidParameters, "{what} with an invalid handle");
    }
}

/// An aligned buffer big enough for any option value (a pointer or an i32).
fn option_buffer() -> [u64; 2] {
    [0; 2]
}

/// The contract every call below keeps, as NCSDK requires of callers: pointers are NULL or point
/// to live buffers at least as long as the length passed with them; handles are any number (the
/// library looks them up, never dereferences them).
fn run(call: Call, state: &mut State) {
    match call {
        Call::GetDeviceName { index, size, null } => {
            let mut name = vec![0u8; usize::from(size)];
            let ptr = if null { null_mut() } else { name.as_mut_ptr().cast::<c_char>() };
            // SAFETY: `ptr` is NULL or `name`, writable for `size` bytes, the size passed.
            status(unsafe { mvncGetDeviceName(index.into(), ptr, c_uint::from(size)) }, "GetDeviceName");
        }
        Call::Open { listed, raw, null_name, null_out } => {
            let name = match listed {
                Some(i) => {
                    let mut buf = [0u8; 28];
                    // SAFETY: `buf` is writable for the 28 bytes passed.
                    let code = unsafe { mvncGetDeviceName(i32::from(i % 3), buf.as_mut_ptr().cast(), 28) };
                    if code != Status::Ok.code() {
                        return;
                    }
                    CString::new(buf.split(|&b| b == 0).next().unwrap()).unwrap()
                }
                None => CString::new(raw.into_iter().filter(|&b| b != 0).collect::<Vec<_>>()).unwrap(),
            };
            let mut handle: *mut c_void = null_mut();
            let name_ptr = if null_name { null() } else { name.as_ptr() };
            let out = if null_out { null_mut() } else { &mut handle as *mut _ };
            // SAFETY: `name_ptr` is NULL or a NUL-terminated string; `out` NULL or one pointer.
            let code = status(unsafe { mvncOpenDevice(name_ptr, out) }, "OpenDevice");
            if null_name || null_out {
                assert_eq!(code, Status::InvalidParameters, "OpenDevice with NULL");
            }
            if code == Status::Ok {
                state.devices.push((handle as usize, true));
            }
        }
        Call::Close { device } => {
            let (handle, invalid) = state.device(device);
            // SAFETY: a handle only, looked up by the library.
            let code = status(unsafe { mvncCloseDevice(handle as *mut c_void) }, "CloseDevice");
            expect_invalid(code, invalid, "CloseDevice");
            if code == Status::Ok {
                state.devices.iter_mut().filter(|d| d.0 == handle).for_each(|d| d.1 = false);
                state.graphs.iter_mut().filter(|g| g.device == handle).for_each(|g| g.live = false);
            }
        }
        Call::Allocate { device, graph, cut, null_out, null_file } => {
            let (handle, invalid) = state.device(device);
            let bytes = match graph {
                Graph::Sample(i) => SAMPLES[usize::from(i) % SAMPLES.len()].to_vec(),
                Graph::Mutated { sample, at, value } => {
                    let mut b = SAMPLES[usize::from(sample) % SAMPLES.len()].to_vec();
                    let i = usize::from(at) % b.len();
                    b[i] = value;
                    b
                }
                Graph::Raw(b) => b,
            };
            let len = bytes.len().saturating_sub(usize::from(cut % 8));
            let mut graph_handle: *mut c_void = null_mut();
            let out = if null_out { null_mut() } else { &mut graph_handle as *mut _ };
            let file = if null_file { null() } else { bytes.as_ptr().cast::<c_void>() };
            // SAFETY: `file` is NULL or `bytes`, readable for `len` ≤ its length; `out` NULL or
            // one writable pointer.
            let code = unsafe { mvncAllocateGraph(handle as *mut c_void, out, file, len as c_uint) };
            let code = status(code, "AllocateGraph");
            if null_out || null_file {
                assert_eq!(code, Status::InvalidParameters, "AllocateGraph with NULL");
            }
            expect_invalid(code, invalid, "AllocateGraph");
            if code == Status::Ok {
                let input = ncs::blob::parse(&bytes[..len]).expect("an allocated graph parses").input_shape();
                state.graphs.push(GraphState {
                    handle: graph_handle as usize,
                    device: handle,
                    live: true,
                    in_flight: 0,
                    dont_block: false,
                    input_bytes: input.iter().map(|&d| d as usize).product::<usize>() * 2,
                });
            }
        }
        Call::Deallocate { graph } => {
            let (handle, invalid) = state.graph(graph);
            // SAFETY: a handle only, looked up by the library.
            let code = status(unsafe { mvncDeallocateGraph(handle as *mut c_void) }, "DeallocateGraph");
            expect_invalid(code, invalid, "DeallocateGraph");
            if code == Status::Ok {
                state.graphs.iter_mut().filter(|g| g.handle == handle).for_each(|g| g.live = false);
            }
        }
        Call::Load { graph, exact, length, null: null_input, user } => {
            let (handle, invalid) = state.graph(graph);
            let (length, blocking_full) = match state.graph_mut(handle) {
                Some(g) => (if exact { g.input_bytes } else { usize::from(length) }, !g.dont_block && g.in_flight >= 2),
                None => (usize::from(length), false),
            };
            if blocking_full {
                return; // would wait for a GetResult that this single thread never makes
            }
            let input = vec![0x3c00u16; length.div_ceil(2)]; // fp16 1.0
            let ptr = if null_input { null() } else { input.as_ptr().cast::<c_void>() };
            let user = usize::from(user) as *mut c_void;
            // SAFETY: `ptr` is NULL or `input`, readable for `length` bytes (rounded up to u16s).
            let code = unsafe { mvncLoadTensor(handle as *mut c_void, ptr, length as c_uint, user) };
            let code = status(code, "LoadTensor");
            expect_invalid(code, invalid, "LoadTensor");
            if code == Status::Ok {
                state.graph_mut(handle).expect("loaded into a live graph").in_flight += 1;
            }
        }
        Call::GetResult { graph, null_output, null_length, null_user } => {
            let (handle, invalid) = state.graph(graph);
            if state.graph_mut(handle).is_some_and(|g| !g.dont_block && g.in_flight == 0) {
                return; // NCSDK's blocking GetResult waits for an inference
            }
            let (mut output, mut length, mut user) = (null_mut::<c_void>(), 0 as c_uint, null_mut::<c_void>());
            let output_ptr = if null_output { null_mut() } else { &mut output as *mut _ };
            let length_ptr = if null_length { null_mut() } else { &mut length as *mut _ };
            let user_ptr = if null_user { null_mut() } else { &mut user as *mut _ };
            // SAFETY: each pointer is NULL or a local writable for one value of its type.
            let code = unsafe { mvncGetResult(handle as *mut c_void, output_ptr, length_ptr, user_ptr) };
            let code = status(code, "GetResult");
            if null_output || null_length || null_user {
                assert_eq!(code, Status::InvalidParameters, "GetResult with NULL");
            }
            expect_invalid(code, invalid, "GetResult");
            if code == Status::Ok {
                assert!(!output.is_null() && length > 0, "GetResult OK without an output");
            }
            if !null_output && !null_length && !null_user && code != Status::InvalidParameters {
                if let Some(g) = state.graph_mut(handle) {
                    g.in_flight = g.in_flight.saturating_sub(usize::from(code != Status::NoData));
                }
            }
        }
        Call::SetGraphOption { graph, option, value, length, null: null_data } => {
            let (handle, invalid) = state.graph(graph);
            let data = if null_data { null() } else { (&value as *const i32).cast::<c_void>() };
            // Never longer than `value`.
            let length = c_uint::from(length % 9).min(4);
            // SAFETY: `data` is NULL or `value`, readable for `length` ≤ 4 bytes.
            let code = unsafe { mvncSetGraphOption(handle as *mut c_void, option.into(), data, length) };
            let code = status(code, "SetGraphOption");
            expect_invalid(code, invalid, "SetGraphOption");
            if code == Status::Ok && option == 2 {
                if let Some(g) = state.graph_mut(handle) {
                    g.dont_block = value != 0;
                }
            }
        }
        Call::GetGraphOption { graph, option, null_data, null_length } => {
            let (handle, invalid) = state.graph(graph);
            let mut data = option_buffer();
            let mut length: c_uint = 0;
            let data_ptr = if null_data { null_mut() } else { data.as_mut_ptr().cast() };
            let length_ptr = if null_length { null_mut() } else { &mut length as *mut _ };
            // SAFETY: `data_ptr` is NULL or 16 aligned bytes (any option's value or a pointer);
            // `length_ptr` NULL or one writable c_uint.
            let code = unsafe { mvncGetGraphOption(handle as *mut c_void, option.into(), data_ptr, length_ptr) };
            let code = status(code, "GetGraphOption");
            expect_invalid(code, invalid && !null_data && !null_length, "GetGraphOption");
        }
        Call::SetDeviceOption { device, option, value, length, null: null_data } => {
            let (handle, invalid) = state.device(device);
            let data = if null_data { null() } else { (&value as *const i32).cast::<c_void>() };
            let length = c_uint::from(length % 9).min(4);
            // SAFETY: `data` is NULL or `value`, readable for `length` ≤ 4 bytes.
            let code = unsafe { mvncSetDeviceOption(handle as *mut c_void, option.into(), data, length) };
            let code = status(code, "SetDeviceOption");
            // A NULL device with option 0 is the global log level (as in NCSDK).
            expect_invalid(code, invalid && !(handle == 0 && option == 0), "SetDeviceOption");
        }
        Call::GetDeviceOption { device, option, null_data, null_length } => {
            let (handle, invalid) = state.device(device);
            let mut data = option_buffer();
            let mut length: c_uint = 0;
            let data_ptr = if null_data { null_mut() } else { data.as_mut_ptr().cast() };
            let length_ptr = if null_length { null_mut() } else { &mut length as *mut _ };
            // SAFETY: `data_ptr` is NULL or 16 aligned bytes; `length_ptr` NULL or one c_uint.
            let code = unsafe { mvncGetDeviceOption(handle as *mut c_void, option.into(), data_ptr, length_ptr) };
            let code = status(code, "GetDeviceOption");
            let global = handle == 0 && option == 0;
            expect_invalid(code, invalid && !null_data && !null_length && !global, "GetDeviceOption");
        }
        Call::SetGlobalOption { option, value, length, null: null_data } => {
            let data = if null_data { null() } else { (&value as *const i32).cast::<c_void>() };
            let length = c_uint::from(length % 9).min(4);
            // SAFETY: `data` is NULL or `value`, readable for `length` ≤ 4 bytes.
            status(unsafe { mvncSetGlobalOption(option.into(), data, length) }, "SetGlobalOption");
            // Keep the library quiet: a log level above 0 prints every refused call.
            let zero = 0i32;
            // SAFETY: `zero` is readable for the 4 bytes passed.
            unsafe { mvncSetGlobalOption(0, (&zero as *const i32).cast(), 4) };
        }
        Call::GetGlobalOption { option, null_data, null_length } => {
            let mut data = option_buffer();
            let mut length: c_uint = 0;
            let data_ptr = if null_data { null_mut() } else { data.as_mut_ptr().cast() };
            let length_ptr = if null_length { null_mut() } else { &mut length as *mut _ };
            // SAFETY: `data_ptr` is NULL or 16 aligned bytes; `length_ptr` NULL or one c_uint.
            status(unsafe { mvncGetGlobalOption(option.into(), data_ptr, length_ptr) }, "GetGlobalOption");
        }
    }
}

fuzz_target!(
    init: {
        // Software sticks, set before the library's first call reads it: forgiving ones, as
        // this target tests the C surface, not the strict stick's timing (boots take 1 s on usb2).
        std::env::set_var("NCS_EMULATE", "2");
        std::env::set_var("NCS_EMULATE_PROFILE", "ideal");
    },
    |calls: Vec<Call>| {
        let mut state = State::default();
        for call in calls.into_iter().take(64) {
            run(call, &mut state);
        }
        // Leave nothing open for the next input.
        for (handle, live) in state.devices {
            if live {
                // SAFETY: a handle the library issued; closing takes no pointers.
                let code = unsafe { mvncCloseDevice(handle as *mut c_void) };
                assert_eq!(code, Status::Ok.code(), "closing a live device");
            }
        }
    }
);
