//! The library's state: contexts, device lists, devices, configuration descriptors and open
//! handles. Every pointer handed to C is a key looked up here — devices, handles and contexts are
//! small integers dressed as pointers, never dereferenced — so a stale, freed or made-up pointer
//! gets an error code, not a crash. The only real memory handed out (device lists,
//! configuration descriptors) is owned here and freed only when its exact address comes back.

use std::collections::HashMap;
use std::os::raw::c_int;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use libusb1_sys::constants::{LIBUSB_ERROR_INVALID_PARAM, LIBUSB_ERROR_NOT_FOUND, LIBUSB_ERROR_OTHER};
use ncs::device::emulator::{Enumeration, Profile, SoftBus, MAX_STICKS};
use ncs::device::trace::Tracer;

use crate::descriptors::{config_tree, ConfigTree};
use crate::handle::Handle;

/// Result of an entry point: a value, or a LIBUSB_ERROR code.
pub type Outcome<T> = Result<T, c_int>;

/// Keys start here and step by 16, so they look like aligned pointers and are never NULL.
const KEY_BASE: usize = 0x5eed_0000;

/// The process-wide library.
pub struct Library {
    /// The software sticks (`NCS_EMULATE`, `NCS_EMULATE_PROFILE`).
    pub bus: SoftBus,
    /// `NCS_TRACE_USB`.
    pub tracer: Option<Tracer>,
    state: Mutex<State>,
}

struct DeviceRecord {
    found: Enumeration,
    refs: usize,
}

#[derive(Default)]
struct State {
    next: usize,
    default_context: usize,
    contexts: Vec<usize>,
    devices: HashMap<usize, DeviceRecord>,
    /// NULL-terminated arrays of device keys, by address.
    lists: HashMap<usize, Box<[usize]>>,
    configs: HashMap<usize, Box<ConfigTree>>,
    handles: HashMap<usize, Arc<Mutex<Handle>>>,
}

impl State {
    fn key(&mut self) -> usize {
        self.next += 1;
        KEY_BASE + 16 * self.next
    }
}

impl Library {
    /// The library, created at first use; a bad environment is reported once on stderr and
    /// makes every call fail with LIBUSB_ERROR_OTHER.
    pub fn get() -> Outcome<&'static Library> {
        static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();
        LIBRARY
            .get_or_init(|| {
                let made = Library::from_env();
                if let Err(e) = &made {
                    eprintln!("libusb (ncs software sticks): {e}");
                }
                made
            })
            .as_ref()
            .map_err(|_| LIBUSB_ERROR_OTHER)
    }

    fn from_env() -> Result<Library, String> {
        let count = match std::env::var("NCS_EMULATE") {
            Ok(n) => n.trim().parse::<usize>().map_err(|_| format!("NCS_EMULATE={n} is not a number"))?,
            Err(_) => 1,
        };
        if count > MAX_STICKS {
            return Err(format!("NCS_EMULATE={count}: at most {MAX_STICKS} software sticks"));
        }
        let profile = Profile::from_env()?;
        let tracer = match std::env::var_os("NCS_TRACE_USB") {
            Some(path) => Some(
                Tracer::to_file(path.as_ref()).map_err(|e| format!("NCS_TRACE_USB={}: {e}", path.to_string_lossy()))?,
            ),
            None => None,
        };
        Ok(Library { bus: SoftBus::with_profile(count, profile), tracer, state: Mutex::new(State::default()) })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `libusb_init`: a new context, or one more user of the default one.
    pub fn init(&self, new_context: bool) -> usize {
        let mut state = self.state();
        if !new_context {
            state.default_context += 1;
            return 0;
        }
        let key = state.key();
        state.contexts.push(key);
        key
    }

    /// `libusb_exit`.
    pub fn exit(&self, context: usize) {
        let mut state = self.state();
        if context == 0 {
            state.default_context = state.default_context.saturating_sub(1);
        } else {
            state.contexts.retain(|&c| c != context);
        }
    }

    /// A context argument: NULL (the default) or one `libusb_init` made and `exit` did not end.
    pub fn check_context(&self, context: usize) -> Outcome<()> {
        if context == 0 || self.state().contexts.contains(&context) {
            Ok(())
        } else {
            Err(LIBUSB_ERROR_INVALID_PARAM)
        }
    }

    /// `libusb_get_device_list`: the sticks on the bus now, each device referenced once. A
    /// stick still in the same enumeration keeps its device key, as libusb keeps its
    /// `libusb_device`.
    pub fn device_list(&self) -> (*const usize, usize) {
        let found = self.bus.enumerate();
        let mut state = self.state();
        let mut keys = Vec::with_capacity(found.len() + 1);
        for now in found {
            let existing = state
                .devices
                .iter()
                .find(|(_, d)| (d.found.index, d.found.generation) == (now.index, now.generation))
                .map(|(&k, _)| k);
            let key = match existing {
                Some(key) => key,
                None => {
                    let key = state.key();
                    state.devices.insert(key, DeviceRecord { found: now, refs: 0 });
                    key
                }
            };
            if let Some(record) = state.devices.get_mut(&key) {
                record.refs += 1;
            }
            keys.push(key);
        }
        let count = keys.len();
        keys.push(0);
        let list: Box<[usize]> = keys.into_boxed_slice();
        let address = list.as_ptr();
        state.lists.insert(address as usize, list);
        (address, count)
    }

    /// `libusb_free_device_list`: only a list this library made, once.
    pub fn free_device_list(&self, address: usize, unref: bool) {
        let mut state = self.state();
        let Some(list) = state.lists.remove(&address) else { return };
        if unref {
            for key in list.iter().take_while(|&&k| k != 0) {
                unref_in(&mut state, *key);
            }
        }
    }

    /// `libusb_ref_device`; false for a device this library does not know.
    pub fn ref_device(&self, key: usize) -> bool {
        self.state().devices.get_mut(&key).map(|d| d.refs += 1).is_some()
    }

    /// `libusb_unref_device`.
    pub fn unref_device(&self, key: usize) {
        unref_in(&mut self.state(), key);
    }

    /// The enumeration a device key stands for.
    pub fn device(&self, key: usize) -> Outcome<Enumeration> {
        self.state().devices.get(&key).map(|d| d.found.clone()).ok_or(LIBUSB_ERROR_INVALID_PARAM)
    }

    /// `libusb_get_config_descriptor`: configuration 0 only.
    pub fn config_descriptor(&self, key: usize, index: u8) -> Outcome<usize> {
        let found = self.device(key)?;
        if index != 0 {
            return Err(LIBUSB_ERROR_NOT_FOUND);
        }
        let tree = config_tree(&found);
        let address = tree.as_ptr() as usize;
        self.state().configs.insert(address, tree);
        Ok(address)
    }

    /// `libusb_free_config_descriptor`: only a descriptor this library made, once.
    pub fn free_config_descriptor(&self, address: usize) {
        self.state().configs.remove(&address);
    }

    /// `libusb_open`: a handle on the device as enumerated; the interface is claimed later.
    /// The handle holds a reference to its device.
    pub fn open(&self, device: usize) -> Outcome<usize> {
        let found = self.device(device)?;
        let current = self.bus.stick(found.index).and_then(|s| s.enumeration());
        if current.map(|c| c.generation) != Some(found.generation) {
            return Err(libusb1_sys::constants::LIBUSB_ERROR_NO_DEVICE);
        }
        let mut state = self.state();
        if let Some(record) = state.devices.get_mut(&device) {
            record.refs += 1;
        }
        let key = state.key();
        state.handles.insert(key, Arc::new(Mutex::new(Handle::new(device, found))));
        Ok(key)
    }

    /// `libusb_close`: releases the interface (booting a ROM that took a whole image) and the
    /// device reference.
    pub fn close(&self, handle: usize) {
        let removed = self.state().handles.remove(&handle);
        if let Some(handle) = removed {
            let device = {
                let mut h = handle.lock().unwrap_or_else(|p| p.into_inner());
                h.release_all();
                h.device
            };
            unref_in(&mut self.state(), device);
        }
    }

    /// An open handle.
    pub fn handle(&self, key: usize) -> Outcome<Arc<Mutex<Handle>>> {
        self.state().handles.get(&key).cloned().ok_or(LIBUSB_ERROR_INVALID_PARAM)
    }
}

fn unref_in(state: &mut State, key: usize) {
    if let Some(record) = state.devices.get_mut(&key) {
        record.refs = record.refs.saturating_sub(1);
        if record.refs == 0 {
            state.devices.remove(&key);
        }
    }
}
